/**
 * The README's "Deploy your own model" steps, run as written by a new user on a copy of the
 * repository: export a scikit-learn model to ONNX (Python, the models venv stands in for the user's
 * `pip install scikit-learn skl2onnx`), describe it, register it in the local registry, add it to
 * Pulumi.staging.yaml under plinth:inference.models, start `npm run stack:local -- --stack-file
 * Pulumi.staging.yaml` and call it through the edge (Traefik) with the key and CA the stack printed. The bundled
 * model keeps answering beside it. The blocks are found by their `<!-- walkthrough: <step> -->`
 * markers, so an edit of the README is what this test runs.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cp, mkdtemp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseDocument } from "yaml";
import { validateStackText } from "../../infra/promote/stack-file.js";
import { modelsVenvPython } from "../support/third-party-models.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const STEPS = ["export", "config", "register", "stack", "local", "call"] as const;
type Step = (typeof STEPS)[number];
/** stack:local's first start runs MLflow's migrations and builds the service. */
const START_TIMEOUT_MS = 240_000;

/** The fenced block after each `<!-- walkthrough: <step> ... -->` marker, its indentation removed. */
export function walkthroughBlocks(readme: string): Record<Step, string> {
  const blocks: Partial<Record<Step, string>> = {};
  const marker = /<!-- walkthrough: (\w+)[^>]*-->\s*\n([ \t]*)```[^\n]*\n([\s\S]*?)\n[ \t]*```/g;
  for (const [, step, indent, body] of readme.matchAll(marker)) {
    if (!(STEPS as readonly string[]).includes(step!)) throw new Error(`unknown walkthrough step ${step}`);
    blocks[step as Step] = body!
      .split("\n")
      .map((line) => (line.startsWith(indent!) ? line.slice(indent!.length) : line))
      .join("\n");
  }
  const missing = STEPS.filter((step) => blocks[step] === undefined);
  if (missing.length > 0) throw new Error(`README.md has no walkthrough block for ${missing.join(", ")}`);
  return blocks as Record<Step, string>;
}

/** A copy of the repository's tracked files, sharing its installed packages and test tools. */
async function copyOfRepository(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "plinth-walkthrough-"));
  // Tracked and untracked-but-not-ignored files: what a clone of this working tree would hold.
  const tracked = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: REPO,
    encoding: "utf8",
  });
  if (tracked.status !== 0) throw new Error(`git ls-files: ${tracked.stderr}`);
  for (const file of tracked.stdout.split("\0").filter(Boolean)) {
    await mkdir(path.join(dir, path.dirname(file)), { recursive: true });
    await cp(path.join(REPO, file), path.join(dir, file));
  }
  for (const shared of ["node_modules", ".tools"])
    await symlink(path.join(REPO, shared), path.join(dir, shared));
  return dir;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, ...env } });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited ${result.status}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Starts stack:local as the README says and waits for its summary: the key and the CA file. */
function startStack(cwd: string, command: string): Promise<{ child: ChildProcess; key: string; ca: string }> {
  const child = spawn("bash", ["-c", `exec ${command}`], { cwd, detached: true, env: { ...process.env } });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`stack:local did not come up in ${START_TIMEOUT_MS} ms:\n${output.slice(-4000)}`)),
      START_TIMEOUT_MS,
    );
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const key = /API key \(x-api-key\)\s+(\S+)/.exec(output)?.[1];
      const ca = /CA: (\S+)/.exec(output)?.[1];
      if (output.includes("plinth local stack is up") && key && ca) {
        clearTimeout(timer);
        resolve({ child, key, ca });
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`stack:local exited ${code} before it was up:\n${output.slice(-4000)}`));
    });
  });
}

let work: string;
let blocks: Record<Step, string>;
let stack: { child: ChildProcess; key: string; ca: string } | undefined;

beforeAll(async () => {
  blocks = walkthroughBlocks(await readFile(path.join(REPO, "README.md"), "utf8"));
  work = await copyOfRepository();
}, 120_000);

afterAll(async () => {
  if (stack?.child.pid !== undefined) {
    process.kill(-stack.child.pid, "SIGTERM");
    await new Promise((resolve) => stack!.child.once("exit", resolve));
  }
  if (work) await rm(work, { recursive: true, force: true });
}, 60_000);

describe("the README's deploy-your-own-model steps, as written", () => {
  it("1-2: exports a scikit-learn classifier to ONNX and describes it", async () => {
    await writeFile(path.join(work, "export.py"), blocks.export);
    run(modelsVenvPython(), ["export.py"], work);
    await writeFile(path.join(work, "model-config.json"), blocks.config);
    const config = JSON.parse(await readFile(path.join(work, "model-config.json"), "utf8")) as {
      labels: string[];
    };
    expect(config.labels).toEqual(["setosa", "versicolor", "virginica"]);
    expect((await readFile(path.join(work, "model.onnx"))).length).toBeGreaterThan(1000);
  });

  it("3: registers it in the local registry, champion pointing at version 1", async () => {
    run("bash", ["-euo", "pipefail", "-c", blocks.register], work);
    const aliases = JSON.parse(
      await readFile(path.join(work, "models/iris/aliases.json"), "utf8"),
    ) as unknown;
    expect(aliases).toEqual({ champion: "1" });
  });

  it("4: adds it to the stack file beside the bundled model, which stays the default", async () => {
    const file = path.join(work, "Pulumi.staging.yaml");
    const document = parseDocument(await readFile(file, "utf8"));
    const entry = parse(blocks.stack) as Record<string, unknown>;
    expect(Object.keys(entry)).toEqual(["iris"]);
    document.setIn(["config", "plinth:inference", "models", "iris"], entry.iris);
    await writeFile(file, document.toString());
    const config = validateStackText(await readFile(file, "utf8"), file);
    expect(Object.keys(config.inference.models)).toEqual([config.inference.defaultModel, "iris"]);
    expect(config.inference.models.iris?.rollout.stable.modelVersion).toBe("champion");
  });

  it(
    "5: serves it on the local stack by its name, the bundled model still on the bare routes",
    async () => {
      stack = await startStack(work, blocks.local);
      const answer = run("bash", ["-euo", "pipefail", "-c", blocks.call], work, {
        KEY: stack.key,
        CA: stack.ca,
      });
      const body = JSON.parse(answer) as { predictions: { label: string }[] };
      expect(body.predictions.map((p) => p.label)).toEqual(["setosa"]);

      const bundled = run(
        "curl",
        [
          "-s",
          "--cacert",
          stack.ca,
          "-H",
          `x-api-key: ${stack.key}`,
          "-H",
          "content-type: image/png",
          "--data-binary",
          "@samples/fashion-mnist/0000-ankle-boot.png",
          "https://127.0.0.1:8443/predict-image",
        ],
        work,
      );
      expect((JSON.parse(bundled) as { predictions: { label: string }[] }).predictions[0]!.label).toBe(
        "Ankle boot",
      );
    },
    START_TIMEOUT_MS + 60_000,
  );
});
