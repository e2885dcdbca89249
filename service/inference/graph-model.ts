/**
 * A loaded, warmed model served by its graph's own contract: any ONNX model, with or without
 * plinth metadata's enrichment. Requests arrive as whole tensors (several inputs of any served
 * type) and run in process (no worker offload: plinth models keep that, model.ts). When every input
 * and output holds the batch in its first dimension, the same named one ("N") everywhere or any
 * dynamic one the model configuration vouches for (`batching.enabled: true`), concurrent requests
 * are micro-batched as plinth models' rows are (graph-batcher.ts: joined along that dimension when
 * they ask for the same outputs with the same other dimensions, split back by rows); otherwise,
 * e.g. a graph with a fixed batch of 1, or an output whose first dimension may not be the batch,
 * each runs the session alone.
 */
import type { InferenceSession, Tensor } from "onnxruntime-node";
import { bindModelConfig, type ConfiguredIo } from "../serving/configured-io.js";
import { DYNAMIC, readContract, type ModelContract, type TensorSpec } from "../serving/contract.js";
import { toOrtTensor } from "../serving/tensor-codec.js";
import { unbatchableReason } from "../serving/tensor-batch.js";
import type { BatchObserver, BatchPolicy } from "./batcher.js";
import { GraphBatcher } from "./graph-batcher.js";
import type { FoundModelConfig } from "./model-config-file.js";
import type { LoadOptions, ResolvedModelFile } from "./model.js";
import { createSession, timedRun } from "./ort-session.js";
import { medianMs, type WarmupReport } from "./warmup.js";

const ZERO = { BOOL: false, BYTES: "" } as const;

/** How a graph model is batched, as /metadata reports it. */
export interface GraphBatching extends BatchPolicy {
  /** Whether its requests are joined now. */
  readonly enabled: boolean;
  /** Why not, when they are not. */
  readonly unbatched?: string;
}

/** `rows` rows of zeros (false, "") for every input, or undefined when a shape is not declared. */
function zeroFeeds(contract: ModelContract, rows: number): Record<string, Tensor> | undefined {
  const feeds: Record<string, Tensor> = {};
  for (const spec of contract.inputs) {
    if (spec.shape.length === 0) return undefined;
    const shape = spec.shape.map((d, i) => (d !== DYNAMIC ? d : i === 0 ? rows : 1));
    const count = shape.reduce((a, b) => a * b, 1);
    const zero = spec.datatype === "BOOL" || spec.datatype === "BYTES" ? ZERO[spec.datatype] : 0;
    feeds[spec.name] = toOrtTensor(spec.datatype, new Array<unknown>(count).fill(zero), shape, "warm-up");
  }
  return feeds;
}

export class GraphModel {
  readonly kind = "graph";
  private running = 0;
  private idle: (() => void) | undefined;

  private constructor(
    readonly name: string,
    readonly version: string,
    readonly contract: ModelContract,
    readonly sha256: string,
    /** Undefined when an input declares no shape, or the graph refused the guessed size of a dynamic dimension. */
    readonly warmup: WarmupReport | undefined,
    /** The model configuration bound to the graph; undefined: served over the Open Inference Protocol only. */
    readonly io: ConfiguredIo | undefined,
    private readonly session: InferenceSession,
    private readonly observer: BatchObserver,
    /** Undefined when the contract cannot be batched. */
    private readonly batcher: GraphBatcher | undefined,
    /** The bounds and delay it batches by (BATCH_MAX_SIZE, QUEUE_MAX_ROWS, `batching.maxDelayMs`). */
    private readonly policy: BatchPolicy,
  ) {}

  /**
   * Why this model's requests each run alone, or undefined while they are batched: its
   * configuration's reason, the contract's (an input or output without a dynamic first dimension,
   * or first dimensions that are not one named batch dimension when the configuration does not set
   * `batching.enabled`), or a run whose output did not hold the batch's rows.
   */
  get unbatched(): string | undefined {
    const enabled = this.io?.config.batching?.enabled;
    if (enabled === false) return "its model configuration sets batching.enabled to false";
    return this.batcher?.stopped ?? unbatchableReason(this.contract, enabled === true);
  }

  /** Its effective batching: whether requests are joined now (and why not), and the policy. */
  get batching(): GraphBatching {
    const unbatched = this.unbatched;
    return unbatched === undefined
      ? { enabled: true, ...this.policy }
      : { enabled: false, ...this.policy, unbatched };
  }

