/**
 * Shadow rollouts of models without plinth metadata (graph models, service/inference/graph-model.ts):
 * the candidate runs a copy of every request stable answered, off the response path, through the
 * same bounded queue as plinth models. A model configured as a classification is compared by
 * predicted label; a regression is not (agreement null, with the reason), but its latency is measured.
 */
import { Tensor } from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { GraphModel } from "../../../service/inference/graph-model.js";
import { matmulModel } from "../inference/matmul-model.js";
import { API_KEY, startTestService, type TestService } from "../server/service-fixture.js";
import { metricValue, OPS_HEADERS, OPS_KEY, TESTER_HEADERS } from "./rollout-fixture.js";

/** y = [x0, x1]: "left" when x0 > x1, else "right" (the first class on a tie). */
const STABLE_WEIGHTS = [1, 0, 0, 1, 0, 0];
/** y = [3 x0, 3 x1]: other numbers, the same label on every row. */
const AGREEING_WEIGHTS = [3, 0, 0, 3, 0, 0];
/** y = [x0, x1 + 5 x2]: "right" whenever x2 pushes x1 past x0. */
const DISAGREEING_WEIGHTS = [1, 0, 0, 1, 0, 5];

/** Stable's labels: left, right, left, left; the disagreeing candidate's: left, right, right, right. */
const ROWS = [
  [1, 0, 0],
  [0, 1, 0],
  [2, 0, 1],
  [3, 1, 1],
];
const STABLE_LABELS = ["left", "right", "left", "left"];

const CLASSIFIER_CONFIG = JSON.stringify({
  schemaVersion: 1,
  task: "classification",
  labels: ["left", "right"],
});
const REGRESSION_CONFIG = JSON.stringify({ schemaVersion: 1, task: "regression" });

/** A shadow service of `model`: version 1 stable (champion), version 2 candidate (challenger). */
function startShadowService(
  model: string,
  config: string,
  candidateWeights: readonly number[],
  env: Record<string, string> = {},
): Promise<TestService> {
  return startTestService(
    {
      API_KEYS: `tester:${API_KEY},ops:${OPS_KEY}`,
      API_KEY_ROLES: "ops:admin+force-variant",
      MODEL_NAME: model,
      MODEL_CANDIDATE: "challenger",
      ROLLOUT_STRATEGY: "shadow",
      SHADOW_PERCENT: "100",
      ...env,
    },
    "probabilities",
    async ({ registry }) => {
      const v1 = await registry.registerVersion(model, {
        "model.onnx": matmulModel(STABLE_WEIGHTS),
        "model-config.json": config,
      });
      await registry.setAlias(model, "champion", v1);
      const v2 = await registry.registerVersion(model, {
        "model.onnx": matmulModel(candidateWeights),
        "model-config.json": config,
      });
      await registry.setAlias(model, "challenger", v2);
    },
  );
}

async function predict(svc: TestService, rows: readonly (readonly number[])[]) {
  const res = await svc.app.inject({
    method: "POST",
    url: "/predict",
    headers: TESTER_HEADERS,
    payload: { inputs: rows },
  });
  expect(res.statusCode).toBe(200);
  const body = res.json() as {
    model: { version: string; variant: string };
    predictions: { label?: string; probabilities?: number[]; values?: number[] }[];
  };
  return { variant: res.headers["x-plinth-variant"], ...body };
}

function candidateModel(svc: TestService): GraphModel {
  const candidate = svc.models.candidate!.current!;
  if (candidate.kind !== "graph") throw new Error("the candidate should be a graph model");
  return candidate;
}

