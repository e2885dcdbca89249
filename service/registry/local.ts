/**
 * The embedded default model registry: a folder per model, a folder per integer version and an
 * aliases file.
 *
 *   <root>/<name>/<version>/model.onnx (+ training_summary.json, data_quality_report.json, baseline.json)
 *   <root>/<name>/aliases.json          {"champion": "1", "challenger": "2"}
 *
 * Every write is atomic: a version is assembled in a temporary folder and renamed into place, and
 * the aliases file is replaced by renaming a temporary file, so a reader never sees half a version
 * or a truncated aliases file.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { PACKAGE_ROOT } from "../files/package-root.js";

export interface ResolvedModel {
  name: string;
  version: string;
  dir: string;
  modelPath: string;
}

export type RegistryErrorCode =
  | "MODEL_NOT_FOUND"
  | "VERSION_NOT_FOUND"
  | "ALIAS_NOT_FOUND"
  | "INVALID_REFERENCE"
  /** A remote registry (MLflow) holds the version but it is not READY yet. */
  | "VERSION_NOT_READY"
  /** A downloaded model's sha256 differs from (or lacks) the version's recorded sha256. */
  | "CHECKSUM_MISMATCH"
  /** A version stored in a form the service does not serve (an MLflow model without an ONNX flavor, external tensor data). */
  | "UNSUPPORTED_MODEL";

