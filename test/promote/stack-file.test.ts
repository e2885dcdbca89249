/**
 * Editing Pulumi.<stack>.yaml: only the rollout block changes, comments and key order survive,
 * every byte outside the block is the original's, and an edit the schema rejects is never written.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { StackConfigError } from "../../infra/config/load.js";
import {
  readStackFile,
  renderRolloutEdit,
  StackFileError,
  validateStackText,
  writeAtomically,
  type StackFile,
} from "../../infra/promote/stack-file.js";
import type { Rollout } from "../../infra/promote/transitions.js";
import { singleModelStackText } from "../support/single-model-stack.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const repoFile = (stack: string) => readStackFile(path.join(REPO, `Pulumi.${stack}.yaml`));
/** Where the shipped files' one model's rollout sits. */
const ROLLOUT = "plinth:inference.models.fashion-classifier.rollout";

/** The lines of `a` and `b` that differ, as [line number, before, after]. */
function changedLines(a: string, b: string): [number, string, string][] {
  const left = a.split("\n");
  const right = b.split("\n");
  expect(right).toHaveLength(left.length);
  return left.flatMap((line, i) =>
    line === right[i] ? [] : [[i + 1, line, right[i]!] as [number, string, string]],
  );
}

describe("reading", () => {
  it("returns the rollout as written and the validated config with the gate defaults", async () => {
    const staging = await repoFile("staging");
    expect(staging.rollout).toEqual({
      strategy: "canary",
      stable: { modelVersion: "champion" },
      candidate: { modelVersion: "challenger", weight: 20 },
    });
    expect(staging.config.inference.models["fashion-classifier"]!.rollout.gates).toEqual({
      window: "10m",
      minRequests: 200,
      maxErrorRate: 0.01,
      maxLatencyRatio: 1.25,
      latencyToleranceSeconds: 0.005,
      maxDriftScore: 0.25,
      minShadowAgreement: 0.9,
      weightLadder: [10, 25, 50, 100],
    });
  });

  it("names the file when it does not exist", async () => {
    await expect(readStackFile("/nonexistent/Pulumi.qa.yaml")).rejects.toThrow(
      new StackFileError("/nonexistent/Pulumi.qa.yaml: no such stack file (is --stack right?)"),
    );
  });
});

/** The lines a canary step to weight 25 changes in `file`. */
function weight25Changes(file: StackFile) {
  const text = renderRolloutEdit(file, {
    ...file.rollout,
    candidate: { modelVersion: "challenger", weight: 25 },
  });
  return changedLines(file.text, text);
}

describe("editing keeps everything else byte for byte", () => {
  it("a weight change touches one line", async () => {
    expect(weight25Changes(await repoFile("staging"))).toEqual([
      [
        expect.any(Number),
        "          candidate: { modelVersion: challenger, weight: 20 }",
        "          candidate: { modelVersion: challenger, weight: 25 }",
      ],
    ]);
  });

  it("a weight change touches one line in the earlier single-model shape too", async () => {
    const shipped = await repoFile("staging");
    const file = path.join(await mkdtemp(path.join(tmpdir(), "plinth-stack-file-")), "Pulumi.staging.yaml");
    await writeFile(file, singleModelStackText(shipped.text));
    try {
      const staging = await readStackFile(file);
      expect(staging.location.at).toBe("plinth:inference.rollout");
      expect(weight25Changes(staging)).toEqual([
        [
          expect.any(Number),
          "      candidate: { modelVersion: challenger, weight: 20 }",
          "      candidate: { modelVersion: challenger, weight: 25 }",
        ],
      ]);
    } finally {
      await rm(path.dirname(file), { recursive: true, force: true });
    }
  });

  it("values the step leaves alone keep their bytes, in a spacing the yaml package would not write", async () => {
    const staging = await repoFile("staging");
    const text = staging.text
      .replace(
        "          stable: { modelVersion: champion }\n",
        "          stable: {modelVersion: champion}\n",
      )
      .replace(
        "            # weightLadder: [10, 25, 50, 100]\n",
        "            weightLadder: [10,  25, 50, 100]\n",
      );
    expect(text).not.toBe(staging.text);
    const edited = renderRolloutEdit(
      { ...staging, text },
      {
        ...staging.rollout,
        candidate: { modelVersion: "challenger", weight: 25 },
      },
    );
    expect(changedLines(text, edited)).toEqual([
      [
        expect.any(Number),
        "          candidate: { modelVersion: challenger, weight: 20 }",
        "          candidate: { modelVersion: challenger, weight: 25 }",
      ],
    ]);
  });

  it("a blue-green switch touches one line and keeps the quoted versions", async () => {
    const production = await repoFile("production");
    const after: Rollout = {
      ...production.rollout,
      blueGreen: { ...production.rollout.blueGreen!, active: "green" },
    };
    const text = renderRolloutEdit(production, after);
    expect(changedLines(production.text, text)).toEqual([
      [expect.any(Number), "            active: blue", "            active: green"],
    ]);
    expect(text).toContain('            green: { modelVersion: "7" }');
  });

  it("a promote removes the candidate line only; the gates and their comments stay", async () => {
    const staging = await repoFile("staging");
    const text = renderRolloutEdit(staging, { strategy: "single", stable: { modelVersion: "challenger" } });
    const removed = staging.text
      .replace("          strategy: canary\n", "          strategy: single\n")
      .replace(
        "          stable: { modelVersion: champion }\n",
        "          stable: { modelVersion: challenger }\n",
      )
      .replace("          candidate: { modelVersion: challenger, weight: 20 }\n", "");
    expect(text).toBe(removed);
  });

  it("a new candidate goes before the gates, in the file's inline style", async () => {
    const staging = await repoFile("staging");
    const single = renderRolloutEdit(staging, { strategy: "single", stable: { modelVersion: "6" } });
    const canary = renderRolloutEdit(
      {
        path: staging.path,
        location: staging.location,
        text: single,
        rollout: { strategy: "single", stable: { modelVersion: "6" } },
      },
      { strategy: "canary", stable: { modelVersion: "6" }, candidate: { modelVersion: "7", weight: 10 } },
    );
    expect(canary).toContain(
      [
        "        rollout:",
        "          strategy: canary",
        '          stable: { modelVersion: "6" }',
        '          candidate: { modelVersion: "7", weight: 10 }',
        "          # What `npm run promote` requires of live metrics before it writes a step (docs/operations.md,",
      ].join("\n"),
    );
    const outside = (text: string) =>
      text.slice(0, text.indexOf("        rollout:")) + text.slice(text.indexOf("        drift:"));
    expect(outside(canary)).toBe(outside(staging.text));
  });

  it("refuses a rollout written as an inline mapping, which it could not edit in place", async () => {
    const staging = await repoFile("staging");
    const inline = staging.text.replace(
      / {8}rollout:\n(?: {10}.*\n)+/,
      "        rollout: { strategy: single, stable: { modelVersion: champion } }\n",
    );
    expect(() =>
      renderRolloutEdit({ ...staging, text: inline }, { strategy: "single", stable: { modelVersion: "7" } }),
    ).toThrow(`${staging.path}: ${ROLLOUT} must be a block mapping to be edited`);
  });
});

