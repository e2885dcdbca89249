/**
 * Dynamic micro-batching: one queueing policy for every served model.
 *
 * Requests enqueue units of rows; a batch is started when the engine is free and either
 * `maxBatchSize` rows are waiting or the oldest row has waited `maxDelayMs`. While a batch runs,
 * arrivals accumulate, and the next batch takes them as soon as the engine is free: under load
 * batches grow by themselves, at low load a lone row waits at most `maxDelayMs`. Rows beyond
 * `queueMaxRows` are refused at once ({@link QueueFullError}, a 503 OVERLOADED) so overload shows
 * up as fast 503s instead of ever-growing latency.
 *
 * What a unit is, which units may share a run, and how a run's output splits back per request is a
 * {@link BatchKind}: {@link MicroBatcher} joins plinth models' Float32 rows for a
 * {@link BatchRunner}; graph models join whole tensors (graph-batcher.ts).
 */
import { performance } from "node:perf_hooks";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { BatchRunner } from "./runner.js";

/** The batching settings (`BATCH_MAX_SIZE`, `BATCH_MAX_DELAY_MS`, `QUEUE_MAX_ROWS`). */
export interface BatchPolicy {
  readonly maxBatchSize: number;
  readonly maxDelayMs: number;
  readonly queueMaxRows: number;
}

export interface BatcherOptions extends BatchPolicy {
  readonly inputSize: number;
  readonly outputSize: number;
}

/** Observes batching for metrics; every callback is on the hot path and must be cheap. */
export interface BatchObserver {
  batch(rows: number, runSeconds: number): void;
  queueWait(seconds: number, rows: number): void;
  rejected(rows: number): void;
}

/** The inference queue is full: 503 OVERLOADED with Retry-After, whichever path it surfaces on. */
export class QueueFullError extends ApiError {
  constructor(message: string) {
    // The queue drains in milliseconds, so clients may retry at once.
    super(ErrorCode.OVERLOADED, message, { "retry-after": "1" });
  }
}

/** A request waiting for a batch: its unit and how many rows it holds. */
export interface Queued<U> {
  readonly unit: U;
  readonly rows: number;
}

interface Pending<U, R> extends Queued<U> {
  readonly enqueuedAt: number;
  readonly resolve: (result: R) => void;
  readonly reject: (err: Error) => void;
}

/**
 * How requests of one kind share a run: `U` is a request's unit, `J` a run's joined output, `R` a
 * request's result.
 */
export interface BatchKind<U, J, R> {
  /**
   * Whether `next` may run in one batch with `first` (the oldest waiting request). Absent: any may,
   * and a batch takes the queue's head in order; else incompatible requests wait for a later batch.
   */
  readonly compatible?: (first: U, next: U) => boolean;
  /** Runs `batch` (`rows` rows in all, in order) once; the engine's own run time in seconds. */
  run(batch: readonly Queued<U>[], rows: number): Promise<{ readonly output: J; readonly seconds: number }>;
  /** The result of the request holding rows `[offset, offset + rows)` of a run of `batchRows` rows; a throw fails that request alone. */
  split(output: J, offset: number, rows: number, batchRows: number): R;
  /**
   * Whether a joined run's output splits by rows; false: each of its requests runs alone instead
   * (its answer alone is right), so none fails for batching's sake. Absent: it always does. Only
   * asked of a run of several requests.
   */
  readonly splittable?: (output: J, rows: number) => boolean;
  /**
   * When a run of several requests throws: true bisects, re-running each half joined and splitting
   * only a half that throws again, so a request that breaks the run fails alone, with its own error,
   * at about 2*log2(N) extra runs, and the others are answered; false fails them all with the run's
   * error.
   */
  readonly bisect?: boolean;
}

