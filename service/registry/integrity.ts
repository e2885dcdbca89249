/**
 * What a registered version's integrity tags vouch for: the sha256 of its model.onnx
 * ({@link SHA256_TAG}) and of the configuration file the service reads beside it
 * ({@link CONFIG_SHA256_TAG}): `model-config.json`, else an MLflow model's `MLmodel`, the order
 * inference/model-config-file.ts reads them in. The configuration decides the labels and the
 * preprocessing, so a version whose configuration is not the one registered is refused as a
 * tampered model would be.
 *
 * One configuration file needs no tag: the one beside a plinth model (model.onnx carrying
 * {@link METADATA_KEY}) whose model tag verifies it ({@link checkedAgainstMetadata}). The loader
 * refuses such a file unless it says what the embedded metadata says (inference/load-model.ts), so
 * the versions plinth's trainer registered before it tagged configurations serve as they did.
 *
 * Written at registration ({@link integrityTags}: the training job's MLflow record), checked when
 * a version is downloaded and whenever a cached copy is reused (model-cache.ts).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { METADATA_KEY } from "../model/metadata.js";
import { MODEL_CONFIG_FILE } from "../model/model-config.js";
import { readOnnxMetadataProps } from "../model/onnx-format.js";
import { MODEL_FILE } from "./local.js";
import { MLMODEL_FILE } from "./mlflow-model-file.js";
import { CONFIG_SHA256_TAG, RegistryError, SHA256_TAG } from "./registry.js";

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export function sha256Bytes(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The configuration files the service reads beside model.onnx, the first present one winning. */
export const CONFIG_FILES: readonly string[] = [MODEL_CONFIG_FILE, MLMODEL_FILE];

/**
 * Whether `model` (model.onnx's bytes) carries plinth's own metadata ({@link METADATA_KEY}): the
 * loader then serves it as a plinth model and refuses a configuration file beside it that
 * disagrees with the metadata, so such a file is checked at load whether or not a tag covers it.
 * False for bytes that are not ONNX (the download refuses those on its own).
 */
export function checkedAgainstMetadata(model: Uint8Array): boolean {
  try {
    return readOnnxMetadataProps(model)[METADATA_KEY] !== undefined;
  } catch {
    return false;
  }
}

/** What a version's files hash to, or must hash to. */
export interface VersionDigests {
  /** sha256 hex of model.onnx. */
  readonly model: string;
  /** sha256 hex of the configuration file ({@link configFileOf}); null: the version has none. */
  readonly config: string | null;
}

/** The configuration file among `files` (file name -> content), or undefined when there is none. */
export function configFileOf(files: Readonly<Record<string, unknown>>): string | undefined {
  return CONFIG_FILES.find((file) => files[file] !== undefined);
}

const bytesOf = (content: Uint8Array | string) =>
  typeof content === "string" ? new TextEncoder().encode(content) : content;

/** What `files` (model.onnx, and a configuration file when there is one) hash to. */
export function digestsOf(files: Readonly<Record<string, Uint8Array | string>>): VersionDigests {
  const model = files[MODEL_FILE];
  if (model === undefined) throw new Error(`no ${MODEL_FILE} among the version's files`);
  const configFile = configFileOf(files);
  return {
    model: sha256Bytes(bytesOf(model)),
    config: configFile === undefined ? null : sha256Bytes(bytesOf(files[configFile]!)),
  };
}

/** The tags a version registered with `files` carries: the model's sha256, the configuration's when it has one. */
export function integrityTags(files: Readonly<Record<string, Uint8Array | string>>): Record<string, string> {
  const digests = digestsOf(files);
  return {
    [SHA256_TAG]: digests.model,
    ...(digests.config === null ? {} : { [CONFIG_SHA256_TAG]: digests.config }),
  };
}

/**
 * Why files hashing to `actual` (their configuration file `configFile`) are not the ones
 * `expected` vouches for, naming the file and both digests; undefined when they are.
 */
export function digestMismatch(
  what: string,
  expected: VersionDigests,
  actual: VersionDigests,
  configFile: string | undefined,
): RegistryError | undefined {
  return (
    modelMismatch(what, expected.model, actual.model) ??
    configMismatch(what, expected.config, actual.config, configFile)
  );
}

/** {@link digestMismatch} for model.onnx alone. */
export function modelMismatch(what: string, expected: string, actual: string): RegistryError | undefined {
  if (expected === actual) return undefined;
  return new RegistryError(
    "CHECKSUM_MISMATCH",
    `${what}: sha256 of ${MODEL_FILE} is ${actual} but the version's ${SHA256_TAG} tag says ${expected}; refusing it`,
  );
}

/** {@link digestMismatch} for the configuration file alone. */
export function configMismatch(
  what: string,
  expected: string | null,
  actual: string | null,
  configFile: string | undefined,
): RegistryError | undefined {
  if (expected === actual) return undefined;
  if (expected === null) {
    return new RegistryError(
      "CHECKSUM_MISMATCH",
      `${what}: ${configFile} (sha256 ${actual}) is not part of the version as registered ` +
        `(it was registered without a configuration file); refusing it`,
    );
  }
  if (actual === null) {
    return new RegistryError(
      "CHECKSUM_MISMATCH",
      `${what}: the version's ${CONFIG_SHA256_TAG} tag says ${expected} but it has no ` +
        `${CONFIG_FILES.join(" or ")}; refusing it`,
    );
  }
  return new RegistryError(
    "CHECKSUM_MISMATCH",
    `${what}: sha256 of ${configFile} is ${actual} but the version's ${CONFIG_SHA256_TAG} tag says ${expected}; refusing it`,
  );
}
