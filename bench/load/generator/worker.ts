/**
 * One thread of the open-loop generator (see ./index.ts). Its work per request is constant however
 * many requests are due or in flight: the requests it owes are two counters (due, sent) over its
 * share of the schedule, its idle connections a set, and nothing is registered per request on a
 * shared object. (The generator this replaced gave every request a listener on one AbortSignal;
 * adding one walks the signal's whole list, so 40,000 requests in flight cost 5.5 s of CPU to
 * register, and a short stall of the service turned into a minute-long stall of the generator.)
 *
 * A due request goes out on an idle connection picked at random (see {@link idle}), or waits until
 * one is free: with every connection busy the server holds them all, and that wait is the
 * server's. What the generator owes is the time a request waited while a connection was idle
 * ({@link RECORD}.lateMs) and the time its event loop was blocked (reported as intervals).
 */
import { parentPort, workerData } from "node:worker_threads";
import { Client } from "undici";
import { targetOrigin } from "../target.js";
import {
  BLOCKED_MIN_MS,
  IDLE_KEEP_ALIVE_MS,
  LAG_BIN_MS,
  monotonicMs,
  Outcome,
  RECORD_FIELDS,
  type FromWorker,
  type PhaseOrder,
  type ToWorker,
  type WorkerSetup,
} from "./protocol.js";

const setup = workerData as WorkerSetup;
const port = parentPort!;
const { target, connections, worker, workers } = setup;
const body = target.body === undefined ? null : Buffer.from(target.body);
/** Records sent to the main thread at most this often (and when a batch is full). */
const FLUSH_MS = 100;
const BATCH_RECORDS = 4096;
/** The event-loop delay probe's period. */
const LAG_PROBE_MS = 10;

const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

function newClient(): Client {
  return new Client(targetOrigin(target), {
    pipelining: 1,
    keepAliveTimeout: IDLE_KEEP_ALIVE_MS,
    keepAliveMaxTimeout: IDLE_KEEP_ALIVE_MS,
    ...(target.tls === undefined ? {} : { connect: { ca: target.tls.ca } }),
  });
}

const clients = Array.from({ length: connections }, newClient);
/** Bumped when a connection is cut at a deadline, so its late answer is not recorded twice. */
const generation = new Uint32Array(connections);
/** The request each connection carries, or -1. */
const carrying = new Int32Array(connections).fill(-1);
const sentAt = new Float64Array(connections);
const lateBy = new Float64Array(connections);
/** When each connection last became idle, in ms after the phase's start. */
const idleSince = new Float64Array(connections).fill(-Infinity);

/**
 * Idle connections, a request going to one picked at random. Not the longest idle: that gives every
 * connection the same count of requests, and nginx retires each after 1,000, so all of them needed
 * a new TLS handshake in the same second (soak at 3,608 req/s: a generator thread blocked 496 ms
 * every ~250 s). At random, the counts spread (about 32 either way at 1,000) and so do the
 * handshakes, and a connection is still picked often enough never to idle out.
 */
const idle = {
  members: new Int32Array(connections),
  size: 0,
  push(connection: number) {
    this.members[this.size] = connection;
    this.size += 1;
  },
  take(): number {
    const at = Math.floor(Math.random() * this.size);
    const connection = this.members[at]!;
    this.size -= 1;
    this.members[at] = this.members[this.size]!;
    return connection;
  },
};
for (let c = 0; c < connections; c++) idle.push(c);

async function exchange(connection: number, onError: (err: unknown) => void = () => {}): Promise<Outcome> {
  try {
    const response = await clients[connection]!.request({
      method: target.method,
      path: target.path,
      headers: target.headers,
      body,
    });
    await response.body.dump();
    return response.statusCode >= 200 && response.statusCode < 300 ? Outcome.ok : Outcome.non2xx;
  } catch (err) {
    onError(err);
    return Outcome.failed;
  }
}

async function warm(): Promise<void> {
  // Every connection at once, so each is opened (and its TLS handshake done) before any phase.
  let error: string | undefined;
  const outcomes = await Promise.all(
    clients.map((_, c) =>
      exchange(c, (err) => {
        error ??= err instanceof Error ? err.message : String(err);
      }),
    ),
  );
  const failed = outcomes.filter((outcome) => outcome === Outcome.failed).length;
  post({ type: "warmed", failed, ...(error === undefined ? {} : { error }) });
}

