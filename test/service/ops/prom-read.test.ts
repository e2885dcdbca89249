import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { bucketDelta, mergedBuckets, quantile } from "../../../service/ops/prom-read.js";

describe("quantile from histogram buckets", () => {
  const buckets = { bounds: [0.1, 0.5, 1, Infinity], counts: [10, 50, 100, 100] };

  it("interpolates linearly inside the bucket holding the rank, as histogram_quantile does", () => {
    expect(quantile(buckets, 0.95)).toBeCloseTo(0.5 + (0.5 * (95 - 50)) / 50, 12);
    expect(quantile(buckets, 0.05)).toBeCloseTo(0.05, 12);
    expect(quantile(buckets, 0.5)).toBeCloseTo(0.5, 12);
  });

  it("answers the largest finite bound for a rank in +Inf, and null without observations", () => {
    expect(quantile({ bounds: [0.1, Infinity], counts: [1, 10] }, 0.95)).toBe(0.1);
    expect(quantile({ bounds: [0.1, Infinity], counts: [0, 0] }, 0.95)).toBeNull();
  });

  it("subtracts an earlier snapshot bucket by bucket", () => {
    const earlier = { bounds: [0.1, 0.5, 1, Infinity], counts: [5, 10, 20, 20] };
    expect(bucketDelta(buckets, earlier).counts).toEqual([5, 40, 80, 80]);
    expect(bucketDelta(buckets, undefined)).toBe(buckets);
  });

  it("merges a prom-client histogram's series selected by labels", async () => {
    const h = new Histogram({
      name: "t_seconds",
      help: "t",
      labelNames: ["route"],
      buckets: [0.1, 1],
      registers: [new Registry()],
    });
    h.labels("/a").observe(0.05);
    h.labels("/a").observe(0.5);
    h.labels("/b").observe(0.05);
    h.labels("/c").observe(5);
    const merged = await mergedBuckets(h, (l) => l.route !== "/c");
    expect(merged).toEqual({ bounds: [0.1, 1, Infinity], counts: [2, 3, 3] });
  });
});
