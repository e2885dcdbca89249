import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../../service/config.js";
import { requirePlinthModel } from "../../../service/serving/capabilities.js";
import { candidateOrt } from "../../../service/rollout/variants.js";
import { writeVersionFiles } from "../ops/version-files.js";
import { startTestService, type TestService } from "../server/service-fixture.js";
import {
  CANDIDATE_SHIFT,
  metricValue,
  predictRow,
  publishVersion,
  startRolloutService,
  TESTER_HEADERS,
} from "./rollout-fixture.js";

const CLASSES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
let shadow: TestService;
let plain: TestService;

beforeAll(async () => {
  shadow = await startRolloutService({
    ROLLOUT_STRATEGY: "shadow",
    SHADOW_PERCENT: "100",
    SHADOW_QUEUE_MAX: "1",
  });
  plain = await startTestService(); // the same stable version, no candidate
});
afterAll(async () => {
  await shadow.close();
  await plain.close();
});

/** The parts of a response that must not depend on shadowing. */
async function answer(svc: TestService, cls: number) {
  const res = await predictRow(svc, cls, { ...TESTER_HEADERS, "x-user-id": "same-user" });
  return {
    status: res.status,
    variant: res.variantHeader,
    model: res.body.model,
    predictions: res.body.predictions,
  };
}

describe("shadow", () => {
  it("scores the candidate in a worker thread, off the event loop that answers stable's requests", () => {
    expect(shadow.models.candidate!.current!.warmup!.offloaded).toBe(true);
    expect(shadow.models.stable.current!.warmup!.offloaded).toBe(false);
  });

  it("never changes a response, though the candidate predicts other labels", async () => {
    for (const cls of CLASSES) {
      const withShadow = await answer(shadow, cls);
      expect(withShadow).toEqual(await answer(plain, cls));
      expect(withShadow.model.version).toBe("1");
      // One request at a time, so the bounded queue (1) never drops here.
      await shadow.rollout.shadow!.drain();
    }
  });

  it("measures label agreement and latency per variant off the response path", async () => {
    const snap = shadow.rollout.snapshot().shadow;
    expect(snap).toMatchObject({ compared: 10, agreed: 0, agreement: 0, dropped: 0 });
    expect(snap.latencyP95MsByVariant.stable).toBeGreaterThan(0);
    expect(snap.latencyP95MsByVariant.candidate).toBeGreaterThan(0);
    const comparisons = { model: "fashion-classifier", model_version: "2" };
    expect(
      await metricValue(shadow, "plinth_shadow_comparisons_total", { ...comparisons, outcome: "disagree" }),
    ).toBe(10);
    expect(
      await metricValue(shadow, "plinth_shadow_comparisons_total", { ...comparisons, outcome: "agree" }),
    ).toBe(0);
    const durations = await shadow.metrics.registry.getSingleMetricAsString(
      "plinth_shadow_scoring_duration_seconds",
    );
    expect(durations).toContain(
      'plinth_shadow_scoring_duration_seconds_count{model="fashion-classifier",model_version="2",variant="candidate"} 10',
    );
    expect(durations).toContain(
      'plinth_shadow_scoring_duration_seconds_count{model="fashion-classifier",model_version="1",variant="stable"} 10',
    );
    // The candidate scored for the shadow only: no request was answered by it.
    expect(await metricValue(shadow, "plinth_http_requests_total", { variant: "candidate" })).toBe(0);
  });

  it("drops and counts what exceeds SHADOW_QUEUE_MAX while the candidate is busy", async () => {
    const candidate = requirePlinthModel(shadow.models.candidate!.current!, "the test");
    let release!: (probs: Float32Array) => void;
    const spy = vi
      .spyOn(candidate, "infer")
      .mockReturnValue(new Promise<Float32Array>((resolve) => (release = resolve)));
    const before = shadow.rollout.snapshot().shadow;
    for (const cls of [1, 2, 3]) expect((await answer(shadow, cls)).predictions[0]!.class_id).toBe(cls);
    expect(shadow.rollout.snapshot().shadow.dropped - before.dropped).toBe(2);
    // The stuck comparison finishes: the candidate "predicts" class 1 + shift, stable said 1.
    const probs = new Float32Array(10);
    probs[1 + CANDIDATE_SHIFT] = 1;
    release(probs);
    await shadow.rollout.shadow!.drain();
    const after = shadow.rollout.snapshot().shadow;
    expect(after.compared - before.compared).toBe(1);
    expect(await metricValue(shadow, "plinth_shadow_dropped_total", { model_version: "2" })).toBe(2);
    spy.mockRestore();
  });

  it("a failing candidate costs the response nothing and counts as a drop", async () => {
    const spy = vi
      .spyOn(requirePlinthModel(shadow.models.candidate!.current!, "the test"), "infer")
      .mockRejectedValue(new Error("boom"));
    const before = shadow.rollout.snapshot().shadow.dropped;
    expect(await answer(shadow, 6)).toEqual(await answer(plain, 6));
    await shadow.rollout.shadow!.drain();
    expect(shadow.rollout.snapshot().shadow.dropped - before).toBe(1);
    expect(shadow.rollout.snapshot().fallbacks.total).toBe(0);
    spy.mockRestore();
  });

  it("reports full agreement once the candidate predicts like stable", async () => {
    await publishVersion(shadow, "challenger", 0);
    const reload = await shadow.rollout.reload({ variant: "candidate", trigger: "api" });
    expect(reload[0]).toMatchObject({ result: "loaded", previousVersion: "2", version: "3" });
    const before = shadow.rollout.snapshot().shadow;
    for (const cls of [4, 5]) {
      await answer(shadow, cls);
      await shadow.rollout.shadow!.drain();
    }
    const after = shadow.rollout.snapshot().shadow;
    expect([after.compared - before.compared, after.agreed - before.agreed]).toEqual([2, 2]);
    expect(
      await metricValue(shadow, "plinth_shadow_comparisons_total", { model_version: "3", outcome: "agree" }),
    ).toBe(2);
  });
});

