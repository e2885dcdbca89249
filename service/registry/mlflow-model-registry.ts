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
 * whose sha256 differs from the version's {@link SHA256_TAG} tag, or whose configuration file
 * (model-config.json, else MLmodel: what decides its labels and preprocessing) differs from its
 * {@link CONFIG_SHA256_TAG} tag, or is missing while the tag names one (integrity.ts). A tag that
 * is present is always checked. A version without the model tag is refused too, and so is a
 * tagged version whose configuration file no tag covers (tagged by hand with the model's digest
 * only), unless the registry is told to accept untagged versions (MODEL_ALLOW_UNTAGGED): it then
 * serves what no tag covers unverified, with the sha256 computed on download and a warning naming
 * the version. The exception is a plinth model (model.onnx carrying plinth.metadata) its model tag
 * verifies: the loader checks its configuration file against that metadata (integrity.ts,
 * {@link checkedAgainstMetadata}), so the versions plinth's trainer registered before it tagged
 * configurations serve as they did, without a warning.
 *
 * The registry's address ({@link location}, the cache folder's name) never carries the tracking
 * URI's credentials or query string ({@link registryAddress}).
 */
import { MODEL_CONFIG_FILE, ModelConfigError } from "../model/model-config.js";
import { MlflowError } from "../mlflow/http.js";
import type { MlflowClient } from "../mlflow/client.js";
import { tagsOf, type ModelVersion } from "../mlflow/client.js";
import { MODEL_FILE } from "./local.js";
import { MLMODEL_FILE, onnxModelFileOf } from "./mlflow-model-file.js";
import {
  checkedAgainstMetadata,
  CONFIG_FILES,
  configFileOf,
  configMismatch,
  digestsOf,
  modelMismatch,
  sha256Bytes,
  type VersionDigests,
} from "./integrity.js";
import { ModelCache } from "./model-cache.js";
import { externalDataFiles } from "./onnx-external-data.js";
import {
  aliasNotFound,
  CONFIG_SHA256_TAG,
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

/**
 * The tracking URI as it may be shown: without the userinfo (`user:token@`) and without the query
 * string and fragment, which may hold credentials too. Unchanged when it has none of them.
 */
export function registryAddress(trackingUri: string): string {
  return trackingUri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1").replace(/[?#].*$/s, "");
}

export interface MlflowRegistryOptions {
  /**
   * Serve versions without the {@link SHA256_TAG} tag, and the configuration file of versions
   * without the {@link CONFIG_SHA256_TAG} tag, unverified (MODEL_ALLOW_UNTAGGED). A tag that is
   * present is always checked. Default false: such versions are refused, but for the
   * configuration of a plinth model its tag verifies, which the loader checks against the model's
   * metadata.
   */
  readonly allowUntagged?: boolean;
  /** Where the warning about an unverified version goes. */
  readonly log?: { warn(obj: object, msg: string): void };
}

/** The Python statement that tags `name` `version` with the sha256 of its `file` as MLflow serves it. */
function tagStatement(name: string, version: string, tag: string, file: string): string {
  const path = `os.path.join(mlflow.artifacts.download_artifacts("models:/${name}/${version}"), "${file}")`;
  return (
    `MlflowClient().set_model_version_tag("${name}", "${version}", "${tag}", ` +
    `hashlib.sha256(open(${path}, "rb").read()).hexdigest())`
  );
}

/**
 * The refusal of a version without the model tag, naming both ways out; with `configFile` (the
 * version's configuration file), the statement to tag it goes with the model's.
 */
export function untaggedRefusal(
  what: string,
  name: string,
  version: string,
  configFile?: string,
): RegistryError {
  const statements = [tagStatement(name, version, SHA256_TAG, MODEL_FILE)];
  if (configFile !== undefined) statements.push(tagStatement(name, version, CONFIG_SHA256_TAG, configFile));
  return new RegistryError(
    "CHECKSUM_MISMATCH",
    `${what} has no ${SHA256_TAG} tag (the sha256 hex of its ${MODEL_FILE}, or of the ONNX file its MLmodel names); ` +
      `refusing an unverifiable model. Either tag the version with ` +
      (configFile === undefined
        ? "its file's sha256"
        : `the sha256 of its ${MODEL_FILE} and of its ${configFile}`) +
      `, e.g. with MLflow's Python client: ${statements.join("; ")}; ` +
      `or set ${ALLOW_UNTAGGED_SETTING}=true to serve versions without the tag unverified (the sha256 is then computed on download and logged)`,
  );
}

/** The refusal of a tagged version whose configuration file no tag covers. */
function untaggedConfigRefusal(
  what: string,
  name: string,
  version: string,
  configFile: string,
): RegistryError {
  return new RegistryError(
    "CHECKSUM_MISMATCH",
    `${what} has a ${SHA256_TAG} tag but no ${CONFIG_SHA256_TAG} tag for its ${configFile} (the configuration ` +
      `the service reads: labels, preprocessing); refusing a model whose configuration is unverifiable. Either tag ` +
      `the version with the file's sha256, e.g. with MLflow's Python client: ${tagStatement(name, version, CONFIG_SHA256_TAG, configFile)}; ` +
      `or set ${ALLOW_UNTAGGED_SETTING}=true to serve what no tag covers unverified (the sha256 is then computed on download and logged)`,
  );
}

/** The tag's sha256 hex, undefined when the version lacks it; a malformed one refuses the version. */
function digestTag(
  tags: Readonly<Record<string, string>>,
  tag: string,
  what: string,
  of: string,
): string | undefined {
  const value = tags[tag];
  if (value !== undefined && !SHA256_HEX.test(value)) {
    throw new RegistryError(
      "CHECKSUM_MISMATCH",
      `${what} has a malformed ${tag} tag ${JSON.stringify(value)} (expected the sha256 hex of ${of}); refusing an unverifiable model`,
    );
  }
  return value;
}

export class MlflowModelRegistry implements ModelRegistry {
  private readonly allowUntagged: boolean;
  /**
   * The digests of each version this process served with something no tag covers (name NUL
   * version), as it computed them on download: a cached copy is reused only when it still hashes
   * to them, so a poll or reload re-downloads nothing and warns once.
   */
  private readonly computedDigests = new Map<string, VersionDigests>();

  constructor(
    readonly client: MlflowClient,
    readonly cache: ModelCache = new ModelCache(),
    private readonly options: MlflowRegistryOptions = {},
  ) {
    this.allowUntagged = options.allowUntagged ?? false;
  }

  get location(): string {
    return `MLflow ${registryAddress(this.client.trackingUri)}`;
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
    const tags = tagsOf(mv);
    const modelTag = digestTag(tags, SHA256_TAG, what, `its ${MODEL_FILE}`);
    const configTag = digestTag(tags, CONFIG_SHA256_TAG, what, `its ${CONFIG_FILES.join(" or ")}`);
    if (modelTag === undefined && !this.allowUntagged) {
      const uri = await this.client.getModelVersionDownloadUri(mv.name, mv.version);
      throw untaggedRefusal(what, name, version, await this.configFileIn(uri));
    }
    const dir = this.cache.versionDir(registryAddress(this.client.trackingUri), name, version);
    const key = `${name}\u0000${version}`;
    // What the tags vouch for, completed by what this process computed itself for the rest.
    const known = this.computedDigests.get(key);
    const model = modelTag ?? known?.model;
    if (model !== undefined) {
      const cached = await this.cache.lookup(dir, { model, config: configTag ?? known?.config ?? null });
      if (cached !== undefined)
        return { name, version, dir: cached.dir, modelPath: cached.modelPath, sha256: model };
    }
    const files = await this.download(mv, what, modelTag, configTag);
    const actual = digestsOf(files);
    const configFile = configFileOf(files);
    const untaggedConfig = configTag === undefined && configFile !== undefined;
    // Beside a plinth model its tag verifies, the loader refuses a configuration that disagrees
    // with the model's metadata: the file is checked at load, not served unverified.
    const unverifiedConfig =
      untaggedConfig && !(modelTag !== undefined && checkedAgainstMetadata(files[MODEL_FILE]!));
    if (modelTag !== undefined && unverifiedConfig && !this.allowUntagged) {
      throw untaggedConfigRefusal(what, name, version, configFile);
    }
    const expected: VersionDigests = { model: modelTag ?? actual.model, config: configTag ?? actual.config };
    const fields = { model: name, version, registry: this.location, setting: ALLOW_UNTAGGED_SETTING };
    if (modelTag === undefined) {
      this.options.log?.warn(
        {
          ...fields,
          sha256: actual.model,
          ...(configFile === undefined ? {} : { configFile, configSha256: actual.config }),
        },
        `${what} has no ${SHA256_TAG} tag: serving it unverified (${ALLOW_UNTAGGED_SETTING}=true); sha256 of its model computed on download: ${actual.model}`,
      );
    } else if (unverifiedConfig) {
      this.options.log?.warn(
        { ...fields, configFile, configSha256: actual.config },
        `${what} has no ${CONFIG_SHA256_TAG} tag: serving its ${configFile} unverified (${ALLOW_UNTAGGED_SETTING}=true); sha256 computed on download: ${actual.config}`,
      );
    }
    const stored = await this.cache.store(dir, expected, files, what);
    if (modelTag === undefined || untaggedConfig) this.computedDigests.set(key, expected);
    return { name, version, dir: stored.dir, modelPath: stored.modelPath, sha256: expected.model };
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
      // A registered model without any version is "no such model" to the registry contract
      // (listVersions), as in the local registry: nothing was registered yet, not a wrong number.
      if ((await this.client.searchModelVersions(name)).length === 0) {
        throw new RegistryError(
          "MODEL_NOT_FOUND",
          `model ${JSON.stringify(name)} has no versions in ${this.location}`,
        );
      }
      throw new RegistryError(
        "VERSION_NOT_FOUND",
        `model ${JSON.stringify(name)} has no version ${version} in ${this.location}`,
      );
    }
  }

  /**
   * The version's files by their cache names: model.onnx (the file an MLmodel's onnx flavor names,
   * else model.onnx itself), MLmodel when there is one, and the companions present. The
   * configuration file is checked against `configSha256` before anything parses it (an MLmodel
   * names the ONNX file), and the model against `modelSha256` before anything reads it.
   */
  private async download(
    mv: ModelVersion,
    what: string,
    modelSha256: string | undefined,
    configSha256: string | undefined,
  ): Promise<Record<string, Uint8Array>> {
    const uri = await this.client.getModelVersionDownloadUri(mv.name, mv.version);
    const present = await this.filesIn(uri);
    const files: Record<string, Uint8Array> = {};
    for (const file of [MLMODEL_FILE, ...COMPANION_FILES]) {
      const bytes = await this.optionalArtifact(uri, file, present);
      if (bytes !== undefined) files[file] = bytes;
    }
    if (configSha256 !== undefined) {
      const configFile = configFileOf(files);
      const actual = configFile === undefined ? null : sha256Bytes(files[configFile]!);
      const mismatch = configMismatch(what, configSha256, actual, configFile);
      if (mismatch !== undefined) throw mismatch;
    }
    const mlmodel = files[MLMODEL_FILE];
    let modelFile: string = MODEL_FILE;
    if (mlmodel !== undefined) {
      try {
        modelFile = onnxModelFileOf(new TextDecoder().decode(mlmodel), `${what}: ${MLMODEL_FILE}`);
      } catch (err) {
        if (!(err instanceof ModelConfigError)) throw err;
        throw new RegistryError("UNSUPPORTED_MODEL", err.message);
      }
    }
    // Known from the listing: in front of a bucket the proxy answers a missing file with a 500,
    // which would read as MLflow being down and be retried for ever.
    if (!modelFile.includes("/") && !present.has(modelFile)) {
      throw new RegistryError(
        "UNSUPPORTED_MODEL",
        `${what}: its folder has no ${modelFile} (it holds: ${[...present].sort().join(", ") || "nothing"})`,
      );
    }
    const model = await this.client.downloadArtifact(uri, modelFile);
    if (modelSha256 !== undefined) {
      const mismatch = modelMismatch(what, modelSha256, sha256Bytes(model));
      if (mismatch !== undefined) throw mismatch;
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
    return files;
  }

  /** The configuration file the version carries (downloaded to find out), or undefined. */
  private async configFileIn(uri: string): Promise<string | undefined> {
    const present = await this.filesIn(uri);
    for (const file of CONFIG_FILES)
      if ((await this.optionalArtifact(uri, file, present)) !== undefined) return file;
    return undefined;
  }

  /**
   * The names of the files directly in the version's folder, listed once: a missing file is known
   * from the listing, never from a failed download. The artifact proxy answers a download of a
   * missing file with 404 only when its destination is a folder: in front of a bucket (s3://,
   * gs://, the cloud stacks) it answers 500 (INTERNAL_ERROR, the store's 404 in the message).
   */
  private async filesIn(uri: string): Promise<ReadonlySet<string>> {
    const listed = await this.client.listArtifacts(uri);
    return new Set(listed.filter((f) => !f.isDir).map((f) => f.path.split("/").at(-1)!));
  }

  /** An artifact's bytes, or undefined when the version's folder (`present`) has no such file. */
  private async optionalArtifact(
    uri: string,
    file: string,
    present: ReadonlySet<string>,
  ): Promise<Uint8Array | undefined> {
    if (!present.has(file)) return undefined;
    try {
      return await this.client.downloadArtifact(uri, file);
    } catch (err) {
      // Removed between the listing and the download.
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
