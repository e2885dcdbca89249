/**
 * The registry contract shared by the local folder registry and MLflow, so the service, the alias
 * watcher, the training job and `npm run registry` work against either without knowing which.
 */
import type { ResolvedModelFile } from "../inference/model.js";
import { RegistryError } from "./local.js";

export { RegistryError, type RegistryErrorCode } from "./local.js";

/** The version tag holding the sha256 (hex) of the version's model.onnx. */
export const SHA256_TAG = "plinth.model_sha256";
/**
 * The version tag holding the sha256 (hex) of the configuration file the service reads beside
 * model.onnx (model-config.json, else MLmodel: registry/integrity.ts); set when the version has one.
 */
export const CONFIG_SHA256_TAG = "plinth.model_config_sha256";

export interface VersionInfo {
  readonly version: string;
  /** Aliases pointing at this version, sorted. */
  readonly aliases: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  /** MLflow's registration status; `READY` for the local registry. */
  readonly status: string;
}

/** A version's files on local disk, ready to load. */
export interface FetchedModel extends ResolvedModelFile {
  /** Folder holding model.onnx (and whatever else the version carries). */
  readonly dir: string;
  /** sha256 of model.onnx, checked against the version's {@link SHA256_TAG} tag when it has one. */
  readonly sha256: string;
}

export interface ModelRegistry {
  /** Where the registry lives, for logs and errors: a folder or an MLflow URL. */
  readonly location: string;
  /** Versions of `name`, oldest first. Throws MODEL_NOT_FOUND when there are none. */
  listVersions(name: string): Promise<VersionInfo[]>;
  /** alias -> version. */
  getAliases(name: string): Promise<Record<string, string>>;
  /**
   * The version a reference names: a version number (checked to exist) or an alias. Cheap enough
   * to poll: the alias watcher calls it every interval.
   */
  resolveVersion(name: string, ref: string): Promise<string>;
  /** The version's files on local disk (downloaded and verified when remote). */
  fetch(name: string, version: string): Promise<FetchedModel>;
  setAlias(name: string, alias: string, version: string): Promise<void>;
  deleteAlias(name: string, alias: string): Promise<void>;
}

const VERSION = /^[1-9][0-9]{0,8}$/;

/** Whether a reference is a version number (otherwise it is an alias). */
export function isVersionRef(ref: string): boolean {
  return VERSION.test(ref);
}

/** Throws ALIAS_NOT_FOUND naming the model, the alias and where they were looked up. */
export function aliasNotFound(name: string, alias: string, location: string): RegistryError {
  return new RegistryError(
    "ALIAS_NOT_FOUND",
    `model ${JSON.stringify(name)} has no alias ${JSON.stringify(alias)} in ${location}`,
  );
}