describe("validation before writing", () => {
  it("reads a stack file as the Pulumi CLI rewrites it: top-level scalars quoted as strings", async () => {
    // What `pulumi config set` leaves behind: every top-level scalar re-serialised as a string.
    const staging = await repoFile("staging");
    const rewritten = staging.text.replace("plinth:protect: false", 'plinth:protect: "false"');
    expect(rewritten).not.toBe(staging.text);
    expect(validateStackText(rewritten, staging.path).protect).toBe(false);
    const wrong = staging.text.replace("plinth:protect: false", 'plinth:protect: "no"');
    expect(() => validateStackText(wrong, staging.path)).toThrow("plinth:protect: expected true or false");
  });

  it("rejects an edit the stack schema rejects, naming the config path", async () => {
    const staging = await repoFile("staging");
    const text = renderRolloutEdit(staging, { strategy: "canary", stable: { modelVersion: "champion" } });
    let problems: readonly string[] = [];
    try {
      validateStackText(text, staging.path);
    } catch (err) {
      if (err instanceof StackConfigError) problems = err.problems;
    }
    expect(problems).toEqual([`${ROLLOUT}.candidate: required when strategy is canary`]);
  });

  it.each([
    [{ weightLadder: [25, 10, 100] }, `${ROLLOUT}.gates.weightLadder: expected strictly increasing weights`],
    [{ weightLadder: [10, 50] }, `${ROLLOUT}.gates.weightLadder: expected the last weight to be 100`],
    [{ maxErrorRate: 2 }, `${ROLLOUT}.gates.maxErrorRate: expected a number between 0 and 1`],
    [{ window: "ten minutes" }, `${ROLLOUT}.gates.window: expected a Prometheus duration such as "10m"`],
    [{ minRequests: 0 }, `${ROLLOUT}.gates.minRequests: expected an integer between 1 and 100000000`],
    [{ maxLatencyRatio: 0.5 }, `${ROLLOUT}.gates.maxLatencyRatio: expected a number between 1 and 100`],
    [{ retries: 3 }, `${ROLLOUT}.gates.retries: unknown key`],
  ])("gates %j: %s", async (gates, message) => {
    const staging = await repoFile("staging");
    const document = parseDocument(staging.text);
    for (const [key, value] of Object.entries(gates)) {
      document.setIn(
        ["config", "plinth:inference", "models", "fashion-classifier", "rollout", "gates", key],
        value,
      );
    }
    expect(() => validateStackText(document.toString(), staging.path)).toThrow(message);
  });

  it("reports a file that is not YAML", () => {
    expect(() => validateStackText("config: [", "Pulumi.x.yaml")).toThrow(
      /^Pulumi\.x\.yaml: not valid YAML: /,
    );
  });
});

describe("atomic write", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "plinth-stack-file-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("replaces the file and leaves no temporary file behind", async () => {
    const file = path.join(dir, "Pulumi.qa.yaml");
    await writeFile(file, "old\n");
    await writeAtomically(file, "new\n");
    expect(await readFile(file, "utf8")).toBe("new\n");
    expect(await readdir(dir)).toEqual(["Pulumi.qa.yaml"]);
  });

  it("leaves the old file and no temporary file when the target cannot be replaced", async () => {
    const target = path.join(dir, "Pulumi.qa.yaml");
    await writeFile(path.join(dir, "keep"), "x");
    await mkdir(path.join(target, "blocker"), { recursive: true }); // a non-empty directory: rename fails
    await expect(writeAtomically(target, "new\n")).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(["Pulumi.qa.yaml", "keep"]);
  });
});
