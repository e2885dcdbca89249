/**
 * Acceptance: a third-party model's shadow gates against a real Prometheus scraping real plinth
 * services. The model is a regression (an ONNX MatMul with a `model-config.json`, no plinth
 * metadata): it has no predicted label to compare and no training baseline, which the service
 * exports as plinth_model_capability 0. `promote --canary challenger --weight 10` from its shadow:
 *
 * - scored: enough copies scored -> shadow agreement and drift are not applicable (not blocking),
 *   the drops and latency gates are judged on the copies; written, exit 0, audited with the reasons;
 * - few: too few copies -> the judged gates are inconclusive and block; the other two still do not apply;
 * - mixed: the same regression stable, a classification candidate -> no row can be compared (stable has
 *   no labels), so agreement does not apply and the copies scored are the volume, as in `scored`.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matmulModel } from "../service/inference/matmul-model.js";
import {
  drive,
  promoteLive,
  registryWith,
  startLiveService,
  startPrometheus,
  stopLive,
  type LivePrometheus,
  type LiveService,
} from "./live-stack.js";

const MODEL = "prices";
const TRAFFIC_MS = 12_000;
const REGRESSION = new TextEncoder().encode(JSON.stringify({ schemaVersion: 1, task: "regression" }));
const CLASSIFICATION = new TextEncoder().encode(
  JSON.stringify({ schemaVersion: 1, task: "classification", labels: ["low", "high"] }),
);
const ROWS = [
  [1, 0, 0],
  [0, 1, 0],
  [2, 0, 1],
  [3, 1, 1],
].map((row) => Buffer.from(JSON.stringify({ inputs: [row] })));
const JSON_PREDICT = { path: "/predict", contentType: "application/json" };
const NO_AGREEMENT = `neither stable nor candidate of "${MODEL}" supports shadow agreement (no predicted label to compare: /metadata capabilities)`;
const NO_DRIFT = `neither stable nor candidate of "${MODEL}" supports drift (no training baseline for its inputs: /metadata capabilities)`;

let registry: Awaited<ReturnType<typeof registryWith>>;
let services: Record<"scored" | "few" | "mixed", LiveService>;
let prometheus: LivePrometheus;
let dir: string;
const traffic: Record<string, Map<number, number>> = {};

beforeAll(async () => {
  const version = (weights: number[], config = REGRESSION) => ({
    "model.onnx": matmulModel(weights),
    "model-config.json": config,
  });
  registry = await registryWith(
    [
      { files: version([1, 0, 0, 1, 0, 0]), alias: "champion" },
      { files: version([3, 0, 0, 3, 0, 5]), alias: "challenger" },
      { files: version([3, 0, 0, 3, 0, 5], CLASSIFICATION), alias: "labeller" },
    ],
    MODEL,
  );
  const shadow = {
    MODEL_NAME: MODEL,
    ROLLOUT_STRATEGY: "shadow",
    MODEL_STABLE: "champion",
    MODEL_CANDIDATE: "challenger",
    SHADOW_PERCENT: "100",
  };
  const [scored, few, mixed] = await Promise.all([
    startLiveService(registry.dir, shadow),
    startLiveService(registry.dir, shadow),
    startLiveService(registry.dir, { ...shadow, MODEL_CANDIDATE: "labeller" }),
  ]);
  services = { scored: scored!, few: few!, mixed: mixed! };
  prometheus = await startPrometheus({
    scored: scored!.metricsTarget,
    few: few!.metricsTarget,
    mixed: mixed!.metricsTarget,
  });
  const steady = { workers: 2, pauseMs: 40, durationMs: TRAFFIC_MS, route: JSON_PREDICT };
  const [s, f, m] = await Promise.all([
    drive(services.scored, ROWS, steady),
    drive(services.few, ROWS, {
      workers: 1,
      pauseMs: 200,
      durationMs: TRAFFIC_MS,
      requests: 10,
      route: JSON_PREDICT,
    }),
    drive(services.mixed, ROWS, steady),
  ]);
  Object.assign(traffic, { scored: s, few: f, mixed: m });
  await new Promise((r) => setTimeout(r, 1500)); // the last scrape
  dir = await mkdtemp(path.join(tmpdir(), "plinth-promote-live-shadow-"));
}, 90_000);

afterAll(() => stopLive({ prometheus, services, registry, dir }));

/** Runs `promote --canary challenger --weight 10` from the shadow, reading the given Prometheus job. */
function promoteFromShadow(job: string) {
  return promoteLive({
    dir,
    job,
    prometheusUrl: prometheus.url,
    gates: { minShadowAgreement: 0.99 },
    rollout: { model: MODEL, strategy: "shadow" },
    argv: ["--canary", "challenger", "--weight", "10"],
  });
}

