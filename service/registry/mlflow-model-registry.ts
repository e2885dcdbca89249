/**
 * MLflow's model registry behind the common {@link ModelRegistry} contract. A version's files are
 * the folder its `source` names (model.onnx and the training job's JSON files); `fetch` downloads
 * them through the artifact proxy into the local cache and refuses a model.onnx whose sha256
 * differs from the version's {@link SHA256_TAG} tag, or a version without that tag.
 */
import { MlflowError } from "../mlflow/http.js";
import type { MlflowClient } from "../mlflow/client.js";
import { tagsOf, type ModelVersion } from "../mlflow/client.js";
import { MODEL_FILE } from "./local.js";
import { ModelCache } from "./model-cache.js";
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
] as const;

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class MlflowModelRegistry implements ModelRegistry {
  constructor(
    readonly client: MlflowClient,
    readonly cache: ModelCache = new ModelCache(),
  ) {}

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
    const sha256 = tagsOf(mv)[SHA256_TAG];
    if (sha256 === undefined || !SHA256_HEX.test(sha256)) {
      throw new RegistryError(
        "CHECKSUM_MISMATCH",
        `${what} has ${sha256 === undefined ? "no" : "a malformed"} ${SHA256_TAG} tag (the sha256 hex of its ${MODEL_FILE}); refusing an unverifiable model`,
      );
    }
    const dir = this.cache.versionDir(this.client.trackingUri, name, version);
    const cached = (await this.cache.lookup(dir, sha256)) ?? (await this.download(mv, dir, sha256, what));
    return { name, version, dir: cached.dir, modelPath: cached.modelPath, sha256 };
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

  private async download(mv: ModelVersion, dir: string, sha256: string, what: string) {
    const uri = await this.client.getModelVersionDownloadUri(mv.name, mv.version);
    const files: Record<string, Uint8Array> = {};
    files[MODEL_FILE] = await this.client.downloadArtifact(uri, MODEL_FILE);
    for (const file of COMPANION_FILES) {
      try {
        files[file] = await this.client.downloadArtifact(uri, file);
      } catch (err) {
        if (!(err instanceof MlflowError && err.notFound)) throw err;
      }
    }
    return this.cache.store(dir, sha256, files, what);
  }

  private modelNotFound(name: string): RegistryError {
    return new RegistryError(
      "MODEL_NOT_FOUND",
      `model ${JSON.stringify(name)} not found in ${this.location}`,
    );
  }
}
