import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BUCKETS, CanaryBuckets, candidateBuckets } from "../../../service/rollout/buckets.js";

const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
const SECRET = "rollout-bucket-key-0123456789abcdef";
const buckets = new CanaryBuckets(SECRET);

function candidateShare(weight: number): number {
  return KEYS.filter((k) => buckets.routesToCandidate(k, weight)).length;
}

/** The bucket plain sha256 gave a key before buckets were keyed: anyone could compute it. */
function unkeyedBucket(key: string): number {
  return createHash("sha256").update(key, "utf8").digest().readUIntBE(0, 6) % BUCKETS;
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
    for (const key of KEYS.slice(0, 500)) expect(buckets.bucketOf(key)).toBe(buckets.bucketOf(`${key}`));
    expect(buckets.bucketOf("user-42")).toBe(buckets.bucketOf("user-42"));
    expect(buckets.bucketOf("user-42")).not.toBe(buckets.bucketOf("user-43"));
  });

  it("raising the weight only moves keys from stable to candidate", () => {
    const weights = [0, 1, 5, 10, 25, 50, 75, 99, 100];
    const bucketOfKey = new Map(KEYS.map((k) => [k, buckets.bucketOf(k)]));
    let previous = new Set<string>();
    for (const weight of weights) {
      const current = new Set(KEYS.filter((k) => bucketOfKey.get(k)! < candidateBuckets(weight)));
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
    const all = KEYS.map((k) => buckets.bucketOf(k));
    expect(Math.min(...all)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...all)).toBeLessThan(BUCKETS);
  });
});

describe("keyed canary buckets (issue #24)", () => {
  const sample = KEYS.slice(0, 2000);

  it("are the same in two instances with the same key: every replica routes a key alike", () => {
    const replica = new CanaryBuckets(SECRET);
    for (const key of sample) expect(replica.bucketOf(key)).toBe(buckets.bucketOf(key));
  });

  it("depend on the key: another secret puts almost every sticky key in another bucket", () => {
    const other = new CanaryBuckets("another-rollout-bucket-key-fedcba9876");
    const same = sample.filter((key) => other.bucketOf(key) === buckets.bucketOf(key)).length;
    // Independent buckets agree by chance 1 time in 10,000.
    expect(same).toBeLessThan(5);
  });

  it("cannot be computed without the secret: they are not the plain sha256 buckets", () => {
    const same = sample.filter((key) => unkeyedBucket(key) === buckets.bucketOf(key)).length;
    expect(same).toBeLessThan(5);
  });

  it("give a random-key instance its own split of the right size", () => {
    const a = CanaryBuckets.withRandomKey();
    const b = CanaryBuckets.withRandomKey();
    const same = sample.filter((key) => a.bucketOf(key) === b.bucketOf(key)).length;
    expect(same).toBeLessThan(5);
    const share = KEYS.filter((k) => a.routesToCandidate(k, 50)).length;
    expect(Math.abs(share - 5000)).toBeLessThanOrEqual(4 * Math.sqrt(2500));
  });

  it("refuses a secret shorter than 32 bytes, saying how long it was", () => {
    expect(() => new CanaryBuckets("too-short")).toThrow(/9 bytes, expected at least 32/);
  });
});
