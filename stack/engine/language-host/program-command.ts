/**
 * The node command line and environment for one `Run` of a Pulumi program: node, the project's
 * nodeargs, @pulumi/pulumi's `cmd/run` with the flags it parses (minimist), then the program and its
 * arguments. Configuration travels in the environment (PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS),
 * which is where @pulumi/pulumi's runtime/config reads it.
 */
import path from "node:path";
import { INSPECT_GUARD_NODE_ARGS } from "./inspect-guard.js";
import type { RuntimeOptions } from "./runtime-options.js";
import { runScript } from "./sdk-location.js";

export interface ProgramRun {
  readonly project: string;
  readonly stack: string;
  readonly organization: string;
  /** The directory the program runs in (the CLI's pwd for the project). */
  readonly pwd: string;
  /** Where Pulumi.yaml is. */
  readonly rootDirectory: string;
  /** Where `main` points (a directory), and the file in it ("." for the directory itself). */
  readonly programDirectory: string;
  readonly entryPoint: string;
  readonly args: readonly string[];
  readonly config: ReadonlyMap<string, string>;
  readonly configSecretKeys: readonly string[];
  readonly dryRun: boolean;
  readonly parallel: number;
  readonly monitorAddress: string;
  readonly engineAddress: string | undefined;
  readonly tracing: string | undefined;
  readonly options: RuntimeOptions;
}

export interface NodeCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Builds the command for `run`; `sdkDir` is the program's own @pulumi/pulumi. */
export function programCommand(
  run: ProgramRun,
  sdkDir: string,
  baseEnv: NodeJS.ProcessEnv,
  nodePath: string = process.execPath,
): NodeCommand {
  const flags = [
    `--monitor=${run.monitorAddress}`,
    ...(run.engineAddress ? [`--engine=${run.engineAddress}`] : []),
    `--project=${run.project}`,
    `--stack=${run.stack}`,
    `--pwd=${run.pwd}`,
    `--root-directory=${run.rootDirectory}`,
    ...(run.organization ? [`--organization=${run.organization}`] : []),
    ...(run.dryRun ? ["--dry-run"] : []),
    ...(run.parallel > 0 ? [`--parallel=${run.parallel}`] : []),
    ...(run.tracing ? [`--tracing=${run.tracing}`] : []),
  ];
  return {
    command: nodePath,
    args: [
      ...INSPECT_GUARD_NODE_ARGS,
      ...run.options.nodeArgs,
      runScript(sdkDir),
      ...flags,
      programPath(run),
      ...run.args,
    ],
    cwd: run.pwd,
    env: {
      ...baseEnv,
      PULUMI_CONFIG: JSON.stringify(Object.fromEntries(run.config)),
      PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(run.configSecretKeys),
      PULUMI_NODEJS_TYPESCRIPT: String(run.options.typescript),
      ...(run.options.tsconfig ? { PULUMI_NODEJS_TSCONFIG_PATH: run.options.tsconfig } : {}),
    },
  };
}

/**
 * The program argument of cmd/run. "." (relative to --pwd) makes cmd/run look up package.json's
 * exports/main itself; an explicit entry point is passed as an absolute file.
 */
function programPath(run: ProgramRun): string {
  if (run.entryPoint !== ".") return path.join(run.programDirectory, run.entryPoint);
  return path.resolve(run.programDirectory) === path.resolve(run.pwd) ? "." : run.programDirectory;
}

/** What `Run` answers for the program's exit: nothing, an error, or bail. */
export interface RunOutcome {
  readonly error: string;
  /** The program already told the user what went wrong; the CLI stops without a further message. */
  readonly bail: boolean;
}

// @pulumi/pulumi's cmd/run exits with 32 after it has logged a user-actionable error itself.
const EXIT_AFTER_LOGGED_ERROR = 32;

export function runOutcome(code: number | null, signal: NodeJS.Signals | null): RunOutcome {
  if (code === 0) return { error: "", bail: false };
  if (code === EXIT_AFTER_LOGGED_ERROR) return { error: "", bail: true };
  if (code === null) return { error: `the program was terminated by ${signal ?? "a signal"}`, bail: false };
  return { error: `the program exited with code ${code}`, bail: false };
}