export class RegistryError extends Error {
  override readonly name = "RegistryError";
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The package's `models/` folder. */
export const DEFAULT_REGISTRY_DIR = path.join(PACKAGE_ROOT, "models");

export const MODEL_FILE = "model.onnx";
const ALIASES_FILE = "aliases.json";

/** Model and alias names: a letter or digit first, then letters, digits, `.`, `_`, `-`; no path separators. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Alias names must not look like versions, or `resolve` could not tell them apart. */
const VERSION_PATTERN = /^[1-9][0-9]{0,8}$/;
/** Files inside a version folder: plain names only. */
const FILE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function checkName(kind: string, value: string): void {
  if (!NAME_PATTERN.test(value)) {
    throw new RegistryError(
      "INVALID_REFERENCE",
      `invalid ${kind} ${JSON.stringify(value)}: expected ${NAME_PATTERN}`,
    );
  }
}

function checkAlias(alias: string): void {
  checkName("alias", alias);
  if (/^[0-9]+$/.test(alias)) {
    throw new RegistryError(
      "INVALID_REFERENCE",
      `invalid alias ${JSON.stringify(alias)}: an alias cannot be a number`,
    );
  }
}

function checkVersion(version: string): void {
  if (!VERSION_PATTERN.test(version)) {
    throw new RegistryError(
      "INVALID_REFERENCE",
      `invalid version ${JSON.stringify(version)}: expected a positive integer`,
    );
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === "ENOENT";
}

function tempSuffix(): string {
  return `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
}

export class LocalRegistry {
  readonly rootDir: string;

  constructor(rootDir: string = DEFAULT_REGISTRY_DIR) {
    this.rootDir = path.resolve(rootDir);
  }

  /** Names of the models that have at least one version, sorted. */
  async listModels(): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(this.rootDir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const names: string[] = [];
    for (const e of entries) {
      if (e.isDirectory() && NAME_PATTERN.test(e.name) && (await this.versionsIn(e.name)).length > 0) {
        names.push(e.name);
      }
    }
    return names.sort();
  }

  /** Versions of a model in numeric order. */
  async listVersions(name: string): Promise<string[]> {
    checkName("model name", name);
    const versions = await this.versionsIn(name);
    if (versions.length === 0)
      throw new RegistryError(
        "MODEL_NOT_FOUND",
        `model ${JSON.stringify(name)} not found in ${this.rootDir}`,
      );
    return versions;
  }

  /** The alias map of a model; empty when the model has no aliases file. */
  async getAliases(name: string): Promise<Record<string, string>> {
    checkName("model name", name);
    await this.listVersions(name);
    return this.readAliases(name);
  }

  /** Resolves a version number or an alias to a version folder holding a model file. */
  async resolve(name: string, ref: string): Promise<ResolvedModel> {
    checkName("model name", name);
    const versions = await this.listVersions(name);
    let version: string;
    if (/^[0-9]+$/.test(ref)) {
      checkVersion(ref);
      version = ref;
    } else {
      checkAlias(ref);
      const aliases = await this.readAliases(name);
      const target = aliases[ref];
      if (target === undefined) {
        throw new RegistryError(
          "ALIAS_NOT_FOUND",
          `model ${JSON.stringify(name)} has no alias ${JSON.stringify(ref)}`,
        );
      }
      version = target;
    }
    if (!versions.includes(version)) {
      throw new RegistryError(
        "VERSION_NOT_FOUND",
        `model ${JSON.stringify(name)} has no version ${version} (has ${versions.join(", ")})`,
      );
    }
    const dir = path.join(this.rootDir, name, version);
    return { name, version, dir, modelPath: path.join(dir, MODEL_FILE) };
  }

  /** Points an alias at an existing version. */
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    checkName("model name", name);
    checkAlias(alias);
    checkVersion(version);
    const versions = await this.listVersions(name);
    if (!versions.includes(version)) {
      throw new RegistryError("VERSION_NOT_FOUND", `model ${JSON.stringify(name)} has no version ${version}`);
    }
    const aliases = await this.readAliases(name);
    aliases[alias] = version;
    await this.writeAliases(name, aliases);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    checkName("model name", name);
    checkAlias(alias);
    const aliases = await this.getAliases(name);
    if (!(alias in aliases)) {
      throw new RegistryError(
        "ALIAS_NOT_FOUND",
        `model ${JSON.stringify(name)} has no alias ${JSON.stringify(alias)}`,
      );
    }
    delete aliases[alias];
    await this.writeAliases(name, aliases);
  }

  /**
   * Stores `files` (which must include model.onnx) as the next version of `name` and returns that
   * version. The files are written to a temporary folder that is then renamed to the version
   * number; if a concurrent writer took that number first, the next one is tried.
   */
  async registerVersion(name: string, files: Record<string, Uint8Array | string>): Promise<string> {
    checkName("model name", name);
    if (!(MODEL_FILE in files)) {
      throw new RegistryError("INVALID_REFERENCE", `a version needs a ${MODEL_FILE} file`);
    }
    for (const file of Object.keys(files)) {
      if (!FILE_PATTERN.test(file))
        throw new RegistryError("INVALID_REFERENCE", `invalid file name ${JSON.stringify(file)}`);
    }
    const modelDir = path.join(this.rootDir, name);
    await mkdir(modelDir, { recursive: true });
    const staging = path.join(modelDir, tempSuffix());
    await mkdir(staging);
    try {
      for (const [file, content] of Object.entries(files)) await writeFile(path.join(staging, file), content);
      for (let attempt = 0; attempt < 100; attempt++) {
        const versions = await this.versionsIn(name);
        const next = String(versions.length === 0 ? 1 : Number(versions[versions.length - 1]) + 1);
        try {
          // rename(2) onto a missing path is atomic; onto an existing non-empty folder it fails.
          await rename(staging, path.join(modelDir, next));
          return next;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
        }
      }
      throw new Error(`could not allocate a version number for ${name} after 100 attempts`);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  private async versionsIn(name: string): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(path.join(this.rootDir, name), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === "ENOTDIR") return [];
      throw err;
    }
    return entries
      .filter((e) => e.isDirectory() && VERSION_PATTERN.test(e.name))
      .map((e) => e.name)
      .sort((a, b) => Number(a) - Number(b));
  }

  private async readAliases(name: string): Promise<Record<string, string>> {
    const file = path.join(this.rootDir, name, ALIASES_FILE);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if (isMissing(err)) return {};
      throw err;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new Error(`${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
      throw new Error(`${file}: expected an object of alias -> version`);
    const aliases: Record<string, string> = {};
    for (const [alias, version] of Object.entries(raw)) {
      if (typeof version !== "string" || !VERSION_PATTERN.test(version) || !NAME_PATTERN.test(alias)) {
        throw new Error(`${file}: bad entry ${JSON.stringify(alias)}: ${JSON.stringify(version)}`);
      }
      aliases[alias] = version;
    }
    return aliases;
  }

  private async writeAliases(name: string, aliases: Record<string, string>): Promise<void> {
    const file = path.join(this.rootDir, name, ALIASES_FILE);
    const sorted = Object.fromEntries(Object.entries(aliases).sort(([a], [b]) => a.localeCompare(b)));
    const temp = file + tempSuffix();
    try {
      await writeFile(temp, JSON.stringify(sorted, null, 2) + "\n");
      await rename(temp, file);
    } finally {
      await rm(temp, { force: true });
    }
  }
}