describe("shadow of a graph model configured as a classification", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startShadowService("tabular", CLASSIFIER_CONFIG, AGREEING_WEIGHTS, { SHADOW_QUEUE_MAX: "1" });
  }, 60_000);
  afterAll(() => svc?.close());

  it("answers with stable, and counts every row on which the candidate predicts stable's label", async () => {
    const answer = await predict(svc, ROWS);
    expect(answer.variant).toBe("stable");
    expect(answer.model.version).toBe("1");
    expect(answer.predictions.map((p) => p.label)).toEqual(STABLE_LABELS);
    expect(answer.predictions[2]!.probabilities).toEqual([2, 0]); // stable's numbers, not the candidate's
    await svc.rollout.shadow!.drain();
    const shadow = svc.rollout.snapshot().shadow;
    expect(shadow).toMatchObject({
      compared: 4,
      agreed: 4,
      agreement: 1,
      agreementUnsupported: null,
      dropped: 0,
    });
    expect(shadow.latencyP95MsByVariant.stable).toBeGreaterThan(0);
    expect(shadow.latencyP95MsByVariant.candidate).toBeGreaterThan(0);
    const series = { model: "tabular", model_version: "2" };
    expect(await metricValue(svc, "plinth_shadow_comparisons_total", { ...series, outcome: "agree" })).toBe(
      4,
    );
    expect(
      await metricValue(svc, "plinth_shadow_comparisons_total", { ...series, outcome: "disagree" }),
    ).toBe(0);
    // The candidate ran for the shadow only: no request was answered by it.
    expect(await metricValue(svc, "plinth_http_requests_total", { variant: "candidate" })).toBe(0);
  });

  it("counts the rows a disagreeing candidate version labels otherwise, on /predict and /v2", async () => {
    const { registry } = svc.registry;
    const v3 = await registry.registerVersion("tabular", {
      "model.onnx": matmulModel(DISAGREEING_WEIGHTS),
      "model-config.json": CLASSIFIER_CONFIG,
    });
    await registry.setAlias("tabular", "challenger", v3);
    const [event] = await svc.rollout.reload({ variant: "candidate", trigger: "api" });
    expect(event).toMatchObject({ result: "loaded", version: v3 });
    const before = svc.rollout.snapshot().shadow;

    const answer = await predict(svc, ROWS);
    expect(answer.predictions.map((p) => p.label)).toEqual(STABLE_LABELS);
    await svc.rollout.shadow!.drain();
    const v2 = await svc.app.inject({
      method: "POST",
      url: "/v2/models/tabular/infer",
      headers: TESTER_HEADERS,
      payload: { inputs: [{ name: "x", datatype: "FP32", shape: [4, 3], data: ROWS.flat() }] },
    });
    expect(v2.statusCode).toBe(200);
    expect(v2.json().model_version).toBe("1");
    await svc.rollout.shadow!.drain();

    const after = svc.rollout.snapshot().shadow;
    // Rows 2 and 3 of each request disagree.
    expect([after.compared - before.compared, after.agreed - before.agreed]).toEqual([8, 4]);
    expect(after.agreement).toBeCloseTo((before.agreed + 4) / (before.compared + 8), 12);
    const series = { model: "tabular", model_version: v3 };
    expect(await metricValue(svc, "plinth_shadow_comparisons_total", { ...series, outcome: "agree" })).toBe(
      4,
    );
    expect(
      await metricValue(svc, "plinth_shadow_comparisons_total", { ...series, outcome: "disagree" }),
    ).toBe(4);
  });

  it("drops and counts copies beyond SHADOW_QUEUE_MAX while the candidate is stuck; stable answers all", async () => {
    const candidate = candidateModel(svc);
    let release!: (results: Record<string, Tensor>) => void;
    const stuck = new Promise<Record<string, Tensor>>((resolve) => (release = resolve));
    const spy = vi.spyOn(candidate, "run").mockReturnValue(stuck as ReturnType<GraphModel["run"]>);
    const before = svc.rollout.snapshot().shadow;
    for (const row of ROWS.slice(0, 3)) {
      const answer = await predict(svc, [row]);
      expect(answer.variant).toBe("stable");
    }
    expect(svc.rollout.snapshot().shadow.dropped - before.dropped).toBe(2);
    // The stuck copy (row [1, 0, 0], stable: "left") finishes with "right": one row, disagreeing.
    release({ y: new Tensor("float32", Float32Array.from([0, 1]), [1, 2]) });
    await svc.rollout.shadow!.drain();
    spy.mockRestore();
    const after = svc.rollout.snapshot().shadow;
    expect([after.compared - before.compared, after.agreed - before.agreed]).toEqual([1, 0]);
    expect(await metricValue(svc, "plinth_shadow_dropped_total", { model: "tabular" })).toBe(2);
  });

  it("a failing candidate costs the response nothing and counts as a drop, not a fallback", async () => {
    const expected = await predict(svc, ROWS);
    await svc.rollout.shadow!.drain();
    const spy = vi.spyOn(candidateModel(svc), "run").mockRejectedValue(new Error("session exploded"));
    const before = svc.rollout.snapshot();
    const answer = await predict(svc, ROWS);
    await svc.rollout.shadow!.drain();
    spy.mockRestore();
    expect(answer.predictions).toEqual(expected.predictions);
    expect(answer.variant).toBe("stable");
    const after = svc.rollout.snapshot();
    expect(after.shadow.dropped - before.shadow.dropped).toBe(1);
    expect(after.shadow.compared).toBe(before.shadow.compared);
    expect(after.fallbacks.total).toBe(before.fallbacks.total);
    expect(after.circuit.state).toBe("closed");
  });
});

