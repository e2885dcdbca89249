/**
 * plinth's language host (stack/engine/language-host) and random provider (stack/engine/random-provider)
 * under the real Pulumi CLI: a small TypeScript ESM program run through `nodeargs: --import tsx`,
 * with plain and secret config, a RandomPassword, and a policy pack loaded through RunPlugin. Every
 * command runs the real engine against a file backend in a scratch directory. Without the CLI the
 * suite fails, naming scripts/install-test-tools.sh.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseHostArgs } from "../../stack/engine/language-host/host-args.js";
import { INSPECT_GUARD_NODE_ARGS } from "../../stack/engine/language-host/inspect-guard.js";
import { pluginCommand } from "../../stack/engine/language-host/plugin-command.js";
import {
  programCommand,
  runOutcome,
  type ProgramRun,
} from "../../stack/engine/language-host/program-command.js";
import { parseRuntimeOptions } from "../../stack/engine/language-host/runtime-options.js";
import { checkPasswordInputs } from "../../stack/engine/random-provider/password-inputs.js";
import { generatePassword, type PasswordSpec } from "../../stack/engine/random-provider/password.js";
import { prepareEngineRun, REPO_ROOT, type EngineRun } from "../../stack/engine/tools.js";

const PROJECT = "plinth-engine-test";
const STACK = "dev";
const CLI_TIMEOUT_MS = 240_000;
const SECRET_SIGNATURE = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

const config = new pulumi.Config();
if (config.getBoolean("fail")) throw new Error("engine-test: the program was asked to fail");
const token = config.requireSecret("token");

const password = new random.RandomPassword("password", {
  length: config.requireNumber("length"),
  special: false,
  minNumeric: 2,
  keepers: { rotation: config.get("rotation") ?? "1" },
});
console.log("engine-test program ran");

export const passwordResult = password.result;
export const greeting = config.require("greeting");
export const tokenLength = token.apply((value) => value.length);
`;

const POLICY_PACK = `import { PolicyPack, validateResourceOfType } from "@pulumi/policy";
import * as random from "@pulumi/random";

new PolicyPack("engine-test-policies", {
  policies: [
    {
      name: "password-min-length",
      description: "Passwords have at least 20 characters.",
      enforcementLevel: "mandatory",
      validateResource: validateResourceOfType(random.RandomPassword, (password, _args, reportViolation) => {
        if (password.length < 20) reportViolation(\`password length \${password.length} is below 20\`);
      }),
    },
  ],
});
`;

const RUNTIME_YAML = `runtime:
  name: nodejs
  options:
    typescript: false
    nodeargs: "--import tsx"
`;

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

let workDir: string;
let run: EngineRun;
let projectDir: string;
let packDir: string;

function pulumi(args: readonly string[]): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(run.cli, [...args, "--color", "never"], { cwd: projectDir, env: run.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      const seconds = Math.round((performance.now() - started) / 100) / 10;
      console.info(`pulumi ${args.join(" ")}: exit ${code}, ${seconds} s`);
      resolve({ code, stdout, stderr, seconds });
    });
  });
}

async function pulumiOk(args: readonly string[]): Promise<CliResult> {
  const result = await pulumi(args);
  expect(result.code, `pulumi ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

async function stackOutputs(showSecrets: boolean): Promise<Record<string, unknown>> {
  const result = await pulumiOk(["stack", "output", "--json", ...(showSecrets ? ["--show-secrets"] : [])]);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

interface StateResource {
  readonly type: string;
  readonly id?: string;
  readonly outputs?: Record<string, unknown>;
}

function stateFileText(): string {
  return readFileSync(path.join(workDir, "state", ".pulumi", "stacks", PROJECT, `${STACK}.json`), "utf8");
}

function stateResources(): StateResource[] {
  const state = JSON.parse(stateFileText()) as { checkpoint: { latest?: { resources?: StateResource[] } } };
  return state.checkpoint.latest?.resources ?? [];
}

function writeProject(): void {
  projectDir = path.join(workDir, "project");
  packDir = path.join(workDir, "policy-pack");
  for (const dir of [projectDir, packDir]) {
    mkdirSync(dir, { recursive: true });
    // The repository's dependencies, as a program checked out beside them would resolve them.
    symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
  }
  writeFileSync(path.join(projectDir, "Pulumi.yaml"), `name: ${PROJECT}\n${RUNTIME_YAML}main: index.ts\n`);
  writeFileSync(
    path.join(projectDir, "package.json"),
    JSON.stringify({
      name: PROJECT,
      type: "module",
      dependencies: { "@pulumi/pulumi": "*", "@pulumi/random": "*" },
    }),
  );
  writeFileSync(path.join(projectDir, "index.ts"), PROGRAM);
  writeFileSync(path.join(packDir, "PulumiPolicy.yaml"), `${RUNTIME_YAML}description: engine test pack\n`);
  writeFileSync(
    path.join(packDir, "package.json"),
    JSON.stringify({ name: "engine-test-policies", version: "0.0.1", type: "module", main: "index.ts" }),
  );
  writeFileSync(path.join(packDir, "index.ts"), POLICY_PACK);
}

describe("the real Pulumi engine with plinth's language host and random provider", () => {
  beforeAll(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), "plinth-engine-"));
    // Throws "... run `bash scripts/install-test-tools.sh`" when the CLI is not installed.
    run = prepareEngineRun({ workDir, passphrase: "engine-test" });
    writeProject();
    await pulumiOk(["stack", "init", STACK]);
    await pulumiOk(["config", "set", "length", "24"]);
    await pulumiOk(["config", "set", "greeting", "hello from config"]);
    await pulumiOk(["config", "set", "--secret", "token", "s3cret-token-value"]);
  }, CLI_TIMEOUT_MS);

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it(
    "previews the program with a passing policy pack: the stack and the password are planned",
    async () => {
      const result = await pulumiOk(["preview", "--json", "--policy-pack", packDir]);
      const preview = JSON.parse(result.stdout) as {
        steps: { op: string; urn: string }[];
        diagnostics?: { message: string }[];
      };
      expect(preview.steps.map((step) => [step.op, step.urn.split("::").slice(2).join("::")])).toEqual([
        ["create", `pulumi:pulumi:Stack::${PROJECT}-${STACK}`],
        ["create", "random:index/randomPassword:RandomPassword::password"],
      ]);
      expect(preview.diagnostics?.map((d) => d.message).join("")).toContain("engine-test program ran");
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "up creates the password from config: its length and charset, and outputs secret in the state",
    async () => {
      await pulumiOk(["up", "--yes", "--skip-preview", "--non-interactive"]);
      const outputs = await stackOutputs(true);
      const password = String(outputs["passwordResult"]);
      expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
      expect(password.replace(/\D/g, "").length).toBeGreaterThanOrEqual(2);
      expect(outputs["greeting"]).toBe("hello from config");
      expect(outputs["tokenLength"]).toBe("s3cret-token-value".length);

      const hidden = await stackOutputs(false);
      expect(hidden["passwordResult"]).toBe("[secret]");
      expect(hidden["tokenLength"]).toBe("[secret]");

      const resources = stateResources();
      const passwordState = resources.find((r) => r.type === "random:index/randomPassword:RandomPassword");
      expect(passwordState?.id).toBe("none");
      expect(passwordState?.outputs).toMatchObject({
        length: 24,
        special: false,
        upper: true,
        lower: true,
        numeric: true,
        minNumeric: 2,
        keepers: { rotation: "1" },
        result: { ...SECRET_SIGNATURE, ciphertext: expect.any(String) },
      });
      const stackState = resources.find((r) => r.type === "pulumi:pulumi:Stack");
      expect(stackState?.outputs?.["passwordResult"]).toMatchObject(SECRET_SIGNATURE);
      expect(stackState?.outputs?.["greeting"]).toBe("hello from config");
      expect(stateFileText()).not.toContain(password);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "a second up changes nothing and keeps the password",
    async () => {
      const before = await stackOutputs(true);
      const result = await pulumiOk(["up", "--yes", "--skip-preview", "--non-interactive"]);
      expect(result.stdout).toMatch(/2 unchanged/);
      expect(result.stdout).not.toMatch(/created|replaced|updated/);
      expect((await stackOutputs(true))["passwordResult"]).toBe(before["passwordResult"]);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "a keepers change replaces the password",
    async () => {
      const before = String((await stackOutputs(true))["passwordResult"]);
      await pulumiOk(["config", "set", "rotation", "2"]);
      const result = await pulumiOk(["up", "--yes", "--skip-preview", "--non-interactive"]);
      expect(result.stdout).toMatch(/1 replaced/);
      const after = String((await stackOutputs(true))["passwordResult"]);
      expect(after).toMatch(/^[A-Za-z0-9]{24}$/);
      expect(after).not.toBe(before);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "a mandatory policy fails the preview with its message",
    async () => {
      await pulumiOk(["config", "set", "length", "12"]);
      const result = await pulumi(["preview", "--non-interactive", "--policy-pack", packDir]);
      await pulumiOk(["config", "set", "length", "24"]);
      expect(result.code).not.toBe(0);
      expect(result.stdout).toContain("engine-test-policies@v0.0.1");
      expect(result.stdout).toMatch(/\[mandatory\]\s+password-min-length/);
      expect(result.stdout).toContain("password length 12 is below 20");
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "a program that throws fails with its error, reported once",
    async () => {
      await pulumiOk(["config", "set", "fail", "true"]);
      const result = await pulumi(["preview", "--non-interactive"]);
      await pulumiOk(["config", "rm", "fail"]);
      expect(result.code).not.toBe(0);
      const output = result.stdout + result.stderr;
      expect(output.match(/engine-test: the program was asked to fail/g)).toHaveLength(1);
      expect(output).toContain("failed with an unhandled exception");
      // The program logged its error (exit 32): the host bails, the CLI adds no generic message.
      expect(output).not.toContain("the program exited with code");
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "destroy removes everything",
    async () => {
      await pulumiOk(["destroy", "--yes", "--skip-preview", "--non-interactive"]);
      expect(stateResources()).toEqual([]);
      expect(await stackOutputs(false)).toEqual({});
    },
    CLI_TIMEOUT_MS,
  );
});

describe("the language host's commands", () => {
  const options = parseRuntimeOptions({ typescript: false, nodeargs: "--import tsx" });
  const run: ProgramRun = {
    project: "p",
    stack: "dev",
    organization: "organization",
    pwd: "/repo",
    rootDirectory: "/repo",
    programDirectory: "/repo/infra",
    entryPoint: "index.ts",
    args: ["extra"],
    config: new Map([
      ["p:plain", "1"],
      ["p:token", "t"],
    ]),
    configSecretKeys: ["p:token"],
    dryRun: true,
    parallel: 8,
    monitorAddress: "127.0.0.1:1",
    engineAddress: "127.0.0.1:2",
    tracing: undefined,
    options,
  };

  it("reads the engine address and flags the CLI launches the host with", () => {
    const args = parseHostArgs(["--logtostderr", "-v=9", "--tracing", "http://t", "127.0.0.1:5"]);
    expect(args.engineAddress).toBe("127.0.0.1:5");
    expect(args.tracing).toBe("http://t");
    expect(args.flags.get("v")).toBe("9");
  });

  it("runs cmd/run with the project's nodeargs, the program's flags and its config in the environment", () => {
    const command = programCommand(run, "/sdk", { HOME: "/home" }, "/bin/node");
    expect(command.command).toBe("/bin/node");
    expect(command.args.slice(INSPECT_GUARD_NODE_ARGS.length)).toEqual([
      "--import",
      "tsx",
      "/sdk/cmd/run/index.js",
      "--monitor=127.0.0.1:1",
      "--engine=127.0.0.1:2",
      "--project=p",
      "--stack=dev",
      "--pwd=/repo",
      "--root-directory=/repo",
      "--organization=organization",
      "--dry-run",
      "--parallel=8",
      "/repo/infra/index.ts",
      "extra",
    ]);
    expect(JSON.parse(command.env["PULUMI_CONFIG"] ?? "")).toEqual({ "p:plain": "1", "p:token": "t" });
    expect(JSON.parse(command.env["PULUMI_CONFIG_SECRET_KEYS"] ?? "")).toEqual(["p:token"]);
    expect(command.env["PULUMI_NODEJS_TYPESCRIPT"]).toBe("false");
    expect(command.env["HOME"]).toBe("/home");
  });

  it("answers bail for exit code 32 (the program reported its error) and an error otherwise", () => {
    expect(runOutcome(0, null)).toEqual({ error: "", bail: false });
    expect(runOutcome(32, null)).toEqual({ error: "", bail: true });
    expect(runOutcome(1, null).error).toMatch(/exited with code 1/);
    expect(runOutcome(null, "SIGKILL").error).toMatch(/SIGKILL/);
  });

  it("runs a policy pack on its own cmd/run-policy-pack, the pack directory last, ts-node out of tsx's way", () => {
    const command = pluginCommand(
      { kind: "analyzer", programDirectory: "/pack", args: ["127.0.0.1:3"], env: ["A=1", "B=x=y"], options },
      "/sdk",
      "/bin/node",
    );
    expect(command.args.slice(INSPECT_GUARD_NODE_ARGS.length)).toEqual([
      "--import",
      "tsx",
      "/sdk/cmd/run-policy-pack/index.js",
      "127.0.0.1:3",
      "/pack",
    ]);
    expect(command.cwd).toBe("/pack");
    expect(command.env).toEqual({ A: "1", B: "x=y", TS_NODE_IGNORE: "." });
  });

  it("guards programs against Node's coloured util.inspect loop on node_modules/@scope/<file> frames", () => {
    const script = `
      const util = require("node:util");
      const error = new Error("boom");
      error.stack = "Error: boom\\n    at f (/app/node_modules/@pulumi/resource.ts:1:2)";
      process.stdout.write(util.inspect(error, { colors: true }));`;
    const output = execFileSync(process.execPath, [...INSPECT_GUARD_NODE_ARGS, "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(output).toBe("Error: boom\n    at f (/app/node_modules/@pulumi/resource.ts:1:2)");
  });
});

describe("plinth's RandomPassword", () => {
  const spec: PasswordSpec = {
    length: 40,
    upper: true,
    lower: true,
    numeric: true,
    special: true,
    overrideSpecial: "_%@",
    minUpper: 3,
    minLower: 3,
    minNumeric: 5,
    minSpecial: 4,
  };

  it("has the length, the minimum of each class, and only the allowed characters", () => {
    for (let i = 0; i < 50; i++) {
      const password = generatePassword(spec);
      expect(password).toHaveLength(40);
      expect(password).toMatch(/^[A-Za-z0-9_%@]+$/);
      expect(password.replace(/[^A-Z]/g, "").length).toBeGreaterThanOrEqual(3);
      expect(password.replace(/[^a-z]/g, "").length).toBeGreaterThanOrEqual(3);
      expect(password.replace(/[^0-9]/g, "").length).toBeGreaterThanOrEqual(5);
      expect(password.replace(/[^_%@]/g, "").length).toBeGreaterThanOrEqual(4);
    }
  });

  it("draws only from the enabled classes", () => {
    const password = generatePassword({ ...spec, special: false, minSpecial: 0, upper: false, minUpper: 0 });
    expect(password).toMatch(/^[a-z0-9]{40}$/);
  });

  it("fills defaults and rejects impossible inputs in Check", () => {
    expect(checkPasswordInputs({ length: 16 })).toEqual({
      inputs: {
        length: 16,
        lower: true,
        upper: true,
        special: true,
        numeric: true,
        number: true,
        minLower: 0,
        minNumeric: 0,
        minSpecial: 0,
        minUpper: 0,
      },
      failures: [],
    });
    expect(checkPasswordInputs({ length: 4, minUpper: 3, minLower: 3 }).failures[0]?.reason).toMatch(
      /at least the sum of the minimums \(6\)/,
    );
    expect(checkPasswordInputs({}).failures).toEqual([{ property: "length", reason: "length is required" }]);
  });
});
