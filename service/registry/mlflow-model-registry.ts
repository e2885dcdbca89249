/**
 * MLflow's model registry behind the common {@link ModelRegistry} contract. A version's files are
 * the folder its `source` names, in one of two layouts:
 *
 *   - plinth's: model.onnx and the training job's JSON files (and model-config.json when the
 *     version has one);
 *   - an MLflow ONNX-flavor model (`mlflow.onnx.log_model`): an `MLmodel` whose `onnx` flavor names
 *     the ONNX file. That file is cached as model.onnx and MLmodel beside it (the loader reads the
 *     model configuration from it: registry/mlflow-model-file.ts). A model of another flavor is
 *     refused, and so is one whose tensors sit in external files (`save_as_external_data`).
 *
 * `fetch` downloads the files through the artifact proxy into the local cache and refuses a model
 * whose sha256 differs from the version's {@link SHA256_TAG} tag. A version without the tag is
 * refused too, unless the registry is told to accept untagged versions (MODEL_ALLOW_UNTAGGED): it
 * then serves them unverified, with the sha256 computed on download and a warning naming the version.
 */
import { MODEL_CONFIG_FILE, ModelConfigError } from "../model/model-config.js";
import { MlflowError } from "../mlflow/http.js";
import type { MlflowClient } from "../mlflow/client.js";
import { tagsOf, type ModelVersion } from "../mlflow/client.js";
import { MODEL_FILE } from "./local.js";
import { MLMODEL_FILE, onnxModelFileOf } from "./mlflow-model-file.js";
import { checksumMismatch, ModelCache, sha256Bytes } from "./model-cache.js";
import { externalDataFiles } from "./onnx-external-data.js";
import {
  aliasNotFound,
  isVersionRef,
  RegistryError,
  SHA256_TAG,
  type FetchedModel,
  type ModelRegistry,
  type VersionInfo,
} from "./registry.js";

/** Files a version may carry beside model.onnx; fetched when present. */
export const COMPANION_FILES = [
  "baseline.json",
  "training_summary.json",
  "data_quality_report.json",
  MODEL_CONFIG_FILE,
] as const;

/** The setting that makes the service accept versions without the {@link SHA256_TAG} tag. */
export const ALLOW_UNTAGGED_SETTING = "MODEL_ALLOW_UNTAGGED";

const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface MlflowRegistryOptions {
  /**
   * Serve versions without the {@link SHA256_TAG} tag, unverified (MODEL_ALLOW_UNTAGGED). A tag
   * that is present is always checked. Default false: such versions are refused.
   */
  readonly allowUntagged?: boolean;
  /** Where the warning about an unverified version goes. */
  readonly log?: { warn(obj: object, msg: string): void };
}

/** The refusal of a version without the tag, naming both ways out. */
export function untaggedRefusal(what: string, name: string, version: string): RegistryError {
  const file = `os.path.join(mlflow.artifacts.download_artifacts("models:/${name}/${version}"), "${MODEL_FILE}")`;
  return new RegistryError(
    "CHECKSUM_MISMATCH",
    `${what} has no ${SHA256_TAG} tag (the sha256 hex of its ${MODEL_FILE}, or of the ONNX file its MLmodel names); ` +
      `refusing an unverifiable model. Either tag the version with its file's sha256, e.g. with MLflow's Python client: ` +
      `MlflowClient().set_model_version_tag("${name}", "${version}", "${SHA256_TAG}", ` +
      `hashlib.sha256(open(${file}, "rb").read()).hexdigest()); ` +
      `or set ${ALLOW_UNTAGGED_SETTING}=true to serve versions without the tag unverified (the sha256 is then computed on download and logged)`,
  );
}

export class MlflowModelRegistry implements ModelRegistry {
  private readonly allowUntagged: boolean;
  /** sha256 of each untagged version's model as this process downloaded it (name NUL version). */
  private readonly untaggedDigests = new Map<string, string>();

  constructor(
    readonly client: MlflowClient,
    readonly cache: ModelCache = new ModelCache(),
    private readonly options: MlflowRegistryOptions = {},
  ) {
    this.allowUntagged = options.allowUntagged ?? false;
  }

  get location(): string {
    return `MLflow ${this.client.trackingUri}`;
  }

  async listVersions(name: string): Promise<VersionInfo[]> {
    const aliases = await this.getAliases(name);
    const versions = await this.client.searchModelVersions(name);
    return versions.reverse().map((mv) => ({
      version: mv.version,
      aliases: Object.keys(aliases)
        .filter((a) => aliases[a] === mv.version)
        .sort(),
      tags: tagsOf(mv),
      status: mv.status,
    }));
  }

  async getAliases(name: string): Promise<Record<string, string>> {
    const model = await this.client.getRegisteredModel(name);
    if (model === undefined) throw this.modelNotFound(name);
    return Object.fromEntries(model.aliases.map((a) => [a.alias, a.version]));
  }

  async resolveVersion(name: string, ref: string): Promise<string> {
    if (isVersionRef(ref)) return (await this.version(name, ref)).version;
    const target = (await this.getAliases(name))[ref];
    if (target === undefined) throw aliasNotFound(name, ref, this.location);
    return target;
  }

