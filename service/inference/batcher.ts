/**
 * Dynamic micro-batching in front of a {@link BatchRunner}.
 *
 * Requests enqueue rows; a batch is started when the runner is free and either `maxBatchSize`
 * rows are waiting or the oldest row has waited `maxDelayMs`. While a batch runs, arrivals
 * accumulate, and the next batch takes them as soon as the runner is free: under load batches grow
 * by themselves, at low load a lone row waits at most `maxDelayMs`. Rows beyond `queueMaxRows`
 * are refused at once ({@link QueueFullError}) so overload shows up as fast 503s instead of
 * ever-growing latency.
 */
import { performance } from "node:perf_hooks";
import type { BatchRunner } from "./runner.js";

export interface BatcherOptions {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly maxBatchSize: number;
  readonly maxDelayMs: number;
  readonly queueMaxRows: number;
}

/** Observes batching for metrics; every callback is on the hot path and must be cheap. */
export interface BatchObserver {
  batch(rows: number, runSeconds: number): void;
  queueWait(seconds: number, rows: number): void;
  rejected(rows: number): void;
}

export class QueueFullError extends Error {
  override readonly name = "QueueFullError";
}

interface Pending {
  readonly input: Float32Array;
  readonly rows: number;
  readonly enqueuedAt: number;
  readonly resolve: (output: Float32Array) => void;
  readonly reject: (err: Error) => void;
}

export class MicroBatcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly batchBuffer: Float32Array;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly runner: BatchRunner,
    private readonly options: BatcherOptions,
    private readonly observer: BatchObserver,
  ) {
    this.batchBuffer = new Float32Array(options.maxBatchSize * options.inputSize);
  }

  /** Rows waiting (not yet in a running batch). */
  get depth(): number {
    return this.queuedRows;
  }

  /**
   * Scores `rows` rows (`input.length === rows * inputSize`); resolves to their outputs
   * (`rows * outputSize` values). Rejects with {@link QueueFullError} when the queue is full.
   */
  submit(input: Float32Array, rows: number): Promise<Float32Array> {
    const { maxBatchSize, queueMaxRows, inputSize, outputSize } = this.options;
    if (this.queuedRows + rows > queueMaxRows) {
      this.observer.rejected(rows);
      return Promise.reject(
        new QueueFullError(`inference queue full (${this.queuedRows} of ${queueMaxRows} rows)`),
      );
    }
    if (rows <= maxBatchSize) return this.enqueue(input, rows);
    // A request larger than a batch is split; its parts may share batches with other requests.
    const parts: Promise<Float32Array>[] = [];
    for (let start = 0; start < rows; start += maxBatchSize) {
      const n = Math.min(maxBatchSize, rows - start);
      parts.push(this.enqueue(input.subarray(start * inputSize, (start + n) * inputSize), n));
    }
    return Promise.all(parts).then((outputs) => {
      const joined = new Float32Array(rows * outputSize);
      let offset = 0;
      for (const part of outputs) {
        joined.set(part, offset);
        offset += part.length;
      }
      return joined;
    });
  }

  /** Resolves once the queue is empty and no batch is running. */
  drain(): Promise<void> {
    if (!this.running && this.queuedRows === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(input: Float32Array, rows: number): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, rows, enqueuedAt: performance.now(), resolve, reject });
      this.queuedRows += rows;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return; // the running batch's completion takes the queue
    if (this.queuedRows >= this.options.maxBatchSize) {
      this.clearTimer();
      void this.flush();
    } else if (this.timer === undefined && this.queuedRows > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.options.maxDelayMs);
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Takes up to maxBatchSize rows of whole requests from the head of the queue and runs them. */
  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.clearTimer();
    const { maxBatchSize, inputSize, outputSize } = this.options;
    let take = 0;
    let rows = 0;
    while (take < this.queue.length && rows + this.queue[take]!.rows <= maxBatchSize)
      rows += this.queue[take++]!.rows;
    const batch = this.queue.slice(0, take);
    this.queue = take === this.queue.length ? [] : this.queue.slice(take);
    this.queuedRows -= rows;

    const now = performance.now();
    let input: Float32Array;
    if (batch.length === 1) {
      input = batch[0]!.input;
    } else {
      let offset = 0;
      for (const p of batch) {
        this.batchBuffer.set(p.input, offset);
        offset += p.input.length;
      }
      input = this.batchBuffer.subarray(0, rows * inputSize);
    }
    for (const p of batch) this.observer.queueWait((now - p.enqueuedAt) / 1000, p.rows);

    this.running = true;
    try {
      const { output, seconds } = await this.runner.run(input, rows);
      this.observer.batch(rows, seconds);
      let offset = 0;
      for (const p of batch) {
        const size = p.rows * outputSize;
        p.resolve(output.subarray(offset, offset + size));
        offset += size;
      }
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
    } finally {
      this.running = false;
    }
    if (this.queue.length > 0) {
      // Rows that arrived during the run have waited at least one run: take them now.
      void this.flush();
    } else {
      this.clearTimer();
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
