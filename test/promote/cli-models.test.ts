/**
 * `npm run promote -- --model <name>` on a stack serving several models: which model's rollout a
 * step moves (and nothing else, byte for byte), when --model is required, rollback and recheck per
 * model in the audit log, and the gates reading that model's metrics only (its metrics Service).
 * A single-model stack file (the earlier shape) keeps working with and without --model.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SLO_ROUTES } from "../../components/monitoring/rules.js";
import type { ScalarSource } from "../../infra/promote/gates.js";
import type { MetricsSource } from "../../infra/promote/main.js";
import { singleModelStackText } from "../support/single-model-stack.js";
import { auditEntries, runPromote } from "./harness.js";
import { multiModelStackText, ROLLOUT_BLOCKS } from "./multi-model-stack.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
let dir: string;
/** The three-model stack file as the test wrote it. */
let original: string;
/** Pulumi.staging.yaml in the earlier single-model shape, as the test wrote it (stack `staging`). */
let singleModel: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "plinth-promote-models-"));
  original = await multiModelStackText();
  await writeFile(path.join(dir, "Pulumi.multi.yaml"), original);
  singleModel = singleModelStackText(await readFile(path.join(REPO, "Pulumi.staging.yaml"), "utf8"));
  await writeFile(path.join(dir, "Pulumi.staging.yaml"), singleModel);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const run = (argv: string[], metrics?: MetricsSource) => runPromote(dir, argv, metrics ? { metrics } : {});

const stackPath = (stack: string) => path.join(dir, `Pulumi.${stack}.yaml`);
const stackText = (stack: string) => readFile(stackPath(stack), "utf8");
const auditPath = () => path.join(dir, "releases/audit.jsonl");
const audit = () => auditEntries(dir);

/** churn's rollout after `--canary 2 --weight 2` (and at 10 after `--weight 10`). */
const churnCanary = (weight: number) =>
  ROLLOUT_BLOCKS.churn
    .replace("strategy: single", "strategy: canary")
    .replace(
      '{ modelVersion: "1" }\n',
      `{ modelVersion: "1" }\n          candidate: { modelVersion: "2", weight: ${weight} }\n`,
    );
/** defects' rollout after `--canary 4 --weight 10` from its shadow. */
const DEFECTS_CANARY = [
  "          strategy: canary",
  '          stable: { modelVersion: "3" }',
  '          candidate: { modelVersion: "4", weight: 10 }',
  "          gates: { window: 15m }",
  "",
].join("\n");

describe("a step moves the chosen model's rollout only", () => {
  it("--model churn --canary 2: the file is the original with churn's rollout block replaced, nothing else", async () => {
    const result = await run(["--stack", "multi", "--model", "churn", "--canary", "2", "--weight", "2"]);
    expect(result.code).toBe(0);
    expect(result.out).toContain(
      `promote --canary 2 --weight 2 on stack multi, model churn (${stackPath("multi")}, plinth:inference.models.churn.rollout)`,
    );
    const text = await stackText("multi");
    // Byte level: the text before churn's block and after it is the original's, exactly.
    const start = original.indexOf(ROLLOUT_BLOCKS.churn);
    const before = original.slice(0, start);
    const after = original.slice(start + ROLLOUT_BLOCKS.churn.length);
    expect(text.startsWith(before)).toBe(true);
    expect(text.endsWith(after)).toBe(true);
    expect(text.slice(before.length, text.length - after.length)).toBe(churnCanary(2));
    // So the other two models' rollout blocks are byte for byte the original's.
    expect(before).toContain(`        rollout:\n${ROLLOUT_BLOCKS["fashion-mnist"]}        drift:\n`);
    expect(after).toContain(`        rollout:\n${ROLLOUT_BLOCKS.defects}  plinth:mlflow:\n`);
    expect(text).toBe(await multiModelStackText({ churn: churnCanary(2) }));
    const [entry] = await audit();
    expect(entry).toMatchObject({
      stack: "multi",
      model: "churn",
      kind: "canary",
      step: "--canary 2 --weight 2",
      before: { strategy: "single", stable: { modelVersion: "1" } },
      after: { strategy: "canary", candidate: { modelVersion: "2", weight: 2 } },
      gateSet: null,
      forced: false,
    });
  });

  it("reads the ladder and the messages from the chosen model's rollout", async () => {
    // fashion-mnist's ladder (the default) starts at 10: 2 is churn's first rung only.
    const offLadder = await run(["--stack", "multi", "--model", "defects", "--canary", "4", "--weight", "2"]);
    expect(offLadder).toMatchObject({
      code: 2,
      err: "promote: illegal step: plinth:inference.models.defects.rollout.gates.weightLadder starts at 10: --canary 4 --weight 2 would start the canary at 2; pass --skip-ladder to allow it",
    });
    const single = await run(["--stack", "multi", "--model", "churn", "--weight", "10"]);
    expect(single).toMatchObject({
      code: 2,
      err: 'promote: illegal step: plinth:inference.models.churn.rollout.strategy is "single": --weight 10 needs a canary',
    });
    expect(await stackText("multi")).toBe(original);
    expect(await audit()).toEqual([]);
  });
});

