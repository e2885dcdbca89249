/**
 * Acceptance (#21): `npm run promote -- --model <name>` moves one model of a stack through its
 * canary to full, gated on that model's live metrics only. Real plinth services (one process per
 * model, started with the environment the model's Deployment gets from its rollout), a real
 * Prometheus scraping both with the labels the Prometheus operator gives them (`namespace`, and
 * each model's metrics Service as `service`), real traffic:
 *
 * - churn (A) starts at `single` on version 1, with version 2 (the same trained model) registered:
 *   the CLI walks it `--canary 2 --weight 25`, `--weight 50`, `--weight 100`, `--promote`; after
 *   each written step its process restarts with the new rollout (the local stand-in for
 *   `pulumi up`) and serves a gate window of traffic before the next step is gated;
 * - defects (B) is on a canary at 50 % whose candidate answers correctly but ~60 ms slower, so its
 *   own latency gates fail: `--model defects --weight 100` is blocked after every one of churn's
 *   steps, in the same Prometheus, and writes nothing.
 *
 * The HTTP series carry no `model` label, so only the `service` matcher keeps defects' slow
 * candidate out of churn's latency gates: without it churn's steps are blocked too.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseDocument } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentPlans } from "../../components/inference/deployment-plans.js";
import { variantEnvironment } from "../../components/inference/env.js";
import { inferenceServiceName, metricsServiceName } from "../../components/inference/names.js";
import type { GateResult } from "../../infra/promote/gates.js";
import { promote } from "../../infra/promote/main.js";
import { validateStackText } from "../../infra/promote/stack-file.js";
import { METADATA_KEY } from "../../service/model/metadata.js";
import {
  encodeOnnxModel,
  readOnnxInitializers,
  readOnnxMetadataProps,
  readOnnxNodes,
} from "../../service/model/onnx-format.js";
import { bundledVersion, calibratedSlowModel, type VersionFiles } from "./candidate-models.js";
import { auditEntries } from "./harness.js";
import {
  drive,
  freePort,
  LIVE_SERVICE_SETTINGS,
  registryWith,
  samplePngs,
  startLiveService,
  startPrometheusTargets,
  stopLive,
  type LivePrometheus,
  type LiveService,
} from "./live-stack.js";
import { multiModelStackText, ROLLOUT_BLOCKS } from "./multi-model-stack.js";

const A = "churn";
const B = "defects";
type Model = typeof A | typeof B;
const STACK = "live";
/** The gate window of both models, and how long each applied step serves traffic before the next. */
const WINDOW = "20s";
const TRAFFIC_MS = 23_000;
/** What defects' slow candidate adds per row on a quiet machine: 3x the gates' 20 ms tolerance. */
const SLOW_CANDIDATE_ADDED_SECONDS = 0.06;

/** churn's rollout as the test writes it: single on version 1, a short window, a three-rung ladder. */
/**
 * The drift bound is loose: the candidate's drift is scored over 100 inputs, a random quarter of
 * the 100 sample images at 25 %, which scores up to ~0.95 against the training baseline.
 */
const A_BLOCK = [
  "          strategy: single",
  '          stable: { modelVersion: "1" }',
  "          # gates sized for seconds of loopback traffic",
  "          gates:",
  `            window: ${WINDOW}`,
  "            minRequests: 50",
  "            maxErrorRate: 0.01",
  "            maxLatencyRatio: 1.5",
  "            latencyToleranceSeconds: 0.02",
  "            maxDriftScore: 5",
  "            weightLadder: [25, 50, 100]",
  "",
].join("\n");
/** defects' rollout: a canary at 50 % of the slow version 2, held to the same bounds as churn. */
const B_BLOCK = [
  "          strategy: canary",
  '          stable: { modelVersion: "1" }',
  '          candidate: { modelVersion: "2", weight: 50 }',
  `          gates: { window: ${WINDOW}, minRequests: 30, maxLatencyRatio: 1.5, latencyToleranceSeconds: 0.02, maxDriftScore: 5 }`,
  "",
].join("\n");