class Phase {
  private readonly startMs: number;
  /** This worker's requests: worker, worker + workers, ... below the phase's total. */
  private nextDue: number;
  private nextSent: number;
  private batch = new Float64Array(BATCH_RECORDS * RECORD_FIELDS);
  private batched = 0;
  private readonly lagBins: Float32Array;
  private readonly blocked: number[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private tickTimer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(private readonly order: PhaseOrder) {
    this.startMs = order.startEpochMs;
    this.nextDue = worker;
    this.nextSent = worker;
    const lastDueMs = this.intendedMs(order.total - 1);
    this.lagBins = new Float32Array(Math.ceil((lastDueMs + order.graceMs) / LAG_BIN_MS) + 1);
    idleSince.fill(-Infinity);
    let expected = this.elapsed() + LAG_PROBE_MS;
    this.timers.push(
      setInterval(() => {
        const now = this.elapsed();
        this.noteDelay(expected, now);
        expected = now + LAG_PROBE_MS;
      }, LAG_PROBE_MS),
      setInterval(() => this.flush(), FLUSH_MS),
      setTimeout(() => this.deadline(), Math.max(0, lastDueMs + order.graceMs - this.elapsed())),
    );
  }

  /** Starts sending (apart from the constructor: a worker with nothing to send finishes at once). */
  start(): void {
    this.tick();
  }

  /**
   * The probe was due at `expectedMs` and ran at `nowMs`: the loop was blocked in between. Every
   * lag bin the block covers gets it, and a block long enough is kept as an interval.
   */
  private noteDelay(expectedMs: number, nowMs: number): void {
    const delay = nowMs - expectedMs;
    if (delay <= 0) return;
    const last = Math.min(this.lagBins.length - 1, Math.floor(nowMs / LAG_BIN_MS));
    for (let bin = Math.max(0, Math.floor(expectedMs / LAG_BIN_MS)); bin <= last; bin++) {
      this.lagBins[bin] = Math.max(this.lagBins[bin]!, delay);
    }
    if (delay >= BLOCKED_MIN_MS) this.blocked.push(expectedMs, nowMs);
  }

  private elapsed(): number {
    return monotonicMs() - this.startMs;
  }

  private intendedMs(index: number): number {
    return (index * 1000) / this.order.ratePerSecond;
  }

  /** Marks every request due by now as owed, sends what idle connections allow, sleeps until the next. */
  private tick = (): void => {
    this.tickTimer = undefined;
    const now = this.elapsed();
    const { total } = this.order;
    while (this.nextDue < total && this.intendedMs(this.nextDue) <= now) this.nextDue += workers;
    this.dispatch();
    if (this.nextDue < total) {
      // Timers fire no sooner than 1 ms: fast rates send in small bursts, each request still timed
      // from its own intended instant.
      this.tickTimer = setTimeout(this.tick, Math.max(1, this.intendedMs(this.nextDue) - now));
    }
  };

  dispatch(): void {
    while (this.nextSent < this.nextDue && idle.size > 0) {
      const index = this.nextSent;
      this.nextSent += workers;
      this.send(idle.take(), index);
    }
    if (this.nextSent >= this.order.total && idle.size === connections) this.finish();
  }

  private send(connection: number, index: number): void {
    const now = this.elapsed();
    carrying[connection] = index;
    sentAt[connection] = now;
    lateBy[connection] = Math.max(0, now - Math.max(this.intendedMs(index), idleSince[connection]!));
    const sent = generation[connection]!;
    void exchange(connection).then((outcome) => {
      if (generation[connection] !== sent || this.finished) return;
      const done = this.elapsed();
      this.record(index, sentAt[connection]!, done, outcome, lateBy[connection]!);
      carrying[connection] = -1;
      idleSince[connection] = done;
      idle.push(connection);
      this.dispatch();
    });
  }

  private record(index: number, sentMs: number, doneMs: number, outcome: Outcome, lateMs: number): void {
    const at = this.batched * RECORD_FIELDS;
    this.batch[at] = index;
    this.batch[at + 1] = sentMs;
    this.batch[at + 2] = doneMs;
    this.batch[at + 3] = outcome;
    this.batch[at + 4] = lateMs;
    this.batched += 1;
    if (this.batched === BATCH_RECORDS) this.flush();
  }

  private flush(): void {
    if (this.batched === 0) return;
    const records = this.batch.slice(0, this.batched * RECORD_FIELDS);
    this.batched = 0;
    post({ type: "records", phase: this.order.phase, records }, [records.buffer as ArrayBuffer]);
  }

  /**
   * The grace period is over: what is still in flight or unsent is recorded unanswered at this
   * instant (a lower bound on its latency), and the connections carrying it are replaced, so an
   * answer that never comes cannot hold one into the next phase.
   */
  private deadline(): void {
    if (this.finished) return;
    const now = this.elapsed();
    for (let c = 0; c < connections; c++) {
      const index = carrying[c]!;
      if (index < 0) continue;
      this.record(index, sentAt[c]!, now, Outcome.unanswered, lateBy[c]!);
      carrying[c] = -1;
      generation[c]! += 1;
      void clients[c]!.destroy().catch(() => undefined);
      clients[c] = newClient();
      idle.push(c);
    }
    this.nextDue = Math.max(this.nextDue, this.order.total);
    for (let index = this.nextSent; index < this.order.total; index += workers) {
      this.record(index, NaN, now, Outcome.unanswered, NaN);
    }
    this.nextSent = this.nextDue;
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const timer of this.timers) clearInterval(timer);
    if (this.tickTimer !== undefined) clearTimeout(this.tickTimer);
    this.flush();
    const lagBins = this.lagBins;
    const blocked = Float64Array.from(this.blocked);
    post({ type: "done", phase: this.order.phase, lagBins, blocked }, [
      lagBins.buffer as ArrayBuffer,
      blocked.buffer as ArrayBuffer,
    ]);
    current = undefined;
  }
}

let current: Phase | undefined;

port.on("message", (message: ToWorker) => {
  try {
    switch (message.type) {
      case "warm":
        void warm();
        break;
      case "run":
        if (current !== undefined) throw new Error("a phase is already running");
        current = new Phase(message);
        current.start();
        break;
      case "close":
        void Promise.allSettled(clients.map((client) => client.destroy())).then(() => {
          post({ type: "closed" });
          port.close();
        });
        break;
    }
  } catch (err) {
    post({ type: "failed", message: err instanceof Error ? err.message : String(err) });
  }
});
