/**
 * What a load phase sends, and where. Targets carry a port, never a host: every request of the
 * bench goes to {@link LOOPBACK}, so no option or typo can point load at another machine.
 */

/** The only address the bench sends traffic to. */
export const LOOPBACK = "127.0.0.1";

export interface HttpTarget {
  readonly port: number;
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** HTTPS, trusting only this CA (PEM), e.g. through the local stack's edge. */
  readonly tls?: { readonly ca: string };
}

/** Load parameters shared by every saturation phase (floors, service, peer alike). */
export interface LoadShape {
  /** Concurrent keep-alive connections. */
  readonly connections: number;
  /** Requests in flight per connection (1: no HTTP pipelining). */
  readonly pipelining: number;
}

export function loopbackOrigin(port: number, scheme: "http" | "https" = "http"): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`not a TCP port: ${port}`);
  return `${scheme}://${LOOPBACK}:${port}`;
}

/** The target's origin: https when it has a CA to trust. */
export function targetOrigin(target: HttpTarget): string {
  return loopbackOrigin(target.port, target.tls === undefined ? "http" : "https");
}

/** Outcome counts common to both kinds of load phase. */
export interface ResponseCounts {
  /** Responses with a 2xx status: the only ones counted as throughput or recorded as latency. */
  readonly ok: number;
  /** Responses with any other status. */
  readonly non2xx: number;
  /** Requests that got no response (connection errors, timeouts, still in flight at the deadline). */
  readonly failed: number;
}

/** Share of requests that did not succeed; a phase above {@link MAX_FAILURE_SHARE} is not a valid figure. */
export function failureShare(counts: ResponseCounts): number {
  const total = counts.ok + counts.non2xx + counts.failed;
  return total === 0 ? 1 : (counts.non2xx + counts.failed) / total;
}

/** 0.1 %: a phase with more failures than this measured an error path, not the service. */
export const MAX_FAILURE_SHARE = 0.001;
