import { describe, expect, it } from "vitest";
import { bucketOf, BUCKETS, candidateBuckets, routesToCandidate } from "../../../service/rollout/buckets.js";

const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function candidateShare(weight: number): number {
  return KEYS.filter((k) => routesToCandidate(k, weight)).length;
}

describe("canary buckets", () => {
  it.each([0, 10, 50, 100])("sends %i%% of 10k keys to the candidate, within 4 sigma", (weight) => {
    const n = KEYS.length;
    const p = weight / 100;
    const sigma = Math.sqrt(n * p * (1 - p));
    const got = candidateShare(weight);
    // At 0 and 100 the split is exact (sigma 0): no key may leak.
    expect(Math.abs(got - n * p)).toBeLessThanOrEqual(4 * sigma);
  });

  it("is sticky: a key always lands in the same bucket", () => {
    for (const key of KEYS.slice(0, 500)) expect(bucketOf(key)).toBe(bucketOf(`${key}`));
    expect(bucketOf("user-42")).toBe(bucketOf("user-42"));
    expect(bucketOf("user-42")).not.toBe(bucketOf("user-43"));
  });

  it("raising the weight only moves keys from stable to candidate", () => {
    const weights = [0, 1, 5, 10, 25, 50, 75, 99, 100];
    const buckets = new Map(KEYS.map((k) => [k, bucketOf(k)]));
    let previous = new Set<string>();
    for (const weight of weights) {
      const current = new Set(KEYS.filter((k) => buckets.get(k)! < candidateBuckets(weight)));
      for (const key of previous) expect(current.has(key)).toBe(true);
      expect(current.size).toBeGreaterThanOrEqual(previous.size);
      previous = current;
    }
    expect(previous.size).toBe(KEYS.length);
  });

  it("honours hundredths of a percent and covers the whole bucket range", () => {
    expect(candidateBuckets(0.01)).toBe(1);
    expect(candidateBuckets(12.34)).toBe(1234);
    expect(candidateBuckets(100)).toBe(BUCKETS);
    const buckets = KEYS.map(bucketOf);
    expect(Math.min(...buckets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...buckets)).toBeLessThan(BUCKETS);
  });
});
