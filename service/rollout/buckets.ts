/**
 * Sticky canary buckets. A routing key hashes to one of 10,000 buckets; the candidate takes the
 * buckets below `weight * 100`. The bucket depends on the key alone, so a key stays on its variant
 * while the weight holds, and raising the weight only adds buckets to the candidate: keys move from
 * stable to candidate, never back.
 *
 * The key is client-chosen (the sticky header), so the hash is keyed (HMAC-SHA256 with
 * ROLLOUT_BUCKET_KEY): without the secret a client cannot compute keys that land on the candidate.
 * It can still find them by trying, one request at a time (a response names the variant that
 * answered); what bounds a flood of found keys is the per-caller share of the candidate
 * (./identity-share.ts), and only the candidate's own failures count toward its circuit. Every
 * replica must hold the same secret for a key to stay on one variant whichever replica answers.
 */
import { createHmac, randomBytes } from "node:crypto";

export const BUCKETS = 10_000;

/** Shortest bucket secret accepted: 256 bits of a random printable secret. */
export const MIN_BUCKET_KEY_LENGTH = 32;

/** Buckets the candidate owns at `weightPercent` (0-100, hundredths honoured). */
export function candidateBuckets(weightPercent: number): number {
  return Math.round(weightPercent * (BUCKETS / 100));
}

export class CanaryBuckets {
  private readonly secret: Buffer;

  constructor(secret: string | Buffer) {
    this.secret = typeof secret === "string" ? Buffer.from(secret, "utf8") : secret;
    if (this.secret.length < MIN_BUCKET_KEY_LENGTH)
      throw new Error(
        `canary bucket key: ${this.secret.length} bytes, expected at least ${MIN_BUCKET_KEY_LENGTH}`,
      );
  }

  /**
   * A bucket map with a random secret: a split of the right size, but one only this process
   * knows, so a key's variant differs between replicas (what ROLLOUT_BUCKET_KEY is for).
   */
  static withRandomKey(): CanaryBuckets {
    return new CanaryBuckets(randomBytes(MIN_BUCKET_KEY_LENGTH));
  }

  /** The key's bucket in [0, BUCKETS): the first 48 bits of its HMAC-SHA256, reduced. */
  bucketOf(key: string): number {
    const digest = createHmac("sha256", this.secret).update(key, "utf8").digest();
    return digest.readUIntBE(0, 6) % BUCKETS;
  }

  routesToCandidate(key: string, weightPercent: number): boolean {
    return this.bucketOf(key) < candidateBuckets(weightPercent);
  }
}
