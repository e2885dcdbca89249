/**
 * Latency at a fixed request rate, coordinated omission corrected: an open-loop generator
 * (./generator) sends request `i` at its intended time from {@link OpenLoopSchedule} whether or not
 * earlier requests have answered, and records each latency from that intended time.
 *
 * The generator may open enough connections for every request to stay in flight for
 * {@link OPEN_LOOP_IN_FLIGHT_SECONDS} at the rate (Little's law), and never fewer than asked.
 * Open loop means many independent clients: with a fixed 32 connections at 1,780 req/s, a mean
 * latency above 18 ms (one GC pause and the batches queued behind it) left the generator unable to
 * send as fast as the schedule and a transient stall became thousands of timeouts. A request that
 * finds every connection busy waits for one; that wait is part of its latency, as it would be for
 * a client. Requests still unanswered after the grace period are counted as failed and recorded at
 * the deadline (a lower bound), so an overloaded server cannot hide its slowest requests by never
 * answering them.
 *
 * With `warmupSeconds`, the same rate runs first on the same connections, unmeasured: the first
 * seconds of a rate on freshly opened connections carry a transient that the steady state does not
 * (measured 2026-12-05 on the service at 5,769 PNG req/s over 1,443 connections: p99 48-200 ms in
 * the first phase, 5-8 ms in the next ones on the same connections, warm service or not).
 */
import { OpenLoopGenerator } from "./generator/index.js";
import type { WindowSummary } from "./generator/phase-log.js";
import type { HttpTarget } from "./target.js";

/** How long every request may be in flight at the target rate before requests queue client-side. */
export const OPEN_LOOP_IN_FLIGHT_SECONDS = 0.25;

/** The connections an open-loop phase may open: `floor`, or more when the rate needs them. */
export function openLoopConnections(ratePerSecond: number, floor: number): number {
  return Math.max(floor, Math.ceil(ratePerSecond * OPEN_LOOP_IN_FLIGHT_SECONDS));
}

export interface FixedRateOptions {
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  /** Keep-alive connections the generator may open at least ({@link openLoopConnections}). */
  readonly connections: number;
  /** How long to wait for stragglers after the last request was due. */
  readonly graceSeconds: number;
  /** Seconds of the same rate on the same connections before the measured phase, discarded. @default 0 */
  readonly warmupSeconds?: number;
}

/** One fixed-rate phase's outcome (./generator/phase-log.ts says what each figure counts). */
export type FixedRateResult = WindowSummary;

/**
 * One open-loop phase. With `generator`, requests go through it (opened and warmed by the caller,
 * kept across phases); otherwise the phase opens, warms and closes its own.
 */
export async function runFixedRate(
  target: HttpTarget,
  options: FixedRateOptions,
  generator?: OpenLoopGenerator,
): Promise<FixedRateResult> {
  const own =
    generator ??
    (await OpenLoopGenerator.open(target, {
      connections: openLoopConnections(options.ratePerSecond, options.connections),
    }));
  try {
    const warmup = options.warmupSeconds ?? 0;
    if (warmup > 0) await own.run({ ...options, durationSeconds: warmup });
    const log = await own.run(options);
    return log.summarise();
  } finally {
    if (generator === undefined) await own.close();
  }
}