describe("where the candidate runs", () => {
  const candidate = "challenger";
  it.each([
    ["shadow", "auto", "always"],
    ["shadow", "never", "never"],
    ["shadow", "always", "always"],
    ["canary", "auto", "auto"],
    ["canary", "never", "never"],
  ])("with ROLLOUT_STRATEGY=%s and INFERENCE_OFFLOAD=%s: %s", (strategy, offload, expected) => {
    const config = loadConfig({
      ROLLOUT_STRATEGY: strategy,
      MODEL_CANDIDATE: candidate,
      INFERENCE_OFFLOAD: offload,
      INFERENCE_OFFLOAD_THRESHOLD_MS: "7",
    });
    expect(candidateOrt(config)).toEqual({ ...config.ort, offload: expected });
    expect(config.ort.offload).toBe(offload); // stable's own setting is untouched
  });
});

describe("shadow drift", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startRolloutService(
      { ROLLOUT_STRATEGY: "shadow", SHADOW_PERCENT: "100", DRIFT_MIN_SAMPLES: "10" },
      (r, version) => writeVersionFiles(r, version, { trainingSummary: {}, qualityReport: {} }),
    );
  });
  afterAll(() => svc?.close());

  it("feeds the copies the candidate scored to its drift window, against its own baseline", async () => {
    for (const cls of CLASSES) {
      await predictRow(svc, cls, TESTER_HEADERS);
      await svc.rollout.shadow!.drain();
    }
    const drift = svc.observability.drift;
    const entries = drift.summarise();
    const candidate = entries.find((e) => e.variant === "candidate");
    expect(candidate).toMatchObject({ version: "2", samples: 10 });
    // The same rows the baseline was built from: no drift to speak of.
    expect(candidate!.level).toBe("ok");
    expect(
      drift
        .variants()
        .map((v) => [v.variant, v.version, v.baseline])
        .sort(),
    ).toEqual([
      ["candidate", "2", "loaded"],
      ["stable", "1", "missing"],
    ]);
  });
});
