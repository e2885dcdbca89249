/**
 * A loaded, warmed plinth model version (one with `plinth.metadata`): its metadata, its runner
 * (in-process or worker thread, decided by measurement at warm-up) and its micro-batcher, which
 * serve the convenience endpoints (raw pixels, images, labels). Models without plinth metadata are
 * GraphModels (graph-model.ts).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { ServiceConfig } from "../config.js";
import { inputSize, type ModelMetadata } from "../model/metadata.js";
import { modelConfigFromMetadata, type ModelConfig } from "../model/model-config.js";
import { readModelMetadata } from "../model/onnx-format.js";
import { readContract, type ModelContract } from "../serving/contract.js";
import { MicroBatcher, type BatchObserver } from "./batcher.js";
import { createSession, InProcessRunner, type GraphIo } from "./ort-session.js";
import type { BatchRunner } from "./runner.js";
import { medianMs, type WarmupReport } from "./warmup.js";
import { WorkerRunner } from "./worker-runner.js";

/** A model file located by a model source (the local registry today; MLflow later). */
export interface ResolvedModelFile {
  readonly name: string;
  readonly version: string;
  readonly modelPath: string;
}

export interface LoadOptions {
  readonly ort: ServiceConfig["ort"];
  readonly batching: ServiceConfig["batching"];
  /** Builds the batch observer (metrics) once the model's identity is known. */
  readonly observer: (model: { name: string; version: string }) => BatchObserver;
}

async function measure(runner: BatchRunner, size: number, rows: number): Promise<number> {
  const input = new Float32Array(size * rows);
  return medianMs(async () => (await runner.run(input, rows)).seconds * 1000);
}

export class PlinthModel {
  readonly kind = "plinth";
  readonly inputSize: number;
  readonly labels: readonly string[];
  /** `x' = x * normScale + normShift`, the metadata's `(x * scale - mean) / std` folded. */
  readonly normScale: number;
  readonly normShift: number;
  readonly pixelMin: number;
  readonly pixelMax: number;
  /** The model configuration the metadata implies (what the trainer writes as model-config.json). */
  readonly config: ModelConfig;
  private readonly softmax: boolean;

  private constructor(
    readonly name: string,
    readonly version: string,
    readonly metadata: ModelMetadata,
    /** The graph's own tensors (the contract every model has; metadata adds to it). */
    readonly contract: ModelContract,
    readonly sha256: string,
    readonly warmup: WarmupReport,
    private readonly runner: BatchRunner,
    private readonly batcher: MicroBatcher,
  ) {
    this.inputSize = inputSize(metadata);
    this.labels = metadata.labels;
    const { scale, mean, std } = metadata.input.normalization;
    this.normScale = scale / std;
    this.normShift = -mean / std;
    [this.pixelMin, this.pixelMax] = metadata.input.pixelRange;
    this.softmax = metadata.output.kind === "logits";
    this.config = modelConfigFromMetadata(metadata);
  }

  /** Loads, checks and warms a model; throws an error naming the file on any problem. */
  static async load(
    file: ResolvedModelFile,
    options: LoadOptions,
    fileBytes?: Uint8Array,
  ): Promise<PlinthModel> {
    const bytes = fileBytes ?? new Uint8Array(await readFile(file.modelPath));
    const metadata = readModelMetadata(bytes, file.modelPath);
    if (metadata.name !== file.name) {
      throw new Error(
        `${file.modelPath}: metadata names model "${metadata.name}", registry says "${file.name}"`,
      );
    }
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const io: GraphIo = {
      inputName: metadata.input.name,
      outputName: metadata.output.name,
      inputShape: metadata.input.shape,
    };
    const session = await createSession(bytes, options.ort);
    if (!session.inputNames.includes(io.inputName) || !session.outputNames.includes(io.outputName)) {
      await session.release();
      throw new Error(
        `${file.modelPath}: graph has inputs [${session.inputNames.join(", ")}] and outputs [${session.outputNames.join(", ")}], ` +
          `metadata names input "${io.inputName}" and output "${io.outputName}"`,
      );
    }
    let contract: ModelContract;
    try {
      contract = readContract(session, file.modelPath);
    } catch (err) {
      await session.release();
      throw err;
    }
    const size = inputSize(metadata);
    const inProcess = new InProcessRunner(session, io);
    const maxRows = options.batching.maxBatchSize;
    const failed = (stage: string, err: unknown) =>
      new Error(`${file.modelPath}: ${stage} failed: ${(err as Error).message}`, { cause: err });
    let singleRowMs: number;
    let fullBatchMs: number;
    try {
      singleRowMs = await measure(inProcess, size, 1);
      fullBatchMs = await measure(inProcess, size, maxRows);
    } catch (err) {
      await inProcess.dispose();
      throw failed("warm-up", err);
    }
    const offloaded =
      options.ort.offload === "always" ||
      (options.ort.offload === "auto" && fullBatchMs > options.ort.offloadThresholdMs);
    let runner: BatchRunner = inProcess;
    if (offloaded) {
      await inProcess.dispose();
      try {
        runner = await WorkerRunner.start(bytes, options.ort, io);
      } catch (err) {
        throw failed("starting the inference worker", err);
      }
      try {
        await measure(runner, size, maxRows); // warms the worker's own session
      } catch (err) {
        await runner.dispose();
        throw failed("worker warm-up", err);
      }
    }
    const warmup: WarmupReport = { singleRowMs, fullBatchMs, fullBatchRows: maxRows, offloaded };
    const batcher = new MicroBatcher(
      runner,
      {
        inputSize: size,
        outputSize: metadata.labels.length,
        maxBatchSize: maxRows,
        maxDelayMs: options.batching.maxDelayMs,
        queueMaxRows: options.batching.queueMaxRows,
      },
      options.observer({ name: file.name, version: file.version }),
    );
    return new PlinthModel(file.name, file.version, metadata, contract, sha256, warmup, runner, batcher);
  }

  /** Rows waiting for a batch. */
  get queueDepth(): number {
    return this.batcher.depth;
  }

  /**
   * Scores normalised rows; resolves to `rows * labels.length` class probabilities.
   * Rejects with QueueFullError under overload.
   */
  infer(input: Float32Array, rows: number): Promise<Float32Array> {
    // Not async: the batcher's own promise when there is nothing to add, not one more per request.
    const scored = this.batcher.submit(input, rows);
    if (!this.softmax) return scored;
    return scored.then((output) => {
      softmaxRows(output, this.labels.length);
      return output;
    });
  }

  /** Waits for queued and running batches, then releases the session. */
  async close(): Promise<void> {
    await this.batcher.drain();
    await this.runner.dispose();
  }
}

/** In-place, numerically stable softmax over each row of `width` logits. */
export function softmaxRows(values: Float32Array, width: number): void {
  for (let start = 0; start < values.length; start += width) {
    let max = -Infinity;
    for (let i = start; i < start + width; i++) if (values[i]! > max) max = values[i]!;
    let sum = 0;
    for (let i = start; i < start + width; i++) {
      const e = Math.exp(values[i]! - max);
      values[i] = e;
      sum += e;
    }
    for (let i = start; i < start + width; i++) values[i] = values[i]! / sum;
  }
}
