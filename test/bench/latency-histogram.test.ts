import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../../bench/stats/latency-histogram.js";

/** HdrHistogram with 3 significant digits: values are exact to 0.1 %. */
function expectWithinPrecision(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * 0.001);
}

describe("LatencyHistogram", () => {
  it("reports percentiles of 1..1000 ms as the nearest-rank values", () => {
    const h = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) h.record(ms);
    const s = h.summary();
    expect(s.count).toBe(1000);
    expectWithinPrecision(s.p50Ms, 500);
    expectWithinPrecision(s.p90Ms, 900);
    expectWithinPrecision(s.p99Ms, 990);
    expectWithinPrecision(s.p999Ms, 999);
    expectWithinPrecision(s.maxMs, 1000);
    expectWithinPrecision(s.meanMs, 500.5);
  });

  it("keeps sub-millisecond latencies to the microsecond", () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 99; i++) h.record(0.25);
    h.record(0.75);
    expect(h.percentileMs(50)).toBe(0.25);
    expect(h.percentileMs(100)).toBe(0.75);
  });

  it("reports zeros, not NaN, when nothing was recorded", () => {
    expect(new LatencyHistogram().summary()).toEqual({
      count: 0,
      meanMs: 0,
      p50Ms: 0,
      p90Ms: 0,
      p99Ms: 0,
      p999Ms: 0,
      maxMs: 0,
    });
  });

  it("clamps latencies beyond two minutes instead of throwing", () => {
    const h = new LatencyHistogram();
    h.record(10 * 60_000);
    h.record(-5);
    expect(h.count).toBe(2);
    expectWithinPrecision(h.summary().maxMs, 120_000);
    expect(h.percentileMs(0)).toBe(0.001);
  });
});