describe("shadow gates of a regression candidate, against a real Prometheus", () => {
  it("served the traffic: every request answered 200", () => {
    expect([...traffic.scored!.keys()]).toEqual([200]);
    expect([...traffic.mixed!.keys()]).toEqual([200]);
    expect(traffic.scored!.get(200)!).toBeGreaterThan(100);
    expect(traffic.few!.get(200)).toBe(10);
  });

  it("passes on the copies it scored: agreement and drift do not apply, the rest is judged", async () => {
    const run = await promoteFromShadow("scored");
    expect(run.code, run.output).toBe(0);
    expect(run.output).not.toContain("BLOCKED");
    expect(run.output).toMatch(
      /NOT-APPLICABLE +shadow-agreement +- +>= 0\.99 +neither stable nor candidate of "prices"/,
    );
    expect(run.output).toContain(NO_DRIFT);
    expect(run.output).toContain("not applicable to these models (not blocking): shadow-agreement, drift");
    expect(run.after).toContain("candidate: { modelVersion: challenger, weight: 10 }");
    const [entry] = run.entries;
    expect(entry).toMatchObject({
      gateSet: "shadow",
      step: "--canary challenger --weight 10",
      forced: false,
    });
    expect(entry!.gates.map((g) => [g.gate, g.verdict])).toEqual([
      ["shadow-agreement", "not-applicable"],
      ["error-rate", "pass"],
      ["p95-vs-stable", "pass"],
      ["p99-vs-stable", "pass"],
      ["p99-vs-slo", "pass"],
      ["drift", "not-applicable"],
    ]);
    const byGate = Object.fromEntries(entry!.gates.map((g) => [g.gate, g]));
    expect(byGate["shadow-agreement"]).toMatchObject({ value: null, detail: NO_AGREEMENT });
    expect(byGate.drift).toMatchObject({ value: null, detail: NO_DRIFT });
    // The copies the candidate scored, from plinth_shadow_scoring_duration_seconds_count.
    expect(byGate["error-rate"]!.detail).toMatch(/^0 of \d+(\.\d+)? shadow copies failed$/);
    expect(Number(byGate["error-rate"]!.detail.split(" ")[2])).toBeGreaterThanOrEqual(50);
  });

  it("is inconclusive on too few copies, and blocks; agreement and drift still do not apply", async () => {
    const run = await promoteFromShadow("few");
    expect(run.code, run.output).toBe(1);
    expect(run.after).toBe(run.before);
    expect(run.entries).toEqual([]);
    expect(run.output).toMatch(
      /INCONCLUSIVE +error-rate +- +<= 0\.01 +\d+(\.\d+)? shadow copies scored or dropped \(neither variant has shadow agreement\) in 15s, fewer than minRequests \(50\)/,
    );
    expect(run.output).toMatch(/NOT-APPLICABLE +drift +- +<= 0\.25 /);
    expect(run.output).toContain(
      "BLOCKED by error-rate inconclusive, p95-vs-stable inconclusive, p99-vs-stable inconclusive, p99-vs-slo inconclusive:",
    );
  });

  it("counts the copies when stable is the side without labels: agreement does not apply", async () => {
    // The stack file names its own versions; the gates read the service's metrics, by model.
    const run = await promoteFromShadow("mixed");
    expect(run.code, run.output).toBe(0);
    const [entry] = run.entries;
    const byGate = Object.fromEntries(entry!.gates.map((g) => [g.gate, g]));
    expect(byGate["shadow-agreement"]).toMatchObject({
      verdict: "not-applicable",
      detail: `stable of "${MODEL}" does not support shadow agreement (no predicted label to compare: /metadata capabilities)`,
    });
    expect(byGate.drift).toMatchObject({ verdict: "not-applicable", detail: NO_DRIFT });
    expect(byGate["error-rate"]!.verdict).toBe("pass");
    expect(Number(byGate["error-rate"]!.detail.split(" ")[2])).toBeGreaterThanOrEqual(50);
  });
});
