/**
 * The executables the Pulumi CLI looks for on PATH for plinth's own plugins: tiny sh scripts that run
 * the TypeScript entry points with node and tsx's loader. Both paths are absolute, resolved when the
 * shim is written, so the shim works from whatever directory the CLI starts it in (the project's, a
 * policy pack's, a temporary one).
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const LANGUAGE_HOST_SHIM = "pulumi-language-nodejs";
export const RANDOM_PROVIDER_SHIM = "pulumi-resource-random";

/** tsx's ESM+CJS loader (what `--import tsx` loads) as installed in the repository, as a file URL. */
export function tsxLoaderUrl(repoRoot: string): string {
  const requireFromRepo = createRequire(path.join(repoRoot, "package.json"));
  return pathToFileURL(requireFromRepo.resolve("tsx")).href;
}

function singleQuoted(text: string): string {
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}

function nodeShim(repoRoot: string, entry: string, what: string): string {
  const script = path.join(repoRoot, entry);
  return [
    "#!/bin/sh",
    `# ${what}; written from stack/engine/shims.ts (scripts/install-test-tools.sh).`,
    `exec node --import ${singleQuoted(tsxLoaderUrl(repoRoot))} ${singleQuoted(script)} "$@"`,
    "",
  ].join("\n");
}

/** The `pulumi-language-nodejs` shim: plinth's Node.js language host. */
export function languageHostShim(repoRoot: string): string {
  return nodeShim(
    repoRoot,
    "stack/engine/language-host/main.ts",
    "plinth's Node.js language host for the Pulumi CLI",
  );
}

/** The `pulumi-resource-random` shim: plinth's random provider (RandomPassword). */
export function randomProviderShim(repoRoot: string): string {
  return nodeShim(
    repoRoot,
    "stack/engine/random-provider/main.ts",
    "plinth's random provider for the Pulumi CLI",
  );
}

/** Writes one shim into `dir` (created if needed), executable; returns its path. */
export function writeShim(dir: string, name: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, 0o755);
  return file;
}

export interface WrittenShims {
  readonly languageHost: string;
  readonly randomProvider: string;
}

/** Writes both shims into `binDir`. */
export function writeEngineShims(binDir: string, repoRoot: string): WrittenShims {
  return {
    languageHost: writeShim(binDir, LANGUAGE_HOST_SHIM, languageHostShim(repoRoot)),
    randomProvider: writeShim(binDir, RANDOM_PROVIDER_SHIM, randomProviderShim(repoRoot)),
  };
}
