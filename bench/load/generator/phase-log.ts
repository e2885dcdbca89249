/**
 * Every request of one open-loop phase, as the generator's threads recorded it, and what can be
 * read from it over any window of the schedule: counts, latency from the intended send time (what
 * a client saw), latency charged to the server, how late the generator was, and stretches in which
 * the server answered nothing although requests were waiting.
 *
 * Latency charged to the server is a request's latency less the generator's part of it: the larger
 * of the time it was sent late while a connection was free, and the time its thread's event loop
 * was blocked while it was due, in flight or being read (an answer that arrives during a block is
 * read only after it; the same block also delays the sending of requests queued behind it).
 */
import { LatencyHistogram, type LatencySummary } from "../../stats/latency-histogram.js";
import { OpenLoopSchedule } from "../../stats/open-loop-schedule.js";
import type { ResponseCounts } from "../target.js";
import { LAG_BIN_MS, Outcome, RECORD, RECORD_FIELDS } from "./protocol.js";

/** Not recorded (yet): the phase is still running, or a worker died. */
const UNRECORDED = 255;

export interface WindowSummary extends ResponseCounts {
  readonly ratePerSecond: number;
  /** Requests due in the window. */
  readonly sent: number;
  /** 2xx responses per second over the window (longer when answers came in after it). */
  readonly achievedPerSecond: number;
  /** From the intended send time: 2xx answers, and unanswered requests at the deadline (a lower bound). */
  readonly latency: LatencySummary;
  /** The same requests, minus the time each waited on the generator with a connection idle. */
  readonly serviceLatency: LatencySummary;
  /** How late the generator sent requests that a connection was free for (p99 and max, ms). */
  readonly sentLate: { readonly p99Ms: number; readonly maxMs: number };
  /** The generator threads' worst event-loop delay in the window, ms. */
  readonly generatorLagMaxMs: number;
}

/** A stretch with requests waiting and no answer at all. */
export interface Stall {
  readonly fromMs: number;
  readonly toMs: number;
  /** Requests due in the stretch. */
  readonly due: number;
  /** The generator's worst event-loop delay in it: a stall the generator itself caused shows here. */
  readonly generatorLagMaxMs: number;
}

export class PhaseLog {
  readonly schedule: OpenLoopSchedule;
  readonly sentMs: Float64Array;
  readonly doneMs: Float64Array;
  readonly lateMs: Float64Array;
  readonly outcome: Uint8Array;
  /** The worst event-loop delay of any generator thread per {@link LAG_BIN_MS}, from the start. */
  lagBins: Float32Array = new Float32Array(0);
  /** Per thread, when its event loop was blocked: [from, to] pairs in time order. */
  private readonly blocked: Float64Array[];
  /** Latency charged to the server per request, worked out once every record is in. */
  private serviceMs: Float64Array | undefined;

