/**
 * Dynamic batching of a graph model's requests, under the same policy as plinth models'
 * ({@link DynamicBatcher}: BATCH_MAX_SIZE, BATCH_MAX_DELAY_MS, QUEUE_MAX_ROWS -> QueueFullError,
 * the same metrics). Only for a contract whose inputs and outputs all hold the batch in their first
 * dimension: the same named dimension everywhere, or the configuration's `batching.enabled: true`
 * (service/serving/tensor-batch.ts `unbatchableReason`).
 *
 * Requests are joined only when they ask for the same outputs and their inputs agree beyond the
 * first dimension (`batchKey`); each input is concatenated along it, the session runs once, and
 * every output is split back by the requests' rows. A joined run that throws is bisected (each half
 * re-run joined, only a failing half split again), so a request that breaks the graph fails alone,
 * with its own error, and the others are answered. A run whose output does not hold the batch's
 * rows (a first output dimension that is dynamic without being the batch) runs its requests again
 * one by one, whose answers alone are right, and batching stops for the model: its later requests
 * run one at a time, as an unbatchable model's do. No request fails for batching's sake.
 */
import type { InferenceSession, Tensor } from "onnxruntime-node";
import type { ModelContract } from "../serving/contract.js";
import { batchKey, joinFeeds, splitResults, unsplittableOutput } from "../serving/tensor-batch.js";
import { DynamicBatcher, type BatchObserver, type BatchPolicy, type Queued } from "./batcher.js";
import { timedRun } from "./ort-session.js";

type Results = InferenceSession.ReturnType;

/** One request: checked feeds, the outputs it asks for, and what it must share to be joined. */
interface GraphRequest {
  readonly feeds: Readonly<Record<string, Tensor>>;
  readonly outputNames: readonly string[];
  readonly key: string;
}

export class GraphBatcher {
  private readonly inputNames: readonly string[];
  private readonly batcher: DynamicBatcher<GraphRequest, Results, Results>;
  private stopReason: string | undefined;

  constructor(
    private readonly session: InferenceSession,
    contract: ModelContract,
    private readonly model: { readonly name: string; readonly version: string },
    policy: BatchPolicy,
    observer: BatchObserver,
  ) {
    this.inputNames = contract.inputs.map((spec) => spec.name);
    this.batcher = new DynamicBatcher<GraphRequest, Results, Results>(
      {
        // Once stopped, the requests still queued run one at a time.
        compatible: (first, next) => this.stopReason === undefined && first.key === next.key,
        run: (batch, rows) => this.runJoined(batch, rows),
        splittable: (results, rows) => {
          const reason = unsplittableOutput(results, rows);
          if (reason !== undefined) this.stop(reason);
          return reason === undefined;
        },
        split: (results, offset, rows, batchRows) =>
          // Alone in its run: its outputs as they are.
          rows === batchRows ? results : splitResults(results, offset, rows, batchRows),
        bisect: true,
      },
      policy,
      observer,
    );
  }

  /** Why batching stopped (a run's output did not hold the batch), or undefined while it runs. */
  get stopped(): string | undefined {
    return this.stopReason;
  }

  /** Rows waiting (not yet in a running batch). */
  get depth(): number {
    return this.batcher.depth;
  }

  /** Runs a request's checked feeds (`rows` rows) in a batch; rejects with QueueFullError when the queue is full. */
  submit(
    feeds: Readonly<Record<string, Tensor>>,
    outputNames: readonly string[],
    rows: number,
  ): Promise<Results> {
    const key = batchKey(feeds, this.inputNames, outputNames);
    return this.batcher.submit({ feeds, outputNames, key }, rows);
  }

  private async runJoined(batch: readonly Queued<GraphRequest>[], rows: number) {
    const first = batch[0]!.unit;
    const feeds =
      batch.length === 1
        ? first.feeds
        : joinFeeds(
            batch.map((q) => q.unit.feeds),
            this.inputNames,
            rows,
          );
    const { results, seconds } = await timedRun(this.session, feeds, first.outputNames);
    return { output: results, seconds };
  }

  private stop(reason: string): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    process.emitWarning(
      `model "${this.model.name}" version ${this.model.version}: ${reason}; its requests run one at a time from now on`,
      { code: "PLINTH_BATCHING_STOPPED" },
    );
  }
}
