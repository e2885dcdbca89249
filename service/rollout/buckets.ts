/**
 * Sticky canary buckets. A routing key hashes to one of 10,000 buckets; the candidate takes the
 * buckets below `weight * 100`. The bucket depends on the key alone, so a key stays on its variant
 * while the weight holds, and raising the weight only adds buckets to the candidate: keys move from
 * stable to candidate, never back.
 */
import { createHash } from "node:crypto";

export const BUCKETS = 10_000;

/** The key's bucket in [0, BUCKETS): the first 48 bits of its sha256, reduced. */
export function bucketOf(key: string): number {
  const digest = createHash("sha256").update(key, "utf8").digest();
  return digest.readUIntBE(0, 6) % BUCKETS;
}

/** Buckets the candidate owns at `weightPercent` (0-100, hundredths honoured). */
export function candidateBuckets(weightPercent: number): number {
  return Math.round(weightPercent * (BUCKETS / 100));
}

export function routesToCandidate(key: string, weightPercent: number): boolean {
  return bucketOf(key) < candidateBuckets(weightPercent);
}