/** churn's steps in release order, with the weight each leaves the candidate at (undefined: single). */
const A_STEPS: readonly { argv: readonly string[]; step: string; gated: boolean }[] = [
  { argv: ["--canary", "2", "--weight", "25"], step: "--canary 2 --weight 25", gated: false },
  { argv: ["--weight", "50"], step: "--weight 50", gated: true },
  { argv: ["--weight", "100"], step: "--weight 100", gated: true },
  { argv: ["--promote"], step: "--promote", gated: true },
];

let dir: string;
let stackFile: string;
/** The stack file as the test wrote it. */
let original: string;
let registries: Record<Model, Awaited<ReturnType<typeof registryWith>>>;
let metricsPorts: Record<Model, number>;
const services: Partial<Record<Model, LiveService>> = {};
/** Each model's process environment as last (re)started: its rollout's variables. */
const applied: Partial<Record<Model, Record<string, string>>> = {};
let prometheus: LivePrometheus;
let images: Buffer[];
let slowCandidate: Awaited<ReturnType<typeof calibratedSlowModel>>;
/** defects' traffic, for the whole test. */
const backgroundTraffic = new AbortController();
let defectsTraffic: Promise<Map<number, number>>;
const churnTraffic: Map<number, number>[] = [];

/**
 * A version of `files` registered as `name`: the same nodes and weights, its embedded metadata
 * naming `name` (the service refuses a model whose metadata names another).
 */
function registeredAs(files: VersionFiles, name: string): VersionFiles {
  const model = files["model.onnx"]!;
  const props = readOnnxMetadataProps(model);
  const metadata = JSON.parse(props[METADATA_KEY]!) as { name: string };
  const renamed = encodeOnnxModel({
    graphName: `plinth-${name}`,
    producerName: "plinth-tests",
    producerVersion: "1",
    inputs: [{ name: "input", shape: ["N", 1, 28, 28] }],
    outputs: [{ name: "probabilities", shape: ["N", 10] }],
    nodes: readOnnxNodes(model),
    initializers: [...readOnnxInitializers(model).values()],
    metadataProps: { ...props, [METADATA_KEY]: JSON.stringify({ ...metadata, name }) },
  });
  return { ...files, "model.onnx": renamed };
}

/**
 * What the model's Deployment runs with the rollout now in the stack file: the file validated with
 * the program's schema, its Deployment plan, and the variables of the variant it serves.
 */
async function rolloutEnvironment(model: Model): Promise<Record<string, string>> {
  const config = validateStackText(await readFile(stackFile, "utf8"), stackFile);
  const settings = config.inference.models[model]!;
  const plans = deploymentPlans(settings.rollout, settings.image ?? config.inference.image);
  expect(plans.map((p) => p.role)).toEqual(["main"]);
  return variantEnvironment(model, plans[0]!.variant);
}

/** Starts (or restarts: `pulumi up`) the model's process on its own metrics port, so its target stays. */
async function apply(model: Model): Promise<void> {
  await services[model]?.close();
  delete services[model];
  const env = await rolloutEnvironment(model);
  services[model] = await startLiveService(registries[model].dir, {
    ...LIVE_SERVICE_SETTINGS,
    ...env,
    METRICS_PORT: String(metricsPorts[model]),
  });
  applied[model] = env;
}

/** `npm run promote -- --stack live --dir <dir> --model <model> <argv>` against the test's Prometheus. */
async function run(model: Model, argv: readonly string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const code = await promote(
    ["--stack", STACK, "--dir", dir, "--selector", 'namespace="plinth"', "--model", model, ...argv],
    { PROMETHEUS_URL: prometheus.url, USER: "release-tester" },
    { out: (l) => lines.push(l), err: (l) => lines.push(l) },
  );
  return { code, output: lines.join("\n") };
}

/** The model's rollout as the file holds it (no defaults). */
function rolloutOf(text: string, model: Model): unknown {
  const config = (
    parseDocument(text).toJS() as { config: Record<string, { models: Record<string, unknown> }> }
  ).config;
  return (config["plinth:inference"]!.models[model] as { rollout: unknown }).rollout;
}