  /** Rows waiting for a batch. */
  get queueDepth(): number {
    return this.batcher?.depth ?? 0;
  }

  /** Class names for prediction counts: the configuration's, else none. */
  get labels(): readonly string[] {
    return this.io?.labels ?? [];
  }

  /**
   * Loads and warms `bytes` (the file's), bound to its configuration when it has one; throws an
   * error naming the file (or the configuration file and field) on any problem.
   */
  static async load(
    file: ResolvedModelFile,
    bytes: Uint8Array,
    sha256: string,
    options: LoadOptions,
    found?: FoundModelConfig,
  ): Promise<GraphModel> {
    const failed = (stage: string) => (err: unknown) => {
      throw new Error(`${file.modelPath}: ${stage}: ${(err as Error).message}`, { cause: err });
    };
    const session = await createSession(bytes, options.ort).catch(failed("ONNX Runtime cannot load it"));
    try {
      const contract = readContract(session, file.modelPath);
      const io = found === undefined ? undefined : bindModelConfig(found.config, contract, found.source);
      const warmup = await GraphModel.warm(session, contract, options.batching.maxBatchSize).catch(
        failed("warm-up on rows of zeros failed"),
      );
      const identity = { name: file.name, version: file.version };
      const observer = options.observer(identity);
      // A model's own configuration sets its batching; a model without one batches with no delay
      // when its graph names the batch dimension (unbatchableReason). `enabled: true` vouches that
      // rows are independent whatever the graph's dimensions are called.
      const enabled = io?.config.batching?.enabled;
      const policy = { ...options.batching, maxDelayMs: io?.config.batching?.maxDelayMs ?? 0 };
      const batcher =
        enabled !== false && unbatchableReason(contract, enabled === true) === undefined
          ? new GraphBatcher(session, contract, identity, policy, observer)
          : undefined;
      return new GraphModel(
        file.name,
        file.version,
        contract,
        sha256,
        warmup,
        io,
        session,
        observer,
        batcher,
        policy,
      );
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /** One row, then a full batch when the batch dimension is dynamic, of zeros. */
  private static async warm(
    session: InferenceSession,
    contract: ModelContract,
    maxRows: number,
  ): Promise<WarmupReport | undefined> {
    const names = contract.outputs.map((o) => o.name);
    const batched = contract.inputs.every((s) => s.shape[0] === DYNAMIC);
    const fullRows = batched ? maxRows : 1;
    const single = zeroFeeds(contract, 1);
    const full = zeroFeeds(contract, fullRows);
    if (single === undefined || full === undefined) return undefined;
    const timed = (feeds: Record<string, Tensor>) => async () =>
      (await timedRun(session, feeds, names)).seconds * 1000;
    try {
      const singleRowMs = await medianMs(timed(single));
      const fullBatchMs = await medianMs(timed(full));
      return { singleRowMs, fullBatchMs, fullBatchRows: fullRows, offloaded: false };
    } catch (err) {
      // A dynamic dimension other than the batch was guessed as 1 (an image model's height and
      // width, say), which the graph may not accept: no warm-up then, rather than no model.
      const guessed = contract.inputs.some((spec) => spec.shape.some((d, i) => i > 0 && d === DYNAMIC));
      if (guessed) return undefined;
      throw err;
    }
  }

  /**
   * Runs the graph on checked feeds (`rows` rows), in a batch with other requests when the model is
   * batched; resolves to the requested outputs, by name. Rejects with QueueFullError (503
   * OVERLOADED) when the batch queue is full.
   */
  async run(feeds: Record<string, Tensor>, outputs: readonly TensorSpec[], rows: number) {
    const names = outputs.map((o) => o.name);
    this.running++;
    try {
      const batcher = this.batcher;
      if (batcher !== undefined && batcher.stopped === undefined && rows > 0)
        return await batcher.submit(feeds, names, rows);
      const { results, seconds } = await timedRun(this.session, feeds, names);
      this.observer.batch(rows, seconds);
      return results;
    } finally {
      if (--this.running === 0) this.idle?.();
    }
  }

  /** Waits for running and queued requests, then releases the session. */
  async close(): Promise<void> {
    if (this.running > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.session.release();
  }
}