describe("--model is required with several models, and must be one of them", () => {
  it("a stack of three models refuses a step without --model, listing them (exit 2, nothing written)", async () => {
    const result = await run(["--stack", "multi", "--weight", "10"]);
    expect(result).toMatchObject({
      code: 2,
      err: `promote: --model: required: ${stackPath("multi")} serves 3 models (fashion-mnist, churn, defects); name the one whose rollout to move`,
    });
    expect(await stackText("multi")).toBe(original);
    expect(await audit()).toEqual([]);
  });

  it("refuses a model the stack does not serve, naming its models", async () => {
    const result = await run(["--stack", "multi", "--model", "fraud", "--rollback"]);
    expect(result).toMatchObject({
      code: 2,
      err: `promote: --model: "fraud" is not a model of ${stackPath("multi")}; its models: fashion-mnist, churn, defects`,
    });
  });

  it("a single-model stack file takes a step with or without --model <its model>, byte for byte the same", async () => {
    const staging = await stackText("staging");
    const bare = await run(["--stack", "staging", "--weight", "10"]);
    expect(bare.code).toBe(0);
    expect(bare.out).toContain(
      `on stack staging, model fashion-classifier (${stackPath("staging")}, plinth:inference.rollout)`,
    );
    const withoutModel = await stackText("staging");
    expect(withoutModel).toBe(
      staging.replace(
        "candidate: { modelVersion: challenger, weight: 20 }",
        "candidate: { modelVersion: challenger, weight: 10 }",
      ),
    );
    await writeFile(stackPath("staging"), staging);
    const named = await run(["--stack", "staging", "--model", "fashion-classifier", "--weight", "10"]);
    expect(named.code).toBe(0);
    expect(await stackText("staging")).toBe(withoutModel);
    expect((await audit()).map((e) => [e.stack, e.model, e.step])).toEqual([
      ["staging", "fashion-classifier", "--weight 10"],
      ["staging", "fashion-classifier", "--weight 10"],
    ]);
  });

  it("a single-model stack file refuses --model <another>, naming its model", async () => {
    const result = await run(["--stack", "staging", "--model", "other", "--weight", "10"]);
    expect(result).toMatchObject({
      code: 2,
      err: `promote: --model: "other" is not a model of ${stackPath("staging")}; its model: fashion-classifier`,
    });
    expect(await stackText("staging")).toBe(singleModel);
  });

  it("refuses a --model that is no model name at all, with the usage", async () => {
    const result = await run(["--stack", "multi", "--model", "Churn!", "--promote"]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(
      /^promote: --model: expected a model name \(lower-case letters, digits and '-'\), got "Churn!"\n\nusage: /,
    );
  });
});

describe("the audit log per model", () => {
  it("rolls back churn's last step only, after steps on churn and then on defects", async () => {
    const steps = [
      ["--model", "churn", "--canary", "2", "--weight", "2"],
      ["--model", "churn", "--weight", "10", "--force"],
      ["--model", "defects", "--canary", "4", "--weight", "10", "--force"],
    ];
    for (const step of steps) expect((await run(["--stack", "multi", ...step])).code).toBe(0);
    expect(await stackText("multi")).toBe(
      await multiModelStackText({ churn: churnCanary(10), defects: DEFECTS_CANARY }),
    );

    const rollback = await run(["--stack", "multi", "--model", "churn", "--rollback"]);
    expect(rollback.code).toBe(0);
    // churn back at 2; defects keeps its canary; fashion-mnist and the rest untouched.
    expect(await stackText("multi")).toBe(
      await multiModelStackText({ churn: churnCanary(2), defects: DEFECTS_CANARY }),
    );
    const entries = await audit();
    expect(entries.map((e) => [e.model, e.step])).toEqual([
      ["churn", "--canary 2 --weight 2"],
      ["churn", "--weight 10"],
      ["defects", "--canary 4 --weight 10"],
      ["churn", "--rollback"],
    ]);
    expect(entries[3]!.reverts).toBe(entries[1]!.id);

    // Each model walks back its own steps; fashion-mnist has none.
    expect((await run(["--stack", "multi", "--model", "churn", "--rollback"])).code).toBe(0);
    expect((await run(["--stack", "multi", "--model", "defects", "--rollback"])).code).toBe(0);
    expect(await stackText("multi")).toBe(original);
    const none = await run(["--stack", "multi", "--model", "fashion-mnist", "--rollback"]);
    expect(none).toMatchObject({
      code: 2,
      err: `promote: illegal step: no promote step of this stack recorded for plinth:inference.models.fashion-mnist.rollout in ${auditPath()}: nothing to roll back`,
    });
  });

  it("rechecks the newest step of the chosen model, with its gates", async () => {
    await run(["--stack", "multi", "--model", "churn", "--canary", "2", "--weight", "2"]);
    await run(["--stack", "multi", "--model", "churn", "--weight", "10", "--force"]);
    await run(["--stack", "multi", "--model", "defects", "--canary", "4", "--weight", "10", "--force"]);
    const churn = await run(["--stack", "multi", "--model", "churn", "--recheck"]);
    expect(churn.code).toBe(1);
    expect(churn.out).toMatch(
      /gates: canary, window 5m, PROMETHEUS_URL not set \(the gates of --weight 10 \(/,
    );
    const defects = await run(["--stack", "multi", "--model", "defects", "--recheck"]);
    expect(defects.out).toMatch(/gates: shadow, window 15m, .*\(the gates of --canary 4 --weight 10 \(/);
    const none = await run(["--stack", "multi", "--model", "fashion-mnist", "--recheck"]);
    expect(none.code).toBe(2);
    expect(none.err).toContain(
      "no promote step of this stack recorded for plinth:inference.models.fashion-mnist.rollout",
    );
  });

  it("takes audit lines without a model (written before --model) as the default model's", async () => {
    // A step on the default model, recorded as an older promote wrote it: no `model`.
    expect((await run(["--stack", "multi", "--model", "fashion-mnist", "--weight", "10"])).code).toBe(0);
    const [entry] = await audit();
    const { model: _model, ...legacy } = entry!;
    await writeFile(auditPath(), `${JSON.stringify(legacy)}\n`);

    const churn = await run(["--stack", "multi", "--model", "churn", "--rollback"]);
    expect(churn.code).toBe(2);
    expect(churn.err).toContain("nothing to roll back");
    const fashion = await run(["--stack", "multi", "--model", "fashion-mnist", "--rollback"]);
    expect(fashion.code).toBe(0);
    expect(await stackText("multi")).toBe(original);
    expect((await audit()).map((e) => [e.model, e.kind, e.reverts])).toEqual([
      [undefined, "weight", undefined],
      ["fashion-mnist", "rollback", entry!.id],
    ]);
  });
});

describe("the stack-level commands a deployment runs, without --model", () => {
  it("--rollback and --recheck act on the model whose open step is the stack's newest", async () => {
    await run(["--stack", "multi", "--model", "churn", "--canary", "2", "--weight", "2"]);
    await run(["--stack", "multi", "--model", "defects", "--canary", "4", "--weight", "10", "--force"]);
    const recheck = await run(["--stack", "multi", "--recheck"]);
    expect(recheck.out).toContain("promote --recheck on stack multi, model defects");
    const first = await run(["--stack", "multi", "--rollback", "--reason", "post-deploy"]);
    expect(first.code).toBe(0);
    expect(await stackText("multi")).toBe(await multiModelStackText({ churn: churnCanary(2) }));
    // defects' step is undone: churn's is now the newest open step.
    const second = await run(["--stack", "multi", "--rollback"]);
    expect(second.code).toBe(0);
    expect(await stackText("multi")).toBe(original);
    expect((await audit()).map((e) => [e.model, e.kind])).toEqual([
      ["churn", "canary"],
      ["defects", "canary"],
      ["defects", "rollback"],
      ["churn", "rollback"],
    ]);
    const none = await run(["--stack", "multi", "--rollback"]);
    expect(none.code).toBe(2);
    expect(none.err).toContain("--model: required");
  });

  it("--check-only checks every model of the stack, and fails when any model's gates block", async () => {
    const result = await run(["--stack", "multi", "--check-only"], recording(undefined));
    expect(result.code).toBe(1);
    const headers = result.out.split("\n").filter((l) => l.startsWith("promote --check-only"));
    expect(headers.map((l) => l.replace(/ \(.*$/, ""))).toEqual([
      "promote --check-only on stack multi, model fashion-mnist",
      "promote --check-only on stack multi, model churn",
      "promote --check-only on stack multi, model defects",
    ]);
  });
});

/** A metrics source answering every query with `value`; records each query. */
function recording(value: number | undefined): MetricsSource & { queries: string[] } {
  const queries: string[] = [];
  const source: ScalarSource = {
    scalar: (expr) => {
      queries.push(expr);
      return Promise.resolve(value);
    },
  };
  return { source, where: "recorded", queries };
}

describe("the gates read the chosen model's metrics only", () => {
  /** The volume of the stable gates: requests stable served, within `selector`. */
  const stableVolume = (selector: string, window: string) =>
    `(sum(increase(plinth_http_requests_total{${selector},route=~"${SLO_ROUTES}",variant="stable"}[${window}])) or vector(0))`;
  const capability = (selector: string, model: string, variant: string, label: string) =>
    `max(plinth_model_capability{${selector},model="${model}",variant="${variant}",capability="${label}"})`;

  it.each([
    [
      "churn",
      "multi",
      'service="plinth-inference-churn-metrics"',
      "5m",
      stableVolume('namespace="plinth",service="plinth-inference-churn-metrics"', "5m"),
    ],
    [
      "defects",
      "multi",
      'service="plinth-inference-defects-metrics"',
      "15m",
      capability(
        'namespace="plinth",service="plinth-inference-defects-metrics"',
        "defects",
        "candidate",
        "shadow_agreement",
      ),
    ],
    [
      "fashion-mnist",
      "multi",
      'service="plinth-inference-metrics"',
      "10m",
      'max(max_over_time(plinth_drift_score{namespace="plinth",service="plinth-inference-metrics",model="fashion-mnist",variant="candidate"}[10m]))',
    ],
    [
      "fashion-classifier",
      "staging",
      'service="plinth-inference-metrics"',
      "10m",
      capability(
        'namespace="plinth",service="plinth-inference-metrics"',
        "fashion-classifier",
        "stable",
        "drift",
      ),
    ],
  ])(
    "--model %s on %s: %s in every series, its gates' window",
    async (model, stack, service, window, query) => {
      const metrics = recording(1000);
      const result = await run(
        ["--stack", stack, "--model", model, "--check-only", "--selector", 'namespace="plinth"'],
        metrics,
      );
      expect(result.out).toContain(`, window ${window}, recorded (`);
      expect(metrics.queries).toContain(query);
      expect(metrics.queries.length).toBeGreaterThan(3);
      for (const expr of metrics.queries) {
        const selectors = expr.match(/\{[^}]*\}/g) ?? [];
        expect(selectors.length).toBeGreaterThan(0);
        for (const selector of selectors)
          expect(selector).toMatch(new RegExp(`^\\{namespace="plinth",${service}[,}]`));
        for (const range of expr.match(/\[[^\]]*\]/g) ?? []) expect(range).toBe(`[${window}]`);
        // A per-model series is the chosen model's.
        for (const label of expr.match(/model="[^"]*"/g) ?? []) expect(label).toBe(`model="${model}"`);
      }
    },
  );

  it("gives the default model's metrics Service to plinth:inference.defaultModel, whichever its place", async () => {
    const text = original.replace(
      "    # three models, each in its own Deployments\n",
      "    # three models, each in its own Deployments\n    defaultModel: churn\n",
    );
    expect(text).not.toBe(original);
    await writeFile(stackPath("multi"), text);
    const churn = recording(undefined);
    await run(["--stack", "multi", "--model", "churn", "--check-only"], churn);
    expect(churn.queries).toEqual([stableVolume('service="plinth-inference-metrics"', "5m")]);
    const fashion = recording(undefined);
    await run(["--stack", "multi", "--model", "fashion-mnist", "--check-only"], fashion);
    expect(fashion.queries.length).toBeGreaterThan(0);
    for (const expr of fashion.queries)
      expect(expr).toContain('{service="plinth-inference-fashion-mnist-metrics",');
  });
});
