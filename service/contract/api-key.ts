/**
 * How an API key is kept: by its sha256 only. The service hashes API_KEYS at start; the platform
 * hashes the keys it provisions into API_KEY_HASHES, so both sides must hash the same way.
 */
import { createHash } from "node:crypto";

/** Hex sha256 of an API key: the only form in which a key is kept in memory. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}
