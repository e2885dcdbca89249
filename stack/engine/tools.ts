/**
 * What a run of the real Pulumi engine needs here: the CLI that scripts/install-test-tools.sh builds,
 * plinth's plugins (language host on PATH, random provider in the plugin cache), and an environment
 * that keeps the run local and offline (its own PULUMI_HOME, a file backend, no update check, no
 * plugin downloads). A missing CLI is an error naming
 * the install script, never a silently skipped run.
 */
import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isExecutable } from "../shared/executable.js";
import { installedSdkVersion } from "./sdk-version.js";
import {
  LANGUAGE_HOST_SHIM,
  languageHostShim,
  RANDOM_PROVIDER_SHIM,
  randomProviderShim,
  writeShim,
} from "./shims.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The CLI version: the @pulumi/pulumi version the program runs with (scripts/tools/pins.sh agrees). */
export function pulumiVersion(): string {
  return installedSdkVersion("@pulumi/pulumi");
}

/** Where the install script leaves the CLI: linked from .tools/bin, built in the tools cache. */
export function pulumiCliCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const cache = env["PLINTH_TOOLS_CACHE"] || path.join(os.homedir(), ".cache", "plinth", "tools");
  return [
    path.join(REPO_ROOT, ".tools", "bin", "pulumi"),
    path.join(cache, `pulumi-${pulumiVersion()}`, "bin", "pulumi"),
  ];
}

/** The Pulumi CLI's path; throws, naming the install script, when it is not installed. */
export function pulumiCli(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = pulumiCliCandidates(env);
  const found = candidates.find(isExecutable);
  if (!found) {
    throw new Error(
      `the Pulumi CLI v${pulumiVersion()} is not installed (looked for ${candidates.join(", ")}): ` +
        "run `bash scripts/install-test-tools.sh`",
    );
  }
  return found;
}

export interface EngineRun {
  /** The `pulumi` executable to run: linked into `shimsDir`, beside the language host shim. */
  readonly cli: string;
  /** The directory with the CLI link and the `pulumi-language-nodejs` shim, first on the run's PATH. */
  readonly shimsDir: string;
  /** PULUMI_HOME for the run (plugin cache, credentials): inside the work directory. */
  readonly home: string;
  /** The file backend's URL (PULUMI_BACKEND_URL), so no `pulumi login` is needed. */
  readonly backendUrl: string;
  /** The environment to run the CLI with. */
  readonly env: NodeJS.ProcessEnv;
}

export interface EngineRunOptions {
  /** A scratch directory for this run: shims, PULUMI_HOME and the state go under it. */
  readonly workDir: string;
  /** Encrypts the stack's secrets (the passphrase secrets provider). */
  readonly passphrase?: string;
  /** The environment to start from (default: this process's). */
  readonly baseEnv?: NodeJS.ProcessEnv;
}

/**
 * Links the CLI into `dir`. The CLI looks for its bundled language hosts (nodejs is one) beside its
 * own executable, symlinks resolved, and warns "using pulumi-language-nodejs from $PATH" on every run
 * when it finds the host elsewhere; a hard link makes `dir` the CLI's own directory. Across file
 * systems a hard link is impossible: a symlink works the same, with that warning.
 */
function linkCli(installedCli: string, dir: string): { path: string; hardLinked: boolean } {
  const link = path.join(dir, "pulumi");
  rmSync(link, { force: true });
  try {
    // .tools/bin/pulumi is itself a symlink, and link(2) would link the symlink: link its target.
    linkSync(realpathSync(installedCli), link);
    return { path: link, hardLinked: true };
  } catch {
    symlinkSync(installedCli, link);
    return { path: link, hardLinked: false };
  }
}

/**
 * Installs a provider plugin into the run's plugin cache (PULUMI_HOME) from a local executable, as
 * the engine then finds it for the exact version a program's SDK asks for, without downloading.
 */
export function installProviderPlugin(
  run: EngineRun,
  name: string,
  version: string,
  executable: string,
): void {
  execFileSync(run.cli, ["plugin", "install", "resource", name, version, "--file", executable], {
    env: run.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * Prepares a self-contained engine run under `workDir`: the shims are written fresh from this
 * checkout (a run always uses the current language host and provider), plinth's random provider is
 * installed into the run's own PULUMI_HOME, and the file-backend state lives beside them.
 */
export function prepareEngineRun(options: EngineRunOptions): EngineRun {
  const baseEnv = options.baseEnv ?? process.env;
  const shimsDir = path.join(options.workDir, "bin");
  const home = path.join(options.workDir, ".pulumi");
  const state = path.join(options.workDir, "state");
  mkdirSync(shimsDir, { recursive: true });
  mkdirSync(home, { recursive: true });
  mkdirSync(state, { recursive: true });
  const linked = linkCli(pulumiCli(baseEnv), shimsDir);
  writeShim(shimsDir, LANGUAGE_HOST_SHIM, languageHostShim(REPO_ROOT));
  // Not on PATH: the engine prefers a provider found on PATH, with a warning on every run.
  const randomShim = writeShim(
    path.join(options.workDir, "plugin-shims"),
    RANDOM_PROVIDER_SHIM,
    randomProviderShim(REPO_ROOT),
  );
  const backendUrl = `file://${state}`;
  const run: EngineRun = {
    cli: linked.path,
    shimsDir,
    home,
    backendUrl,
    env: {
      ...baseEnv,
      PATH: [shimsDir, baseEnv["PATH"] ?? ""].join(path.delimiter),
      PULUMI_HOME: home,
      PULUMI_BACKEND_URL: backendUrl,
      PULUMI_CONFIG_PASSPHRASE: options.passphrase ?? "plinth-test-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      // Plain, parseable output: no colours.
      NO_COLOR: "1",
      // Hermetic plugins: the language host beside the linked CLI, providers from this PULUMI_HOME,
      // nothing from PATH (where .tools/bin may hold other builds). Needs the hard link to find the host.
      ...(linked.hardLinked ? { PULUMI_IGNORE_AMBIENT_PLUGINS: "true" } : {}),
    },
  };
  installProviderPlugin(run, "random", installedSdkVersion("@pulumi/random"), randomShim);
  return run;
}
