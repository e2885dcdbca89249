/**
 * What the open-loop generator's threads tell each other. The main thread owns the schedule's
 * parameters and the phase log; each worker thread owns its connections and sends every
 * `workers`-th request of the schedule (request `i` goes to worker `i % workers`).
 */
import type { HttpTarget } from "../target.js";

/**
 * The clock every thread of the generator (and the soak around it) reads, in milliseconds: the
 * process's monotonic clock, the same in every thread (each thread's `performance.timeOrigin` is
 * its own wall-clock start, and a clock step between two thread starts would shift one against
 * the other).
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Fixed at the worker's start. */
export interface WorkerSetup {
  readonly target: HttpTarget;
  /** Keep-alive connections this worker holds. */
  readonly connections: number;
  /** This worker's number, 0 .. workers - 1. */
  readonly worker: number;
  readonly workers: number;
}

/** One phase of the schedule: request `i` is due at `startEpochMs + i * 1000 / ratePerSecond`. */
export interface PhaseOrder {
  readonly type: "run";
  readonly phase: number;
  /** {@link monotonicMs} at which request 0 is due. */
  readonly startEpochMs: number;
  readonly ratePerSecond: number;
  /** Requests in the whole phase, over all workers. */
  readonly total: number;
  /** How long after the last request was due the unanswered ones are given up. */
  readonly graceMs: number;
}

export type ToWorker = PhaseOrder | { readonly type: "warm" } | { readonly type: "close" };

export type FromWorker =
  | { readonly type: "warmed"; readonly failed: number; readonly error?: string }
  | { readonly type: "records"; readonly phase: number; readonly records: Float64Array }
  | {
      readonly type: "done";
      readonly phase: number;
      /** The worker's worst event-loop delay in each {@link LAG_BIN_MS} of the phase, in ms. */
      readonly lagBins: Float32Array;
      /**
       * When the worker's event loop was blocked: [from, to] pairs in ms after the phase's start.
       * An answer that arrived then was read late, and a request due then was sent late.
       */
      readonly blocked: Float64Array;
    }
  | { readonly type: "closed" }
  | { readonly type: "failed"; readonly message: string };

/**
 * A request's record: its index, when it was sent and answered (ms after the phase's start; NaN
 * when never sent), its {@link Outcome}, and how late the generator sent it ({@link lateMs}).
 */
export const RECORD = { index: 0, sentMs: 1, doneMs: 2, outcome: 3, lateMs: 4 } as const;
export const RECORD_FIELDS = 5;

export const Outcome = {
  /** A 2xx answer. */
  ok: 0,
  /** An answer with any other status. */
  non2xx: 1,
  /** No answer: the connection failed. */
  failed: 2,
  /** Still unanswered (or unsent) when the grace period ran out; recorded at that deadline. */
  unanswered: 3,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** Width of the bins the workers' event-loop delay is reported in. */
export const LAG_BIN_MS = 100;

/** A delay of the worker's event-loop probe above this is recorded as a blocked interval. */
export const BLOCKED_MIN_MS = 5;

/** Idle connections stay open this long (undici's default of 4 s would close them between bursts). */
export const IDLE_KEEP_ALIVE_MS = 120_000;
