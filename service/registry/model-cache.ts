/**
 * The local cache of downloaded model versions: `<root>/<registry>/<name>/<version>/model.onnx`
 * plus the version's other files. A version is assembled in a temporary folder, its model and its
 * configuration file checked against the expected digests (integrity.ts), and only then renamed
 * into place, so the cache never holds a half-written or unverified version; a cached model and
 * configuration are re-hashed before every use (a configuration file added to a cached version
 * that had none counts as a change too).
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  CONFIG_FILES,
  configFileOf,
  digestMismatch,
  digestsOf,
  sha256File,
  type VersionDigests,
} from "./integrity.js";
import { MODEL_FILE } from "./local.js";

export { sha256Bytes, sha256File } from "./integrity.js";

/** Default cache root when MODEL_CACHE_DIR is not set. */
export const DEFAULT_CACHE_DIR = path.join(os.tmpdir(), "plinth-model-cache");

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === "ENOENT";
}

/** sha256 of `file`, or undefined when it does not exist. */
async function sha256IfPresent(file: string): Promise<string | undefined> {
  try {
    return await sha256File(file);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
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

  /**
   * The cached version when its model.onnx and its configuration file hash to `expected` (and it
   * has no configuration file when `expected.config` is null); undefined when absent or different.
   */
  async lookup(dir: string, expected: VersionDigests): Promise<CachedVersion | undefined> {
    const modelPath = path.join(dir, MODEL_FILE);
    if ((await sha256IfPresent(modelPath)) !== expected.model) return undefined;
    let config: string | null = null;
    for (const file of CONFIG_FILES) {
      const digest = await sha256IfPresent(path.join(dir, file));
      if (digest === undefined) continue;
      config = digest;
      break;
    }
    return config === expected.config ? { dir, modelPath } : undefined;
  }

  /**
   * Stores a downloaded version after checking its model and configuration file against
   * `expected`; replaces a stale entry. `files` must hold model.onnx. Throws CHECKSUM_MISMATCH (and
   * stores nothing) on a mismatch.
   */
  async store(
    dir: string,
    expected: VersionDigests,
    files: Readonly<Record<string, Uint8Array>>,
    what: string,
  ): Promise<CachedVersion> {
    if (files[MODEL_FILE] === undefined) throw new Error(`${what}: no ${MODEL_FILE} to cache`);
    const mismatch = digestMismatch(what, expected, digestsOf(files), configFileOf(files));
    if (mismatch !== undefined) throw mismatch;
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
      const stored = await this.lookup(dir, expected);
      if (stored === undefined)
        throw new Error(`${what}: the cache entry ${dir} changed while it was written`);
      return stored;
    } finally {
      await rm(staging, { recursive: true, force: true });
      await rm(stale, { recursive: true, force: true });
    }
  }
}
