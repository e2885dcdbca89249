/**
 * The local folder registry behind the common {@link ModelRegistry} contract. Files are already
 * on disk, so `fetch` only hashes model.onnx.
 */
import { LocalRegistry } from "./local.js";
import { sha256File } from "./model-cache.js";
import type { FetchedModel, ModelRegistry, VersionInfo } from "./registry.js";

export class LocalModelRegistry implements ModelRegistry {
  constructor(readonly local: LocalRegistry = new LocalRegistry()) {}

  get location(): string {
    return this.local.rootDir;
  }

  async listVersions(name: string): Promise<VersionInfo[]> {
    const versions = await this.local.listVersions(name);
    const aliases = await this.local.getAliases(name);
    return versions.map((version) => ({
      version,
      aliases: Object.keys(aliases)
        .filter((a) => aliases[a] === version)
        .sort(),
      tags: {},
      status: "READY",
    }));
  }

  getAliases(name: string): Promise<Record<string, string>> {
    return this.local.getAliases(name);
  }

  async resolveVersion(name: string, ref: string): Promise<string> {
    return (await this.local.resolve(name, ref)).version;
  }

  async fetch(name: string, version: string): Promise<FetchedModel> {
    const resolved = await this.local.resolve(name, version);
    return { ...resolved, sha256: await sha256File(resolved.modelPath) };
  }

  setAlias(name: string, alias: string, version: string): Promise<void> {
    return this.local.setAlias(name, alias, version);
  }

  deleteAlias(name: string, alias: string): Promise<void> {
    return this.local.deleteAlias(name, alias);
  }
}
