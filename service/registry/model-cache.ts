/**
 * The local cache of downloaded model versions: `<root>/<registry>/<name>/<version>/model.onnx`
 * plus the version's other files. A version is assembled in a temporary folder, its model checked
 * against the expected sha256, and only then renamed into place, so the cache never holds a
 * half-written or unverified model; a cached model is re-hashed before every use.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { MODEL_FILE } from "./local.js";
import { RegistryError, SHA256_TAG } from "./registry.js";

/** Default cache root when MODEL_CACHE_DIR is not set. */
export const DEFAULT_CACHE_DIR = path.join(os.tmpdir(), "plinth-model-cache");

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export function sha256Bytes(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === "ENOENT";
}

/** Refusal of a model whose bytes are not the ones the registry vouches for. */
export function checksumMismatch(what: string, expected: string, actual: string): RegistryError {
  return new RegistryError(
    "CHECKSUM_MISMATCH",
    `${what}: sha256 of ${MODEL_FILE} is ${actual} but the version's ${SHA256_TAG} tag says ${expected}; refusing it`,
  );
}

export interface CachedVersion {
  readonly dir: string;
  readonly modelPath: string;
}

export class ModelCache {
  readonly root: string;

  constructor(root: string = DEFAULT_CACHE_DIR) {
    this.root = path.resolve(root);
  }

  /** Folder of one version; `registryKey` keeps two registries' "version 3" apart. */
  versionDir(registryKey: string, name: string, version: string): string {
    return path.join(this.root, encodeURIComponent(registryKey), name, version);
  }

  /** The cached version when its model.onnx hashes to `sha256`; undefined when absent or different. */
  async lookup(dir: string, sha256: string): Promise<CachedVersion | undefined> {
    const modelPath = path.join(dir, MODEL_FILE);
    try {
      if ((await sha256File(modelPath)) === sha256) return { dir, modelPath };
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    return undefined;
  }

  /**
   * Stores a downloaded version after checking its model against `sha256`; replaces a stale
   * entry. `files` must hold model.onnx. Throws CHECKSUM_MISMATCH (and stores nothing) on a mismatch.
   */
  async store(
    dir: string,
    sha256: string,
    files: Readonly<Record<string, Uint8Array>>,
    what: string,
  ): Promise<CachedVersion> {
    const model = files[MODEL_FILE];
    if (model === undefined) throw new Error(`${what}: no ${MODEL_FILE} to cache`);
    const actual = sha256Bytes(model);
    if (actual !== sha256) throw checksumMismatch(what, sha256, actual);
    await mkdir(path.dirname(dir), { recursive: true });
    const staging = `${dir}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
    const stale = `${staging}-stale`;
    await mkdir(staging);
    try {
      for (const [file, content] of Object.entries(files)) await writeFile(path.join(staging, file), content);
      // A stale entry (another sha) is moved aside first; a concurrent fetch of the same version
      // may win the rename, which is fine when it stored the same bytes.
      await rename(dir, stale).catch((err: unknown) => {
        if (!isMissing(err)) throw err;
      });
      try {
        await rename(staging, dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
      }
      const stored = await this.lookup(dir, sha256);
      if (stored === undefined)
        throw new Error(`${what}: the cache entry ${dir} changed while it was written`);
      return stored;
    } finally {
      await rm(staging, { recursive: true, force: true });
      await rm(stale, { recursive: true, force: true });
    }
  }
}
