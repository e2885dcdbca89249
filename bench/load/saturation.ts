/**
 * Saturation throughput: closed-loop load from autocannon, every connection sending its next
 * request as soon as the previous answer arrives. Only 2xx responses count as throughput. Its
 * latencies are only used for the scaling curves, labelled closed loop: a closed loop under-reports
 * them (see OpenLoopSchedule), so no check reads them.
 */
import autocannon from "autocannon";
import { targetOrigin, type HttpTarget, type LoadShape, type ResponseCounts } from "./target.js";

export interface SaturationResult extends ResponseCounts {
  /** 2xx responses per second. */
  readonly requestsPerSecond: number;
  readonly durationSeconds: number;
  /** autocannon's p99 (closed loop: under-reported under overload). */
  readonly closedLoopP99Ms: number;
}

/** Runs autocannon for `durationSeconds` (bounded by autocannon itself) and counts the outcome. */
export async function runSaturation(
  target: HttpTarget,
  shape: LoadShape,
  durationSeconds: number,
): Promise<SaturationResult> {
  const result = await autocannon({
    url: targetOrigin(target) + target.path,
    // autocannon does not verify certificates; the name only keeps an IP address out of SNI.
    ...(target.tls === undefined ? {} : { servername: "localhost", tlsOptions: { ca: target.tls.ca } }),
    method: target.method,
    headers: { ...target.headers },
    ...(target.body === undefined ? {} : { body: target.body }),
    connections: shape.connections,
    pipelining: shape.pipelining,
    duration: durationSeconds,
    timeout: Math.max(2, durationSeconds),
  });
  const ok = result["2xx"];
  return {
    ok,
    non2xx: result.non2xx,
    failed: result.errors,
    durationSeconds: result.duration,
    requestsPerSecond: result.duration > 0 ? ok / result.duration : 0,
    closedLoopP99Ms: result.latency.p99,
  };
}
