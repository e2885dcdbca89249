/**
 * Latency at a fixed request rate, coordinated omission corrected: an open-loop generator sends
 * request `i` at its intended time from {@link OpenLoopSchedule} whether or not earlier requests
 * have answered, and records each 2xx latency from that intended time.
 *
 * The pool may open enough connections for every request to stay in flight for
 * {@link OPEN_LOOP_IN_FLIGHT_SECONDS} at the rate (Little's law), and never fewer than asked.
 * Open loop means many independent clients: with a fixed 32 connections at 1,780 req/s, a mean
 * latency above 18 ms (one GC pause and the batches queued behind it) left the generator unable to
 * send as fast as the schedule, its own queue grew without bound and a transient stall became
 * thousands of timeouts, with the service at 72 % CPU. Requests the pool cannot send yet still wait
 * in undici's queue; that wait is part of their latency, as it would be for a client. When the run ends, requests still in flight
 * after the grace period are aborted, counted as failed, and recorded at the deadline (a lower
 * bound), so an overloaded server cannot hide its slowest requests by never answering them.
 */
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { performance } from "node:perf_hooks";
import { Pool, type Dispatcher } from "undici";
import { LatencyHistogram, type LatencySummary } from "../stats/latency-histogram.js";
import { OpenLoopSchedule } from "../stats/open-loop-schedule.js";
import { targetOrigin, type HttpTarget, type ResponseCounts } from "./target.js";

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
}

export interface FixedRateResult extends ResponseCounts {
  readonly ratePerSecond: number;
  readonly sent: number;
  /** 2xx responses per second, from the start to the last response (below the rate when the server falls behind). */
  readonly achievedPerSecond: number;
  /** Latency of 2xx responses, plus aborted stragglers at the deadline, from intended send time. */
  readonly latency: LatencySummary;
}

/** Idle connections stay open this long (undici's default of 4 s would close them between bursts). */
export const IDLE_KEEP_ALIVE_MS = 120_000;

/** What an open-loop phase sends through: undici's Pool, or the soak's SpreadPool. */
export interface RequestPool {
  request(options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  destroy(): Promise<void>;
}

/** A warm-up request unanswered after this long is given up (the phase itself will count it). */
const WARM_TIMEOUT_MS = 10_000;

/** The target's request, as undici takes it. */
export function targetRequest(target: HttpTarget, signal: AbortSignal): Dispatcher.RequestOptions {
  return {
    method: target.method,
    path: target.path,
    headers: target.headers,
    body: target.body ?? null,
    signal,
  };
}

/** A warm-up request, given up after {@link WARM_TIMEOUT_MS} (the phase itself will count it). */
export function warmRequest(target: HttpTarget): Dispatcher.RequestOptions {
  return targetRequest(target, AbortSignal.timeout(WARM_TIMEOUT_MS));
}

/** A connection pool for open-loop phases against `target`, holding up to `connections`. */
export function openLoopPool(target: HttpTarget, connections: number): Pool {
  return new Pool(targetOrigin(target), {
    connections,
    pipelining: 1,
    keepAliveTimeout: IDLE_KEEP_ALIVE_MS,
    keepAliveMaxTimeout: IDLE_KEEP_ALIVE_MS,
    ...(target.tls === undefined ? {} : { connect: { ca: target.tls.ca } }),
  });
}

/**
 * Opens `count` connections of `pool` before anything is measured, by sending that many of the
 * target's requests at once (answers discarded). Over TLS, connections opened on demand in the
 * middle of a phase arrive exactly when the server is slowest: hundreds of handshakes at once on
 * top of the stall that made them necessary.
 */
export async function warmConnections(pool: Pool, target: HttpTarget, count: number): Promise<void> {
  await Promise.allSettled(
    Array.from({ length: count }, () =>
      pool.request(warmRequest(target)).then((response) => response.body.dump()),
    ),
  );
}

/**
 * One open-loop phase. With `shared`, requests go through that pool (opened and warmed by the
 * caller, kept across phases); otherwise the phase opens, warms and closes its own.
 */
export async function runFixedRate(
  target: HttpTarget,
  options: FixedRateOptions,
  shared?: RequestPool,
): Promise<FixedRateResult> {
  const schedule = new OpenLoopSchedule(options.ratePerSecond, options.durationSeconds * 1000);
  const histogram = new LatencyHistogram();
  const connections = openLoopConnections(options.ratePerSecond, options.connections);
  let pool: RequestPool;
  if (shared === undefined) {
    const own = openLoopPool(target, connections);
    await warmConnections(own, target, connections);
    pool = own;
  } else {
    pool = shared;
  }
  const abort = new AbortController();
  // Every request of the phase listens to the one signal.
  setMaxListeners(0, abort.signal);
  let stopped = false;
  const pending = new Map<number, Promise<void>>();
  let ok = 0;
  let non2xx = 0;
  let failed = 0;
  let lastResponseMs = 0;
  const start = performance.now();

  const send = (index: number): void => {
    const request = pool
      .request(targetRequest(target, abort.signal))
      .then(async (response) => {
        await response.body.dump();
        lastResponseMs = performance.now() - start;
        if (response.statusCode >= 200 && response.statusCode < 300) {
          ok += 1;
          histogram.record(schedule.latencyMs(index, lastResponseMs));
        } else {
          non2xx += 1;
        }
      })
      .catch(() => {
        // Requests cut off by the deadline are counted as stragglers below, not as failures.
        if (!stopped) failed += 1;
      })
      .finally(() => pending.delete(index));
    pending.set(index, request);
  };

  let next = 0;
  while (next < schedule.total) {
    const due = schedule.dueBy(performance.now() - start);
    while (next < due) send(next++);
    // Sleep until the next request is due; timers fire no sooner than 1 ms, so fast rates send in
    // small bursts, each request still timed from its own intended instant.
    const wait = schedule.intendedAtMs(next) - (performance.now() - start);
    if (next < schedule.total) await sleep(Math.max(1, wait));
  }

  await Promise.race([Promise.allSettled([...pending.values()]), sleep(options.graceSeconds * 1000)]);
  const deadline = performance.now() - start;
  const stragglers = [...pending.keys()];
  for (const index of stragglers) histogram.record(schedule.latencyMs(index, deadline));
  stopped = true;
  // Aborting rejects everything still queued or in flight (a shared pool stays open).
  abort.abort();
  await Promise.allSettled([...pending.values()]);
  if (shared === undefined) await pool.destroy();

  return {
    ratePerSecond: options.ratePerSecond,
    sent: schedule.total,
    ok,
    non2xx,
    failed: failed + stragglers.length,
    // Responses that arrive during the grace period stretch the window they are counted over.
    achievedPerSecond: (ok * 1000) / Math.max(schedule.durationMs, lastResponseMs),
    latency: histogram.summary(),
  };
}
