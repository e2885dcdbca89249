/**
 * Bounds how much of the candidate's queued and running work one caller may hold
 * (CANDIDATE_IDENTITY_SHARE of QUEUE_MAX_ROWS). The candidate serves a small slice of traffic, so
 * its queue is easy to fill: without a bound one caller could crowd every other caller of the
 * slice out and decide alone what the rollout's evaluation measures. Over its share, a caller's
 * request is refused (429, {@link overShare}), which is the caller's doing, never the model's: it
 * does not count toward the circuit.
 */
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { ServingRequest } from "../serving/serving-request.js";

/**
 * What the HTTP adapter's request carries beyond {@link ServingRequest} (fastify's request has
 * both): the authenticated principal's identity and the client address (after TRUST_PROXY).
 */
type IdentifiedRequest = ServingRequest & {
  readonly principal: { readonly roles: readonly string[]; readonly identity?: string } | null;
  readonly ip?: string;
};

/**
 * Who a request counts against: the authenticated principal (as the rate limit counts it), else
 * the client address. Never the sticky header: a client chooses that freely, and a new value per
 * request would make a new caller per request.
 */
export function routingIdentity(request: IdentifiedRequest): string {
  const identity = request.principal?.identity;
  if (identity !== undefined && identity !== "") return identity;
  // An adapter that knows neither puts all its anonymous callers in one share: the strict choice.
  return request.ip === undefined || request.ip === "" ? "anonymous" : `address:${request.ip}`;
}

export class IdentityShares {
  private readonly held = new Map<string, number>();

  constructor(
    /** Rows one identity may hold at once. */
    readonly limitRows: number,
  ) {}

  /** Rows `identity` holds now. */
  heldBy(identity: string): number {
    return this.held.get(identity) ?? 0;
  }

  /**
   * Takes `rows` for `identity`; false when that would exceed its share. A caller holding nothing
   * always gets one request through, whatever its size (MAX_ROWS_PER_REQUEST may exceed a share).
   */
  tryAcquire(identity: string, rows: number): boolean {
    const held = this.heldBy(identity);
    if (held > 0 && held + rows > this.limitRows) return false;
    this.held.set(identity, held + rows);
    return true;
  }

  release(identity: string, rows: number): void {
    const left = this.heldBy(identity) - rows;
    // Delete at zero: the map holds only callers with work in flight, so it cannot grow unbounded.
    if (left <= 0) this.held.delete(identity);
    else this.held.set(identity, left);
  }
}

/** The 429 of a caller over its share of the candidate; Retry-After 1: the queue drains in ms. */
export function overShare(shares: IdentityShares, identity: string): ApiError {
  return new ApiError(
    ErrorCode.RATE_LIMITED,
    `too many requests in flight on the candidate model from this caller: it holds ` +
      `${shares.heldBy(identity)} of the ${shares.limitRows} rows one caller may (CANDIDATE_IDENTITY_SHARE)`,
    { "retry-after": "1" },
  );
}