function verdicts(results: readonly GateResult[]): Record<string, string> {
  return Object.fromEntries(results.map((r) => [r.gate, r.verdict]));
}

/** defects' next step, which its slow candidate's latency must block, writing nothing. */
async function expectDefectsBlocked(after: string): Promise<void> {
  const before = await readFile(stackFile, "utf8");
  const audit = await auditEntries(dir);
  const blocked = await run(B, ["--weight", "100"]);
  expect(blocked.code, `defects after churn's ${after}:\n${blocked.output}`).toBe(1);
  expect(blocked.output).toMatch(/PASS +error-rate +0 /);
  expect(blocked.output, blocked.output).toMatch(/FAIL +p9[59]-vs-stable /);
  expect(blocked.output).toMatch(/BLOCKED by .*p9[59]-vs-stable fail/);
  expect(await readFile(stackFile, "utf8")).toBe(before);
  expect(await auditEntries(dir)).toEqual(audit);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "plinth-promote-models-live-"));
  stackFile = path.join(dir, `Pulumi.${STACK}.yaml`);
  original = await multiModelStackText({ churn: A_BLOCK, defects: B_BLOCK });
  await writeFile(stackFile, original);

  const bundled = await bundledVersion();
  slowCandidate = await calibratedSlowModel(bundled["model.onnx"]!, SLOW_CANDIDATE_ADDED_SECONDS);
  const slow = { ...bundled, "model.onnx": slowCandidate.model };
  const [churn, defects] = await Promise.all([
    registryWith(
      [
        { files: registeredAs(bundled, A), alias: "champion" },
        { files: registeredAs(bundled, A), alias: "challenger" },
      ],
      A,
    ),
    registryWith(
      [
        { files: registeredAs(bundled, B), alias: "champion" },
        { files: registeredAs(slow, B), alias: "challenger" },
      ],
      B,
    ),
  ]);
  registries = { churn: churn!, defects: defects! };
  metricsPorts = { churn: await freePort(), defects: await freePort() };
  await Promise.all([apply(A), apply(B)]);

  // The labels the Prometheus operator gives each model's series: its namespace and metrics Service.
  const defaultModel = validateStackText(original, stackFile).inference.defaultModel;
  prometheus = await startPrometheusTargets(
    ([A, B] as const).map((model) => ({
      job: model,
      target: `127.0.0.1:${metricsPorts[model]}`,
      labels: {
        namespace: "plinth",
        service: metricsServiceName(inferenceServiceName(model, defaultModel)),
      },
    })),
  );
  images = await samplePngs();
  defectsTraffic = drive(services.defects!, images, {
    workers: 1,
    pauseMs: 40,
    durationMs: 600_000,
    signal: backgroundTraffic.signal,
  });
}, 90_000);

afterAll(async () => {
  backgroundTraffic.abort();
  await defectsTraffic?.catch(() => undefined);
  await stopLive({
    prometheus,
    services: Object.fromEntries(Object.entries(services).filter(([, s]) => s !== undefined)),
    dir,
  });
  await Promise.all(Object.values(registries ?? {}).map((r) => r.cleanup()));
});

