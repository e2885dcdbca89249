/**
 * API-key verification. Keys are held only as sha256 digests; a presented key is hashed and
 * compared against every digest with `timingSafeEqual`, without an early exit, so neither the
 * position of a match nor a partial match shows in the response time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { ApiKeyEntry } from "../config.js";

export class ApiKeyVerifier {
  private readonly entries: readonly { identity: string; digest: Buffer }[];

  constructor(keys: readonly ApiKeyEntry[]) {
    this.entries = keys.map((k) => ({ identity: k.identity, digest: Buffer.from(k.sha256, "hex") }));
  }

  get size(): number {
    return this.entries.length;
  }

  /** The identity owning `key`, or undefined. */
  verify(key: string): string | undefined {
    const digest = createHash("sha256").update(key, "utf8").digest();
    let identity: string | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(digest, entry.digest) && identity === undefined) identity = entry.identity;
    }
    return identity;
  }
}