export class DynamicBatcher<U, J, R> {
  private queue: Pending<U, R>[] = [];
  private queuedRows = 0;
  private running = false;
  /** The pending start of a batch: a timer, or an immediate when `maxDelayMs` is 0. */
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly kind: BatchKind<U, J, R>,
    private readonly policy: BatchPolicy,
    private readonly observer: BatchObserver,
  ) {}

  /** Rows waiting (not yet in a running batch). */
  get depth(): number {
    return this.queuedRows;
  }

  /**
   * Resolves to the result of `unit` (`rows` rows) once a batch holding it has run. A unit larger
   * than `maxBatchSize` runs as a batch of its own. Rejects with {@link QueueFullError} when the
   * queue is full.
   */
  submit(unit: U, rows: number): Promise<R> {
    const full = this.admit(rows);
    return full === undefined ? this.enqueue(unit, rows) : Promise.reject(full);
  }

  /** Resolves once the queue is empty and no batch is running. */
  drain(): Promise<void> {
    if (!this.running && this.queuedRows === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The error refusing `rows` more rows (counted as rejected), or undefined when they fit. */
  protected admit(rows: number): QueueFullError | undefined {
    const { queueMaxRows } = this.policy;
    if (this.queuedRows + rows <= queueMaxRows) return undefined;
    this.observer.rejected(rows);
    return new QueueFullError(`inference queue full (${this.queuedRows} of ${queueMaxRows} rows)`);
  }

  /** Queues an admitted unit. */
  protected enqueue(unit: U, rows: number): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ unit, rows, enqueuedAt: performance.now(), resolve, reject });
      this.queuedRows += rows;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return; // the running batch's completion takes the queue
    if (this.queuedRows >= this.policy.maxBatchSize) {
      this.clearTimer();
      void this.flush();
    } else if (this.timer === undefined && this.queuedRows > 0) {
      const start = () => {
        this.timer = undefined;
        void this.flush();
      };
      // Node runs a timer after 1 ms at the soonest: 0 means the next turn of the event loop, so
      // only the requests that arrive in the same turn (or while a batch runs) join.
      const { maxDelayMs } = this.policy;
      this.timer = maxDelayMs === 0 ? setImmediate(start) : setTimeout(start, maxDelayMs);
    }
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    if (this.policy.maxDelayMs === 0) clearImmediate(this.timer as NodeJS.Immediate);
    else clearTimeout(this.timer as NodeJS.Timeout);
    this.timer = undefined;
  }

  /**
   * Removes the next batch from the queue: the head, then the requests that may join it, up to
   * maxBatchSize rows. Among compatible requests the order holds: one that does not fit ends the
   * batch. Incompatible ones keep their place for a later batch.
   */
  private take(): Pending<U, R>[] {
    const queue = this.queue;
    const { maxBatchSize } = this.policy;
    const compatible = this.kind.compatible;
    let rows = queue[0]!.rows;
    if (compatible === undefined) {
      let take = 1;
      while (take < queue.length && rows + queue[take]!.rows <= maxBatchSize) rows += queue[take++]!.rows;
      if (take === queue.length) {
        this.queue = [];
        return queue;
      }
      this.queue = queue.slice(take);
      return queue.slice(0, take);
    }
    const first = queue[0]!;
    const batch = [first];
    const rest: Pending<U, R>[] = [];
    let open = true;
    for (let i = 1; i < queue.length; i++) {
      const p = queue[i]!;
      if (open && compatible(first.unit, p.unit)) {
        if (rows + p.rows <= maxBatchSize) {
          batch.push(p);
          rows += p.rows;
          continue;
        }
        open = false;
      }
      rest.push(p);
    }
    this.queue = rest;
    return batch;
  }

  /** Takes the next batch and runs it; then the next, while requests wait. */
  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.clearTimer();
    const batch = this.take();
    const now = performance.now();
    let rows = 0;
    for (const p of batch) {
      rows += p.rows;
      this.observer.queueWait((now - p.enqueuedAt) / 1000, p.rows);
    }
    this.queuedRows -= rows;

    this.running = true;
    try {
      const ran = await this.kind.run(batch, rows);
      if (batch.length > 1 && this.kind.splittable?.(ran.output, rows) === false) {
        await this.eachAlone(batch);
      } else {
        this.observer.batch(rows, ran.seconds);
        this.settle(batch, ran.output, rows);
      }
    } catch (err) {
      await this.failed(batch, err as Error);
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

  /** Answers each request of a run with its part of the output (a failed split fails it alone). */
  private settle(batch: readonly Pending<U, R>[], output: J, rows: number): void {
    let offset = 0;
    for (const p of batch) {
      try {
        p.resolve(this.kind.split(output, offset, p.rows, rows));
      } catch (err) {
        p.reject(err as Error);
      }
      offset += p.rows;
    }
  }

  /** A run of `batch` threw `err`: its halves retried (`bisect`), or all of it failed with `err`. */
  private async failed(batch: readonly Pending<U, R>[], err: Error): Promise<void> {
    if (batch.length === 1 || this.kind.bisect !== true) {
      for (const p of batch) p.reject(err); // settles only those not answered yet
      return;
    }
    const half = batch.length >>> 1;
    await this.retry(batch.slice(0, half));
    await this.retry(batch.slice(half));
  }

  /**
   * Runs `part` of a failed batch joined and answers it; when that throws again, bisects it in turn
   * (a lone request then fails with its own error); when its output does not split, runs each alone.
   */
  private async retry(part: readonly Pending<U, R>[]): Promise<void> {
    let rows = 0;
    for (const p of part) rows += p.rows;
    let ran: { readonly output: J; readonly seconds: number };
    try {
      ran = await this.kind.run(part, rows);
    } catch (err) {
      await this.failed(part, err as Error);
      return;
    }
    if (part.length > 1 && this.kind.splittable?.(ran.output, rows) === false) {
      await this.eachAlone(part);
      return;
    }
    this.observer.batch(rows, ran.seconds);
    this.settle(part, ran.output, rows);
  }

  /** Runs each request of `batch` alone, one after another; one that throws fails with its own error. */
  private async eachAlone(batch: readonly Pending<U, R>[]): Promise<void> {
    for (const p of batch) await this.retry([p]);
  }
}

