/**
 * The npm dependencies of a program, read from its nearest package.json and the packages node would
 * load for it, and, among them, the Pulumi plugin packages: an npm package that is a resource plugin's
 * SDK says so in a "pulumi" section of its package.json ({ resource: true, name, version, server }).
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

export interface InstalledPackage {
  readonly name: string;
  readonly version: string;
  readonly directory: string;
  readonly manifest: PackageManifest;
}

export interface PackageManifest {
  readonly name?: string;
  readonly version?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
  readonly pulumi?: {
    readonly resource?: boolean;
    readonly name?: string;
    readonly version?: string;
    readonly server?: string;
  };
}

export interface PluginPackage {
  readonly name: string;
  readonly version: string;
  readonly server: string;
}

/** The directory of the nearest package.json at or above `directory`, if any. */
export function findPackageRoot(directory: string): string | undefined {
  for (let dir = path.resolve(directory); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function readManifest(directory: string): PackageManifest {
  return JSON.parse(readFileSync(path.join(directory, "package.json"), "utf8")) as PackageManifest;
}

/** The installed package `name` as node resolves it from `fromDirectory`, or undefined. */
function resolveInstalled(name: string, fromDirectory: string): InstalledPackage | undefined {
  const requireFrom = createRequire(path.join(fromDirectory, "__plinth_resolve__.js"));
  let manifestPath: string;
  try {
    manifestPath = requireFrom.resolve(`${name}/package.json`);
  } catch {
    // Not installed, or a package whose "exports" hides package.json: look in node_modules directly.
    const direct = lookUpNodeModules(name, fromDirectory);
    if (!direct) return undefined;
    manifestPath = direct;
  }
  const directory = path.dirname(manifestPath);
  const manifest = readManifest(directory);
  return { name, version: manifest.version ?? "", directory, manifest };
}

function lookUpNodeModules(name: string, fromDirectory: string): string | undefined {
  for (let dir = path.resolve(fromDirectory); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name, "package.json");
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The program's dependencies as installed: the direct ones (dependencies and devDependencies of the
 * nearest package.json) and, when `transitive`, everything they depend on in turn.
 */
export function installedDependencies(programDirectory: string, transitive: boolean): InstalledPackage[] {
  const root = findPackageRoot(programDirectory);
  if (!root) return [];
  const rootManifest = readManifest(root);
  const found = new Map<string, InstalledPackage>();
  const queue: { name: string; from: string }[] = Object.keys({
    ...rootManifest.dependencies,
    ...rootManifest.devDependencies,
  }).map((name) => ({ name, from: root }));
  while (queue.length > 0) {
    const { name, from } = queue.shift()!;
    const installed = resolveInstalled(name, from);
    if (!installed || found.has(installed.directory)) continue;
    found.set(installed.directory, installed);
    if (transitive) {
      for (const dependency of Object.keys(installed.manifest.dependencies ?? {})) {
        queue.push({ name: dependency, from: installed.directory });
      }
    }
  }
  return [...found.values()];
}

/** The resource plugins the program's installed packages declare, one per plugin name and version. */
export function requiredPlugins(programDirectory: string): PluginPackage[] {
  const plugins = new Map<string, PluginPackage>();
  for (const installed of installedDependencies(programDirectory, true)) {
    const section = installed.manifest.pulumi;
    if (!section?.resource) continue;
    const name = section.name ?? installed.name.replace(/^@pulumi\//, "");
    const version = section.version ?? installed.version;
    plugins.set(`${name}@${version}`, { name, version, server: section.server ?? "" });
  }
  return [...plugins.values()].sort((a, b) => a.name.localeCompare(b.name));
}
