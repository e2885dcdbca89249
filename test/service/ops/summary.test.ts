/** GET /ops/summary, field by field, on a canary and a shadow rollout of the fixture model. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpsSummary } from "../../../service/ops/summary.js";
import { writeVersionFiles } from "./version-files.js";
import { OPS_HEADERS, predictRow, startRolloutService } from "../rollout/rollout-fixture.js";
import type { TestService } from "../server/service-fixture.js";

const TRAINING_SUMMARY = {
  architecture: "fc(784->10)",
  test: { accuracy: 0.91, macroF1: 0.9 },
  finishedAt: "2026-01-02T03:04:05.000Z",
};
const QUALITY_REPORT = {
  passed: true,
  skipped: false,
  checks: [
    { name: "schema", status: "pass", message: "ok" },
    { name: "label_balance", status: "warn", message: "imbalanced" },
  ],
};

async function summary(svc: TestService): Promise<OpsSummary> {
  const res = await svc.app.inject({ method: "GET", url: "/ops/summary", headers: OPS_HEADERS });
  expect(res.statusCode).toBe(200);
  expect(res.headers["cache-control"]).toBe("no-store");
  return res.json() as OpsSummary;
}

describe("ops summary of a canary", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startRolloutService({
      ROLLOUT_STRATEGY: "canary",
      CANDIDATE_WEIGHT: "50",
      DRIFT_WINDOW_SIZE: "40",
      DRIFT_MIN_SAMPLES: "5",
    });
    await writeVersionFiles(svc.registry, "1", {
      trainingSummary: TRAINING_SUMMARY,
      qualityReport: QUALITY_REPORT,
    });
  });
  afterAll(() => svc.close());

  it("reports versions, aliases, strategy, weights, traffic, drift and training by value", async () => {
    await svc.observability.traffic.sample();
    const answered = { stable: 0, candidate: 0 };
    for (let i = 0; i < 40; i++) {
      const res = await predictRow(svc, i % 10, { ...OPS_HEADERS, "x-user-id": `user-${i}` });
      expect(res.status).toBe(200);
      answered[res.variantHeader as "stable" | "candidate"]++;
    }
    const [entry] = svc.observability.drift.summarise();
    const s = await summary(svc);

    expect(s.rollout).toMatchObject({
      model: "fashion-classifier",
      strategy: "canary",
      weights: { stable: 50, candidate: 50 },
      aliases: { champion: "1", challenger: "2" },
      circuit: { state: "closed", consecutiveFailures: 0 },
      fallbacks: { total: 0 },
    });
    expect(s.rollout.variants.stable).toMatchObject({ ref: "champion", version: "1", ready: true });
    expect(s.rollout.variants.candidate).toMatchObject({ ref: "challenger", version: "2", ready: true });

    expect(answered.stable).toBeGreaterThan(0);
    expect(answered.candidate).toBeGreaterThan(0);
    expect(s.traffic).toMatchObject({
      requests: 40,
      requestsByVariant: answered,
      errors: 0,
      errorRate: 0,
    });
    expect(s.traffic.p95Ms).toBeGreaterThan(0);
    expect(s.traffic.inferenceP95Ms).toBeGreaterThan(0);
    expect(Object.keys(s.traffic.inferenceP95MsByVariant).sort()).toEqual(["candidate", "stable"]);
    expect(s.traffic.series).toHaveLength(1);
    expect(s.traffic.series[0]!.errorRate).toBe(0);
    expect(Object.keys(s.traffic.series[0]!.requestsPerSecond).sort()).toEqual(["candidate", "stable"]);

    // Only stable's rows count for the stable window (the candidate has its own, without a baseline).
    expect(entry).toMatchObject({ variant: "stable", version: "1", samples: answered.stable });
    expect(s.drift).toEqual({
      score: entry!.score,
      level: entry!.level,
      trend: "steady",
      delta: null,
      predictionPsi: entry!.predictionPsi,
      samples: answered.stable,
      baseline: "loaded",
      unsupported: null,
      thresholds: { warn: 0.1, alert: 0.25 },
      topFeatures: expect.any(Array),
      history: [{ time: entry!.time, variant: "stable", score: entry!.score, level: entry!.level }],
    });
    expect(s.drift.topFeatures).toHaveLength(5);

    expect(s.training).toEqual({
      version: "1",
      architecture: "fc(784->10)",
      accuracy: 0.91,
      macroF1: 0.9,
      finishedAt: "2026-01-02T03:04:05.000Z",
      gate: { passed: true, skipped: false, failed: [], warned: ["label_balance"] },
    });
    expect(s.rollout.lastReload).toMatchObject({ trigger: "startup", result: "loaded" });
    expect(s.audit).toEqual([]);
  });

  it("changes nothing when read: 130 reads keep the same history", async () => {
    const kept = svc.observability.traffic.series().length;
    const first = await summary(svc);
    for (let i = 0; i < 130; i++) await summary(svc);
    const last = await summary(svc);
    // Each read ends its series with one point to now; the kept history is what it was.
    expect(svc.observability.traffic.series()).toHaveLength(kept);
    expect(last.traffic.series).toHaveLength(first.traffic.series.length);
    expect(last.traffic.series.slice(0, -1)).toEqual(first.traffic.series.slice(0, -1));
  });

  it("shows the last reload and its audit record after an admin reload", async () => {
    const res = await svc.app.inject({
      method: "POST",
      url: "/reload-model",
      headers: OPS_HEADERS,
      payload: { variant: "candidate" },
    });
    expect(res.statusCode).toBe(200);
    const s = await summary(svc);
    expect(s.rollout.lastReload).toMatchObject({
      variant: "candidate",
      trigger: "api",
      result: "unchanged",
      version: "2",
      by: "key:ops",
    });
    expect(s.audit.map((a) => [a.who, a.action, a.result, a.detail?.variant])).toEqual([
      ["key:ops", "reload-model", "ok", "candidate"],
    ]);
  });
});

describe("ops summary of a shadow rollout", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startRolloutService({ ROLLOUT_STRATEGY: "shadow", SHADOW_PERCENT: "100" });
  });
  afterAll(() => svc.close());

  it("reports the shadow agreement measured between the variants", async () => {
    for (let i = 0; i < 12; i++) expect((await predictRow(svc, i % 10, OPS_HEADERS)).status).toBe(200);
    // Shadow scoring runs off the response path; wait until it has compared every request.
    while (svc.rollout.snapshot().shadow.compared + svc.rollout.snapshot().shadow.dropped < 12) {
      await new Promise((r) => setImmediate(r));
    }
    const s = await summary(svc);
    expect(s.rollout.strategy).toBe("shadow");
    expect(s.rollout.shadowPercent).toBe(100);
    expect(s.rollout.shadow.compared).toBe(12 - s.rollout.shadow.dropped);
    // Version 2 answers k + 1 where version 1 answers k: they never agree.
    expect(s.rollout.shadow.agreed).toBe(0);
    expect(s.rollout.shadow.agreement).toBe(s.rollout.shadow.compared === 0 ? null : 0);
    expect(s.traffic.requestsByVariant).toEqual({ stable: 12 });
    expect(s.drift).toMatchObject({ score: null, baseline: "missing" });
    expect(s.training).toBeNull();
  });
});
