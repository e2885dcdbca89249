/**
 * The prediction log: one JSON line per predicted row (time, prediction id, model, version,
 * variant, label and confidence or a regression's value, request latency, sha256 of the model
 * input).
 *
 * A request appends a small entry to an in-memory queue (bounded by PREDICTION_LOG_QUEUE_MAX;
 * when it is full the entry is dropped and counted), with its rows already digested: the queue
 * never holds a request's input buffer, which would otherwise outlive the young generation and be
 * collected by full GCs. Every PREDICTION_LOG_FLUSH_MS the queue is swapped out and written in one
 * append. A failed write drops that batch and is counted
 * and logged; requests never wait for the log and never fail because of it.
 */
import { hash } from "node:crypto";
import { endianness } from "node:os";
import type { FastifyBaseLogger } from "fastify";
import type { JsonlFile } from "../ops/jsonl-file.js";
import type { ObservabilityMetrics } from "../ops/metrics.js";

/** A line of the prediction log. */
export interface PredictionRecord {
  readonly time: string;
  /** The response's prediction_id (the request id). */
  readonly id: string;
  /** Row index within the request (requests may carry several rows). */
  readonly row: number;
  readonly model: string;
  readonly version: string;
  readonly variant: string;
  /** Classification: the top class's name and probability. */
  readonly label?: string;
  readonly confidence?: number;
  /** Regression: the row's value (or values). */
  readonly value?: number | readonly number[];
  /** Whole-request latency in milliseconds, as the HTTP duration histogram measures it. */
  readonly latency_ms: number;
  /**
   * sha256 of the row's model input: for plinth's models `inputSize` float32 values,
   * little-endian, normalised; for a configured model its input tensors' row (serving/row-digests.ts).
   */
  readonly input_sha256: string;
}

interface EntryBase {
  readonly timeMs: number;
  readonly id: string;
  readonly model: string;
  readonly version: string;
  readonly variant: string;
  readonly rows: number;
  readonly latencyMs: number;
}

/** The rows' model input: normalised float rows (digested when queued), or their digests. */
type RowsInput = { readonly data: Float32Array } | { readonly digests: readonly string[] };

/** What answered each row: a class and its probability, or a regression's value(s). */
type RowsAnswer =
  | {
      readonly labels: readonly string[];
      readonly classes: ArrayLike<number>;
      readonly confidences: ArrayLike<number>;
    }
  | { readonly values: readonly (number | readonly number[])[] };

/** What a request hands over. */
export type PredictionEntry = EntryBase & RowsInput & RowsAnswer;

/** A queued entry: the rows' digests in place of their values. */
type QueuedEntry = EntryBase & RowsAnswer & { readonly digests: readonly string[] };

/** Sink errors are logged at most this often; the counter records every one. */
const ERROR_LOG_INTERVAL_MS = 60_000;

export class PredictionLog {
  private queue: QueuedEntry[] = [];
  private queuedRows = 0;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastErrorLoggedAt = -Infinity;
  private readonly written;
  private readonly droppedQueueFull;
  private readonly droppedSinkError;

  constructor(
    private readonly file: JsonlFile,
    private readonly queueMax: number,
    private readonly flushMs: number,
    private readonly metrics: ObservabilityMetrics,
    private readonly log: FastifyBaseLogger,
  ) {
    this.written = metrics.predictionLogRecords.labels("written");
    this.droppedQueueFull = metrics.predictionLogRecords.labels("dropped_queue_full");
    this.droppedSinkError = metrics.predictionLogRecords.labels("dropped_sink_error");
  }

  /** Request path: queues the entry or, at the bound, drops and counts it. Never throws, never waits. */
  add(entry: PredictionEntry): void {
    if (this.queuedRows + entry.rows > this.queueMax) {
      this.droppedQueueFull.inc(entry.rows);
      return;
    }
    if ("data" in entry) {
      const { data, ...rest } = entry;
      this.queue.push({ ...rest, digests: rowDigests(data, entry.rows) });
    } else this.queue.push(entry);
    this.queuedRows += entry.rows;
  }

  /** Rows waiting to be written. */
  get pending(): number {
    return this.queuedRows;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** Writes everything queued so far; resolves when written or dropped (never rejects). */
  flush(): Promise<void> {
    this.flushing ??= this.writeQueued().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush();
  }

  private async writeQueued(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.queuedRows = 0;
    const records = batch.flatMap(toRecords);
    try {
      await this.file.append(records);
      this.written.inc(records.length);
    } catch (err) {
      this.droppedSinkError.inc(records.length);
      this.metrics.predictionLogSinkErrors.inc();
      const now = Date.now();
      if (now - this.lastErrorLoggedAt >= ERROR_LOG_INTERVAL_MS) {
        this.lastErrorLoggedAt = now;
        this.log.error(
          { err, path: this.file.path, dropped: records.length },
          "prediction log write failed; records dropped (requests are unaffected)",
        );
      }
    }
  }
}

function toRecords(entry: QueuedEntry): PredictionRecord[] {
  const time = new Date(entry.timeMs).toISOString();
  const out: PredictionRecord[] = [];
  for (let r = 0; r < entry.rows; r++) {
    const base = {
      time,
      id: entry.id,
      row: r,
      model: entry.model,
      version: entry.version,
      variant: entry.variant,
    };
    const answer =
      "values" in entry
        ? { value: entry.values[r]! }
        : {
            label: entry.labels[entry.classes[r]!] ?? String(entry.classes[r]!),
            confidence: Number(entry.confidences[r]!.toFixed(6)),
          };
    out.push({
      ...base,
      ...answer,
      latency_ms: Number(entry.latencyMs.toFixed(3)),
      input_sha256: entry.digests[r]!,
    });
  }
  return out;
}

const LITTLE_ENDIAN_HOST = endianness() === "LE";

/** sha256 of float32 values, little-endian whatever the host order. */
function digest(values: Float32Array): string {
  if (LITTLE_ENDIAN_HOST)
    return hash("sha256", Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  const bytes = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i]!, i * 4);
  return hash("sha256", bytes);
}

/** The digest of each of `rows` equal-sized rows of `data`. */
function rowDigests(data: Float32Array, rows: number): string[] {
  const size = data.length / rows;
  const out = new Array<string>(rows);
  for (let r = 0; r < rows; r++) out[r] = digest(data.subarray(r * size, (r + 1) * size));
  return out;
}