describe("promote --model moves one model through canary to full on its own live metrics", () => {
  it("the two models are scraped under their own metrics Services, not the default model's", () => {
    expect(metricsServiceName(inferenceServiceName(A, "fashion-mnist"))).toBe(
      "plinth-inference-churn-metrics",
    );
    expect(metricsServiceName(inferenceServiceName(B, "fashion-mnist"))).toBe(
      "plinth-inference-defects-metrics",
    );
    expect(applied.churn).toMatchObject({ MODEL_NAME: A, MODEL_STABLE: "1", ROLLOUT_STRATEGY: "single" });
    expect(applied.defects).toMatchObject({
      MODEL_NAME: B,
      MODEL_STABLE: "1",
      ROLLOUT_STRATEGY: "canary",
      MODEL_CANDIDATE: "2",
      CANDIDATE_WEIGHT: "50",
    });
  });

  it("walks churn --canary 2 --weight 25 -> 50 -> 100 -> --promote, each step applied and gated, while defects stays blocked", async () => {
    const calibration = `defects' slow candidate: ${slowCandidate.layers} layers, ~${Math.round(slowCandidate.addedSeconds * 1000)} ms added per row`;
    for (const { argv, step, gated } of A_STEPS) {
      const result = await run(A, argv);
      expect(result.output).not.toContain("BLOCKED");
      expect(result.code, `churn ${step}\n${calibration}\n${result.output}`).toBe(0);
      expect(result.output).toContain(
        `on stack ${STACK}, model ${A} (${stackFile}, plinth:inference.models.${A}.rollout)`,
      );
      expect(result.output).toContain(gated ? "gates: canary, window 20s" : "gates: none");
      // pulumi up: churn's Deployment restarts with the rollout the step wrote.
      await apply(A);
      churnTraffic.push(
        await drive(services.churn!, images, { workers: 2, pauseMs: 20, durationMs: TRAFFIC_MS }),
      );
      await new Promise((r) => setTimeout(r, 1500)); // the last scrape
      await expectDefectsBlocked(step);
    }
    expect(applied.churn).toEqual(variantEnvironment(A, { strategy: "single", stable: "2", colour: "none" }));
  }, 240_000);

  it("ends with churn single on version 2; every other byte of the stack file is as written", async () => {
    const text = await readFile(stackFile, "utf8");
    const start = original.indexOf(A_BLOCK);
    expect(start).toBeGreaterThan(0);
    expect(original.indexOf(A_BLOCK, start + 1)).toBe(-1);
    const prefix = original.slice(0, start);
    const suffix = original.slice(start + A_BLOCK.length);
    expect(text.startsWith(prefix)).toBe(true);
    expect(text.endsWith(suffix)).toBe(true);
    // defects' canary and the default model's rollout are the original's, byte for byte.
    expect(suffix).toContain(`        rollout:\n${B_BLOCK}  plinth:mlflow:\n`);
    expect(prefix).toContain(`        rollout:\n${ROLLOUT_BLOCKS["fashion-mnist"]}`);
    // churn's block: stable is the candidate's version, its comment and gates as written.
    expect(text.slice(prefix.length, text.length - suffix.length)).toBe(
      A_BLOCK.replace('stable: { modelVersion: "1" }', 'stable: { modelVersion: "2" }'),
    );
    expect(rolloutOf(text, A)).toMatchObject({ strategy: "single", stable: { modelVersion: "2" } });
    expect(rolloutOf(text, B)).toEqual(rolloutOf(original, B));
  });

  it("audits churn's four steps in order, with model churn, and nothing for defects' blocked attempts", async () => {
    const entries = await auditEntries(dir);
    expect(entries.map((e) => [e.stack, e.model, e.step, e.forced])).toEqual(
      A_STEPS.map(({ step }) => [STACK, A, step, false]),
    );
    expect(entries.map((e) => e.gateSet)).toEqual([null, "canary", "canary", "canary"]);
    for (const entry of entries.slice(1)) {
      const gates = verdicts(entry.gates);
      expect(gates["error-rate"], entry.step).toBe("pass");
      expect(entry.gates.find((g) => g.gate === "error-rate")!.value, entry.step).toBe(0);
      expect(
        Object.values(gates).every((v) => v === "pass" || v === "not-applicable"),
        entry.step,
      ).toBe(true);
    }
    expect(entries.at(-1)).toMatchObject({
      before: {
        strategy: "canary",
        stable: { modelVersion: "1" },
        candidate: { modelVersion: "2", weight: 100 },
      },
      after: { strategy: "single", stable: { modelVersion: "2" } },
    });
  });

  it("served every request of both models", async () => {
    backgroundTraffic.abort();
    const defects = await defectsTraffic;
    expect([...defects.keys()]).toEqual([200]);
    for (const statuses of churnTraffic) {
      expect([...statuses.keys()]).toEqual([200]);
      expect(statuses.get(200)!).toBeGreaterThan(300);
    }
  });
});
