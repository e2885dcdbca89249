/**
 * The `local` stack under the real Pulumi engine: plinth's own program (infra/index.ts) run by the
 * `pulumi` CLI, plinth's language host and the Kubernetes provider against the local control plane,
 * with a file backend. The project is a scratch folder of links to this checkout, so the stack file
 * (Pulumi.local.yaml), the state and PULUMI_HOME never touch the repository.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse, stringify } from "yaml";
import { LOCAL_BASE_STACK, LOCAL_STACK_OVERRIDES } from "./local-config.js";
import { installedSdkVersion } from "./sdk-version.js";
import { installProviderPlugin, prepareEngineRun, REPO_ROOT, type EngineRun } from "./tools.js";

export const LOCAL_STACK = "local";
/** Longest a single CLI command may run before it is stopped. */
const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** The base stack's other secrets, with local values (nothing reads them on the local cluster). */
const LOCAL_SECRETS = {
  oidcClientSecret: "local-oidc-client-secret",
  slackWebhookUrl: "https://hooks.slack.com/services/local/plinth/test",
};
/** The policy pack's config for the local stack: its base stack's. */
export const LOCAL_PACK_CONFIG = path.join(REPO_ROOT, "policies", "config", `${LOCAL_BASE_STACK}.json`);

/** The Kubernetes provider the test-tools script builds at the @pulumi/kubernetes version (one pin). */
const KUBERNETES_PROVIDER = path.join(REPO_ROOT, ".tools", "bin", "pulumi-resource-kubernetes");

/** What the project folder links to: everything but the stack files, state and scratch output. */
const NOT_LINKED = /^(\.git|\.tools|out|Pulumi\..+\.yaml)$/;

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly stdin?: string;
  readonly timeoutMs?: number;
  /** Extra environment for this run (e.g. PULUMI_ENABLE_STREAMING_JSON_PREVIEW). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface LocalStackProject {
  /** The project folder: Pulumi.yaml and links to the checkout, plus Pulumi.local.yaml. */
  readonly dir: string;
  readonly stackFile: string;
  readonly engine: EngineRun;
  /** Runs `pulumi <args> --stack local` in the project folder; never throws on a non-zero exit. */
  pulumi(args: readonly string[], options?: CliOptions): Promise<CliResult>;
  /**
   * Rewrites the stack file's settings as `localStackConfig(overrides)` gives them, keeping its
   * secrets (and their encryption salt): a config change, as a release or a move is made.
   */
  reconfigure(overrides?: Record<string, unknown>): void;
}

export interface LocalStackOptions {
  /** Scratch folder (created by the caller, removed by the caller). */
  readonly workDir: string;
  /** The cluster-admin kubeconfig of the local control plane: the stack's plinth:kubeconfig. */
  readonly kubeconfig: string;
  /** Extra plinth:* overrides on top of the local stack's (tests that violate on purpose). */
  readonly overrides?: Record<string, unknown>;
  /** Streams the CLI's output lines (progress for a person watching). @default silent */
  readonly log?: (line: string) => void;
}

/** The base stack's file with the local overrides applied (plinth:* keys, each replaced whole). */
export function localStackConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base = parse(readFileSync(path.join(REPO_ROOT, `Pulumi.${LOCAL_BASE_STACK}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  const config = { ...base.config };
  for (const [key, value] of Object.entries({ ...LOCAL_STACK_OVERRIDES, ...extra }))
    config[`plinth:${key}`] = value;
  return config;
}

function runCli(
  engine: EngineRun,
  cwd: string,
  args: readonly string[],
  options: CliOptions & { log?: (line: string) => void },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...engine.env, ...options.env };
    // Its own process group: on a timeout the CLI and every plugin it started are stopped together
    // (SIGINT, as the CLI stops its plugins, then SIGKILL), so none outlives the test's cluster.
    const child = spawn(engine.cli, args, { cwd, env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      stderr += `\n[plinth] pulumi ${args[0]} timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms; stopping it\n`;
      signalGroup("SIGINT");
      killer = setTimeout(() => signalGroup("SIGKILL"), 10_000);
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      options.log?.(chunk.toString().trimEnd());
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
      options.log?.(chunk.toString().trimEnd());
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? "");
  });
}

/**
 * Makes the project folder, writes Pulumi.local.yaml, creates the stack in the file backend and
 * sets its two secrets (the kubeconfig and the OIDC client secret) with `pulumi config set --secret`.
 */
export async function createLocalStackProject(options: LocalStackOptions): Promise<LocalStackProject> {
  const dir = path.join(options.workDir, "project");
  const engine = prepareEngineRun({ workDir: path.join(options.workDir, "engine") });
  installProviderPlugin(engine, "kubernetes", installedSdkVersion("@pulumi/kubernetes"), KUBERNETES_PROVIDER);
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(REPO_ROOT)) {
    if (!NOT_LINKED.test(entry)) symlinkSync(path.join(REPO_ROOT, entry), path.join(dir, entry));
  }
  const stackFile = path.join(dir, `Pulumi.${LOCAL_STACK}.yaml`);
  writeStackFile(stackFile, localStackConfig(options.overrides));
  const pulumi: LocalStackProject["pulumi"] = (args, runOptions = {}) =>
    runCli(engine, dir, [...args, "--stack", LOCAL_STACK, "--non-interactive"], {
      ...runOptions,
      ...(options.log ? { log: options.log } : {}),
    });

  const must = async (args: readonly string[], stdin?: string) => {
    const result = await runCli(engine, dir, args, { ...(stdin === undefined ? {} : { stdin }) });
    if (result.code !== 0)
      throw new Error(`pulumi ${args.join(" ")} failed (${result.code}):\n${result.stderr}${result.stdout}`);
  };
  await must(["stack", "init", LOCAL_STACK, "--non-interactive"]);
  // The value comes on stdin, so neither secret appears in a process list.
  await must(["config", "set", "--secret", "plinth:kubeconfig", "--stack", LOCAL_STACK], options.kubeconfig);
  for (const [key, value] of Object.entries(LOCAL_SECRETS)) {
    await must(["config", "set", "--secret", `plinth:${key}`, "--stack", LOCAL_STACK], value);
  }
  const reconfigure = (overrides: Record<string, unknown> = {}) => {
    const { config: was, ...rest } = parse(readFileSync(stackFile, "utf8")) as {
      config: Record<string, unknown>;
    };
    const secrets = Object.entries(was).filter(
      ([, value]) => typeof value === "object" && value !== null && "secure" in value,
    );
    writeStackFile(stackFile, { ...localStackConfig(overrides), ...Object.fromEntries(secrets) }, rest);
  };
  return { dir, stackFile, engine, pulumi, reconfigure };
}

function writeStackFile(file: string, config: Record<string, unknown>, rest: Record<string, unknown> = {}) {
  writeFileSync(
    file,
    `# The local stack: ${LOCAL_BASE_STACK} on the local control plane (stack/engine/local-config.ts).\n` +
      stringify({ ...rest, config }),
  );
}