/** Plinth models' rows: each request's Float32 rows copied into one reused buffer, one run. */
function float32Rows(
  runner: BatchRunner,
  options: BatcherOptions,
): BatchKind<Float32Array, Float32Array, Float32Array> {
  const { inputSize, outputSize } = options;
  const buffer = new Float32Array(options.maxBatchSize * inputSize);
  return {
    run(batch, rows) {
      if (batch.length === 1) return runner.run(batch[0]!.unit, rows);
      let offset = 0;
      for (const p of batch) {
        buffer.set(p.unit, offset);
        offset += p.unit.length;
      }
      return runner.run(buffer.subarray(0, rows * inputSize), rows);
    },
    split: (output, offset, rows) => output.subarray(offset * outputSize, (offset + rows) * outputSize),
  };
}

/** Batches rows of a fixed-size Float32 input for a {@link BatchRunner} (plinth models). */
export class MicroBatcher extends DynamicBatcher<Float32Array, Float32Array, Float32Array> {
  private readonly maxBatchSize: number;
  private readonly inputSize: number;
  private readonly outputSize: number;

  constructor(runner: BatchRunner, options: BatcherOptions, observer: BatchObserver) {
    super(float32Rows(runner, options), options, observer);
    ({ maxBatchSize: this.maxBatchSize, inputSize: this.inputSize, outputSize: this.outputSize } = options);
  }

  /**
   * Scores `rows` rows (`input.length === rows * inputSize`); resolves to their outputs
   * (`rows * outputSize` values). Rejects with {@link QueueFullError} when the queue is full.
   */
  override submit(input: Float32Array, rows: number): Promise<Float32Array> {
    const { maxBatchSize, inputSize, outputSize } = this;
    const full = this.admit(rows);
    if (full !== undefined) return Promise.reject(full);
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
}