  async fetch(name: string, version: string): Promise<FetchedModel> {
    const mv = await this.version(name, version);
    const what = `${name} version ${version} in ${this.location}`;
    if (mv.status !== "READY") {
      throw new RegistryError("VERSION_NOT_READY", `${what} is ${mv.status}, not READY`);
    }
    const tag = tagsOf(mv)[SHA256_TAG];
    if (tag !== undefined && !SHA256_HEX.test(tag)) {
      throw new RegistryError(
        "CHECKSUM_MISMATCH",
        `${what} has a malformed ${SHA256_TAG} tag ${JSON.stringify(tag)} (expected the sha256 hex of its ${MODEL_FILE}); refusing an unverifiable model`,
      );
    }
    if (tag === undefined && !this.allowUntagged) throw untaggedRefusal(what, name, version);
    const dir = this.cache.versionDir(this.client.trackingUri, name, version);
    if (tag !== undefined) {
      const cached =
        (await this.cache.lookup(dir, tag)) ??
        (await this.cache.store(dir, tag, await this.download(mv, what, tag), what));
      return { name, version, dir: cached.dir, modelPath: cached.modelPath, sha256: tag };
    }
    // Untagged: nothing but this process vouches for a cached copy: the sha256 it computed when it
    // downloaded the version, so a poll or reload re-downloads nothing and warns once.
    const key = `${name}\u0000${version}`;
    const known = this.untaggedDigests.get(key);
    const reused = known === undefined ? undefined : await this.cache.lookup(dir, known);
    if (reused !== undefined)
      return { name, version, dir: reused.dir, modelPath: reused.modelPath, sha256: known! };
    const files = await this.download(mv, what);
    const sha256 = sha256Bytes(files[MODEL_FILE]!);
    this.options.log?.warn(
      { model: name, version, registry: this.location, sha256, setting: ALLOW_UNTAGGED_SETTING },
      `${what} has no ${SHA256_TAG} tag: serving it unverified (${ALLOW_UNTAGGED_SETTING}=true); sha256 of its model computed on download: ${sha256}`,
    );
    const stored = await this.cache.store(dir, sha256, files, what);
    this.untaggedDigests.set(key, sha256);
    return { name, version, dir: stored.dir, modelPath: stored.modelPath, sha256 };
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.version(name, version);
    await this.client.setAlias(name, alias, version);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    // MLflow deletes a missing alias without complaint; the local registry refuses it, and so do we.
    if (!(alias in (await this.getAliases(name)))) throw aliasNotFound(name, alias, this.location);
    await this.client.deleteAlias(name, alias);
  }

  private async version(name: string, version: string): Promise<ModelVersion> {
    try {
      return await this.client.getModelVersion(name, version);
    } catch (err) {
      if (!(err instanceof MlflowError && err.notFound)) throw err;
      if ((await this.client.getRegisteredModel(name)) === undefined) throw this.modelNotFound(name);
      throw new RegistryError(
        "VERSION_NOT_FOUND",
        `model ${JSON.stringify(name)} has no version ${version} in ${this.location}`,
      );
    }
  }

  /**
   * The version's files by their cache names: model.onnx (the file an MLmodel's onnx flavor names,
   * else model.onnx itself), MLmodel when there is one, and the companions present. The model is
   * checked against `sha256` (when the version has a tag) before anything reads it.
   */
  private async download(
    mv: ModelVersion,
    what: string,
    sha256?: string,
  ): Promise<Record<string, Uint8Array>> {
    const uri = await this.client.getModelVersionDownloadUri(mv.name, mv.version);
    const files: Record<string, Uint8Array> = {};
    const mlmodel = await this.optionalArtifact(uri, MLMODEL_FILE);
    let modelFile: string = MODEL_FILE;
    if (mlmodel !== undefined) {
      try {
        modelFile = onnxModelFileOf(new TextDecoder().decode(mlmodel), `${what}: ${MLMODEL_FILE}`);
      } catch (err) {
        if (!(err instanceof ModelConfigError)) throw err;
        throw new RegistryError("UNSUPPORTED_MODEL", err.message);
      }
      files[MLMODEL_FILE] = mlmodel;
    }
    const model = await this.client.downloadArtifact(uri, modelFile);
    if (sha256 !== undefined) {
      const actual = sha256Bytes(model);
      if (actual !== sha256) throw checksumMismatch(what, sha256, actual);
    }
    let external: string[];
    try {
      external = externalDataFiles(model);
    } catch (err) {
      throw new RegistryError(
        "UNSUPPORTED_MODEL",
        `${what}: ${modelFile} is not an ONNX model: ${(err as Error).message}`,
      );
    }
    if (external.length > 0) {
      throw new RegistryError(
        "UNSUPPORTED_MODEL",
        `${what}: ${modelFile} keeps tensors in external files (${external.join(", ")}); plinth serves one ` +
          `self-contained ONNX file: log it with mlflow.onnx.log_model(..., save_as_external_data=False) ` +
          `or save it with onnx.save_model(model, path, save_as_external_data=False)`,
      );
    }
    files[MODEL_FILE] = model;
    for (const file of COMPANION_FILES) {
      const bytes = await this.optionalArtifact(uri, file);
      if (bytes !== undefined) files[file] = bytes;
    }
    return files;
  }

  /** An artifact's bytes, or undefined when the version's folder has no such file. */
  private async optionalArtifact(uri: string, file: string): Promise<Uint8Array | undefined> {
    try {
      return await this.client.downloadArtifact(uri, file);
    } catch (err) {
      if (err instanceof MlflowError && err.notFound) return undefined;
      throw err;
    }
  }

  private modelNotFound(name: string): RegistryError {
    return new RegistryError(
      "MODEL_NOT_FOUND",
      `model ${JSON.stringify(name)} not found in ${this.location}`,
    );
  }
}