describe("shadow of a graph model configured as a regression", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startShadowService("prices", REGRESSION_CONFIG, DISAGREEING_WEIGHTS);
  }, 60_000);
  afterAll(() => svc?.close());

  it("measures latency and drops, and says agreement is not defined for it, naming the model", async () => {
    for (let i = 0; i < 3; i++) {
      const answer = await predict(svc, ROWS);
      expect(answer.predictions[2]).toEqual({ values: [2, 0] });
      await svc.rollout.shadow!.drain();
    }
    const reason =
      'model "prices" version 1 is configured with task "regression", whose answers are values, not ' +
      "predicted labels: shadow agreement compares stable's and the candidate's predicted labels, which " +
      'only a model configured as "classification" has; shadow still measures latency and drops';
    const shadow = svc.rollout.snapshot().shadow;
    expect(shadow).toMatchObject({
      compared: 0,
      agreed: 0,
      agreement: null,
      agreementUnsupported: reason,
      dropped: 0,
    });
    expect(shadow.latencyP95MsByVariant.stable).toBeGreaterThan(0);
    expect(shadow.latencyP95MsByVariant.candidate).toBeGreaterThan(0);
    const durations = await svc.metrics.registry.getSingleMetricAsString(
      "plinth_shadow_scoring_duration_seconds",
    );
    expect(durations).toContain(
      'plinth_shadow_scoring_duration_seconds_count{model="prices",model_version="2",variant="candidate"} 3',
    );
    expect(await metricValue(svc, "plinth_shadow_comparisons_total", { model: "prices" })).toBe(0);

    // The ops summary serialises the reason (its response schema keeps it), and drift's.
    const res = await svc.app.inject({ method: "GET", url: "/ops/summary", headers: OPS_HEADERS });
    expect(res.statusCode).toBe(200);
    const summary = res.json();
    expect(summary.rollout.shadow).toEqual(JSON.parse(JSON.stringify(svc.rollout.snapshot().shadow)));
    expect(summary.rollout.shadow.agreementUnsupported).toBe(reason);
    expect(summary.drift.unsupported).toBe(
      'model "prices" version 1 has no plinth metadata: drift needs the training baseline (baseline.json ' +
        "of the image features and predicted classes) that plinth's trainer writes, so this model is not monitored",
    );
    expect(summary.rollout.variants.candidate.capabilities.shadowAgreement).toEqual({
      supported: false,
      reason: reason.replace("version 1", "version 2"),
    });
  });
});
