/**
 * ONNX Runtime sessions with explicit thread settings, and the in-process runner.
 */
import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import type { BatchResult, BatchRunner } from "./runner.js";

export interface OrtSettings {
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
}

/** What a runner needs to know about the graph: tensor names and the per-row input shape. */
export interface GraphIo {
  readonly inputName: string;
  readonly outputName: string;
  readonly inputShape: readonly number[];
}

export function createSession(model: Uint8Array, settings: OrtSettings): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: settings.intraOpThreads,
    interOpNumThreads: settings.interOpThreads,
    // One graph, one request stream: parallel execution only adds scheduling overhead.
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    enableCpuMemArena: true,
  });
}

/** Runs a session once; returns its outputs and the run's own duration in seconds. */
export async function timedRun(
  session: ort.InferenceSession,
  feeds: ort.InferenceSession.FeedsType,
  outputNames: readonly string[],
): Promise<{ results: ort.InferenceSession.ReturnType; seconds: number }> {
  // onnxruntime-node defers the synchronous native run() to a setImmediate callback. An immediate
  // queued just before it runs just before it (immediates are FIFO), so `started` is taken right
  // before the native call, and the await resumes right after it: the measured time is the run
  // itself, not the poll phase spent waiting for the check phase.
  let started = performance.now();
  setImmediate(() => {
    started = performance.now();
  });
  const results = await session.run(feeds, outputNames);
  return { results, seconds: (performance.now() - started) / 1000 };
}

/** Runs one batch synchronously in native code; returns the output and the run's own duration. */
export async function runBatch(
  session: ort.InferenceSession,
  io: GraphIo,
  input: Float32Array,
  rows: number,
): Promise<BatchResult> {
  const feeds = { [io.inputName]: new ort.Tensor("float32", input, [rows, ...io.inputShape]) };
  const { results, seconds } = await timedRun(session, feeds, [io.outputName]);
  const tensor = results[io.outputName];
  if (tensor === undefined || tensor.type !== "float32") {
    throw new Error(`model output ${io.outputName} missing or not float32`);
  }
  return { output: tensor.data as Float32Array, seconds };
}

/** Runs batches on the event-loop thread: the cheapest path for a model that runs in microseconds. */
export class InProcessRunner implements BatchRunner {
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly io: GraphIo,
  ) {}

  run(input: Float32Array, rows: number): Promise<BatchResult> {
    return runBatch(this.session, this.io, input, rows);
  }

  dispose(): Promise<void> {
    return this.session.release();
  }
}
