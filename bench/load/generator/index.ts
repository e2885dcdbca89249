/**
 * The open-loop load generator: worker threads (./worker.ts), each holding its share of the
 * connections and sending its share of the schedule, so one stalled event loop cannot stop the
 * load, and the main thread, which only gathers their records into a {@link PhaseLog}. Open it once,
 * run phases on its warm connections, close it.
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { HttpTarget } from "../target.js";
import { PhaseLog } from "./phase-log.js";
import { monotonicMs, type FromWorker, type ToWorker, type WorkerSetup } from "./protocol.js";
import { startTypeScriptWorker } from "./ts-worker.js";

export interface GeneratorOptions {
  /** Keep-alive connections in all, shared out between the threads. */
  readonly connections: number;
  /** Threads sending load. @default the machine's cores, at most 4 */
  readonly threads?: number;
}

export interface PhaseOptions {
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  /** How long to wait for answers after the last request was due. */
  readonly graceSeconds: number;
  /** Called with the instant request 0 is due ({@link monotonicMs}). */
  readonly onStart?: (startEpochMs: number) => void;
}

/** Lead time between ordering a phase and its first request, so every thread starts on time. */
const START_LEAD_MS = 50;
/** How long closing waits for the threads to close their connections before terminating them. */
const CLOSE_TIMEOUT_MS = 5000;

/** Threads used when not told: one per core, up to 4 (more adds switching, not load). */
export function defaultThreads(): number {
  return Math.min(4, Math.max(1, availableParallelism()));
}

export class OpenLoopGenerator {
  private phases = 0;
  private listeners = new Set<(worker: number, message: FromWorker) => void>();
  /** Threads that have exited: nothing is waited for from them again. */
  private readonly exited = new Set<number>();

  private constructor(private readonly workers: readonly Worker[]) {
    workers.forEach((worker, index) => {
      worker.on("message", (message: FromWorker) => {
        for (const listener of this.listeners) listener(index, message);
      });
      worker.once("exit", () => this.exited.add(index));
    });
  }

  /** Starts the threads and opens every connection (one request each, answers discarded). */
  static async open(target: HttpTarget, options: GeneratorOptions): Promise<OpenLoopGenerator> {
    const threads = options.threads ?? defaultThreads();
    if (!Number.isInteger(options.connections) || options.connections < 1) {
      throw new RangeError(`connections must be a positive integer, got ${options.connections}`);
    }
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeError(`threads must be a positive integer, got ${threads}`);
    }
    const count = Math.min(threads, options.connections);
    const workers = Array.from({ length: count }, (_, worker) => {
      const setup: WorkerSetup = {
        target,
        // Every thread sends the same share of the schedule, so each gets the same connections.
        connections: Math.ceil(options.connections / count),
        worker,
        workers: count,
      };
      return startTypeScriptWorker(new URL("./worker.ts", import.meta.url), setup);
    });
    const generator = new OpenLoopGenerator(workers);
    try {
      let failed = 0;
      let error: string | undefined;
      await generator.everyWorker({ type: "warm" }, "warmed", (message) => {
        if (message.type !== "warmed") return;
        failed += message.failed;
        error ??= message.error;
      });
      const opened = workers.length * Math.ceil(options.connections / count);
      // Some may fail (a server closing connections it thinks idle); none opening is a wrong target.
      if (failed === opened) {
        throw new Error(
          `load generator could not open any of its ${opened} connections to port ${target.port}: ${error ?? "no answer"}`,
        );
      }
    } catch (err) {
      await Promise.all(workers.map((worker) => worker.terminate()));
      throw err;
    }
    return generator;
  }

  get threads(): number {
    return this.workers.length;
  }

  /** Sends `order` to every thread and resolves when each has answered `reply`. */
  private everyWorker(
    order: ToWorker,
    reply: FromWorker["type"],
    onMessage: (message: FromWorker, worker: number) => void = () => {},
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiting = new Set([...this.workers.keys()].filter((index) => !this.exited.has(index)));
      if (waiting.size === 0) return reject(new Error("load generator threads have all exited"));
      const cleanUp = () => {
        this.listeners.delete(listener);
        for (const worker of this.workers) worker.off("error", fail).off("exit", onExit);
      };
      const fail = (err: Error) => {
        cleanUp();
        reject(new Error(`load generator thread failed: ${err.message}`));
      };
      // A thread exits on its own only after answering "closed".
      const onExit = (code: number) => {
        if (reply !== "closed") fail(new Error(`exited with code ${code}`));
      };
      const listener = (worker: number, message: FromWorker) => {
        if (message.type === "failed") return fail(new Error(message.message));
        onMessage(message, worker);
        if (message.type !== reply) return;
        waiting.delete(worker);
        if (waiting.size === 0) {
          cleanUp();
          resolve();
        }
      };
      this.listeners.add(listener);
      for (const worker of this.workers) worker.on("error", fail).on("exit", onExit);
      for (const worker of this.workers) worker.postMessage(order);
    });
  }

  /** One open-loop phase; resolves with every request's record once all are answered or given up. */
  async run(options: PhaseOptions): Promise<PhaseLog> {
    const phase = ++this.phases;
    const startEpochMs = monotonicMs() + START_LEAD_MS;
    const log = new PhaseLog(
      options.ratePerSecond,
      options.durationSeconds * 1000,
      startEpochMs,
      this.threads,
    );
    if (log.total < 1) {
      throw new RangeError(
        `a phase needs at least one request: ${options.ratePerSecond} req/s for ${options.durationSeconds} s has none`,
      );
    }
    options.onStart?.(startEpochMs);
    await this.everyWorker(
      {
        type: "run",
        phase,
        startEpochMs,
        ratePerSecond: options.ratePerSecond,
        total: log.total,
        graceMs: options.graceSeconds * 1000,
      },
      "done",
      (message, worker) => {
        if (message.type === "records" && message.phase === phase) log.add(message.records);
        if (message.type === "done" && message.phase === phase) {
          log.addLag(message.lagBins);
          log.addBlocked(worker, message.blocked);
        }
      },
    );
    const missing = log.unrecorded();
    if (missing > 0) throw new Error(`load generator lost ${missing} of ${log.total} requests' records`);
    return log;
  }

  /** Closes every connection and stops the threads (terminated if they have not closed in time). */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.everyWorker({ type: "close" }, "closed").catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS))),
      ]);
    } finally {
      clearTimeout(timer);
      await Promise.all(this.workers.map((worker) => worker.terminate()));
    }
  }
}