  constructor(
    readonly ratePerSecond: number,
    readonly durationMs: number,
    /** The generator's clock (protocol.ts monotonicMs) at which request 0 was due. */
    readonly startEpochMs: number,
    /** Threads the schedule was shared between: request `i` went out on thread `i % threads`. */
    readonly threads = 1,
  ) {
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeError(`threads must be a positive integer, got ${threads}`);
    }
    this.blocked = Array.from({ length: threads }, () => new Float64Array(0));
    this.schedule = new OpenLoopSchedule(ratePerSecond, durationMs);
    const total = this.schedule.total;
    this.sentMs = new Float64Array(total).fill(NaN);
    this.doneMs = new Float64Array(total).fill(NaN);
    this.lateMs = new Float64Array(total).fill(NaN);
    this.outcome = new Uint8Array(total).fill(UNRECORDED);
  }

  get total(): number {
    return this.schedule.total;
  }

  /** Adds a thread's blocked intervals. */
  addBlocked(thread: number, pairs: Float64Array): void {
    if (!(thread >= 0 && thread < this.threads)) {
      throw new RangeError(`thread ${thread} is not one of the phase's ${this.threads}`);
    }
    this.blocked[thread] = pairs;
    this.serviceMs = undefined;
  }

  /** Adds a batch of worker records ({@link RECORD} layout). */
  add(records: Float64Array): void {
    this.serviceMs = undefined;
    for (let at = 0; at < records.length; at += RECORD_FIELDS) {
      const index = records[at + RECORD.index]!;
      this.sentMs[index] = records[at + RECORD.sentMs]!;
      this.doneMs[index] = records[at + RECORD.doneMs]!;
      this.outcome[index] = records[at + RECORD.outcome]!;
      this.lateMs[index] = records[at + RECORD.lateMs]!;
    }
  }

  /** Merges one worker's event-loop delay bins (the worst of all threads is kept). */
  addLag(bins: Float32Array): void {
    if (bins.length > this.lagBins.length) {
      const grown = new Float32Array(bins.length);
      grown.set(this.lagBins);
      this.lagBins = grown;
    }
    for (let bin = 0; bin < bins.length; bin++) this.lagBins[bin] = Math.max(this.lagBins[bin]!, bins[bin]!);
  }

  /** Requests never recorded: a worker stopped without accounting for them. */
  unrecorded(): number {
    return this.outcome.reduce((sum, outcome) => sum + (outcome === UNRECORDED ? 1 : 0), 0);
  }

  /** The worst generator event-loop delay over [fromMs, toMs). */
  lagMaxMs(fromMs: number, toMs: number): number {
    let worst = 0;
    const last = Math.min(this.lagBins.length, Math.ceil(toMs / LAG_BIN_MS));
    for (let bin = Math.max(0, Math.floor(fromMs / LAG_BIN_MS)); bin < last; bin++) {
      worst = Math.max(worst, this.lagBins[bin]!);
    }
    return worst;
  }

  /** Index range of the requests due in [fromMs, toMs). */
  private range(fromMs: number, toMs: number): [number, number] {
    const first = fromMs <= 0 ? 0 : this.schedule.dueBy(fromMs - 1e-9);
    const end = toMs <= 0 ? 0 : this.schedule.dueBy(toMs - 1e-9);
    return [first, Math.max(first, end)];
  }

  /** Indices of the requests due in [fromMs, toMs). */
  *indicesDue(fromMs: number, toMs: number): Generator<number> {
    const [first, end] = this.range(fromMs, toMs);
    for (let index = first; index < end; index++) yield index;
  }

  /** How long request `index` was held by the server: its latency less the generator's part. */
  serviceLatencyMs(index: number): number {
    this.serviceMs ??= this.chargeService();
    return this.serviceMs[index]!;
  }

  private chargeService(): Float64Array {
    const charged = new Float64Array(this.total);
    for (let index = 0; index < this.total; index++) {
      const intended = this.schedule.intendedAtMs(index);
      const done = this.doneMs[index]!;
      const late = this.lateMs[index]!;
      const blocked = blockedWithin(this.blocked[index % this.threads]!, intended, done);
      charged[index] = done - intended - Math.max(Number.isNaN(late) ? 0 : late, blocked);
    }
    return charged;
  }

  /**
   * Summary of the requests due in [fromMs, toMs) of the schedule (the whole phase by default),
   * leaving out those `excluded` says (e.g. due during an injected fault).
   */
  summarise(
    fromMs = 0,
    toMs = this.durationMs,
    excluded: (intendedMs: number) => boolean = () => false,
  ): WindowSummary {
    const [first, end] = this.range(fromMs, toMs);
    const client = new LatencyHistogram();
    const charged = new LatencyHistogram();
    const late = new LatencyHistogram();
    let sent = 0;
    let ok = 0;
    let non2xx = 0;
    let failed = 0;
    let lastAnswerMs = 0;
    for (let index = first; index < end; index++) {
      const intended = this.schedule.intendedAtMs(index);
      if (excluded(intended)) continue;
      sent += 1;
      const outcome = this.outcome[index]!;
      const done = this.doneMs[index]!;
      const lateMs = this.lateMs[index]!;
      if (!Number.isNaN(lateMs)) late.record(lateMs);
      if (outcome === Outcome.non2xx) non2xx += 1;
      else if (outcome !== Outcome.ok) failed += 1;
      if (outcome === Outcome.ok || outcome === Outcome.unanswered) {
        client.record(this.schedule.latencyMs(index, done));
        charged.record(this.serviceLatencyMs(index));
      }
      if (outcome === Outcome.ok) {
        ok += 1;
        lastAnswerMs = Math.max(lastAnswerMs, done);
      }
    }
    const windowMs = Math.max(toMs - fromMs, lastAnswerMs - fromMs);
    return {
      ratePerSecond: this.ratePerSecond,
      sent,
      ok,
      non2xx,
      failed,
      achievedPerSecond: windowMs > 0 ? (ok * 1000) / windowMs : 0,
      latency: client.summary(),
      serviceLatency: charged.summary(),
      sentLate: { p99Ms: late.percentileMs(99), maxMs: late.summary().maxMs },
      generatorLagMaxMs: this.lagMaxMs(fromMs, toMs),
    };
  }

  /**
   * Stretches of at least `minMs` in which no request was answered (or failed) although one was
   * waiting all along: the server stopped, or the generator did (its lag says which).
   */
  stalls(minMs: number): Stall[] {
    const answers = this.doneMs.filter(
      (done, index) => !Number.isNaN(done) && this.outcome[index] !== Outcome.unanswered,
    );
    answers.sort();
    const stalls: Stall[] = [];
    let previous = 0;
    const consider = (toMs: number) => {
      // A request due at least `minMs` before the next answer waited that long with nothing
      // answered; at a low rate a quiet second between two prompt answers is no stall.
      const [first, end] = this.range(previous, Math.min(toMs - minMs, this.durationMs));
      if (toMs - previous >= minMs && end > first) {
        const [, dueEnd] = this.range(previous, Math.min(toMs, this.durationMs));
        stalls.push({
          fromMs: previous,
          toMs,
          due: dueEnd - first,
          generatorLagMaxMs: this.lagMaxMs(previous, toMs),
        });
      }
      previous = toMs;
    };
    for (const done of answers) consider(done);
    // Unanswered requests at the end: the last answer to the deadline.
    const deadline = this.doneMs.reduce(
      (latest, done, index) => (this.outcome[index] === Outcome.unanswered ? Math.max(latest, done) : latest),
      previous,
    );
    consider(deadline);
    return stalls;
  }
}

/** How much of [fromMs, toMs] the sorted [from, to] `pairs` cover. */
export function blockedWithin(pairs: Float64Array, fromMs: number, toMs: number): number {
  if (!(toMs > fromMs)) return 0;
  // The first pair that ends after fromMs (pairs are in time order and do not overlap).
  let low = 0;
  let high = pairs.length / 2;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (pairs[mid * 2 + 1]! <= fromMs) low = mid + 1;
    else high = mid;
  }
  let covered = 0;
  for (let pair = low; pair * 2 < pairs.length && pairs[pair * 2]! < toMs; pair++) {
    covered += Math.min(toMs, pairs[pair * 2 + 1]!) - Math.max(fromMs, pairs[pair * 2]!);
  }
  return covered;
}
