/**
 * What loading a model version cost in memory, as far as a process can tell without a heap
 * profiler: the size of its ONNX file (exact), and the process's resident set size after the load
 * minus before it (an estimate: ONNX Runtime's arena, the session, a worker thread, but also
 * anything else the process allocated or the garbage collector freed meanwhile, so it may even be
 * negative). The model repository runs its own loads one at a time (start, API loads, retries), so
 * another of those never inflates a delta; an alias-watcher swap or POST /reload-model may still
 * overlap one (serving/model-repository.ts).
 */
import { stat } from "node:fs/promises";

export interface LoadFootprint {
  /** Bytes of the model's ONNX file on disk. */
  readonly onnxFileBytes: number;
  /** Process RSS after the load minus before it, in bytes (see the module comment). */
  readonly rssDeltaAtLoadBytes: number;
}

/** Runs `load` and measures it; the file size is read first, so a missing file fails fast. */
export async function measureLoad<T>(
  modelPath: string,
  load: () => Promise<T>,
): Promise<{ readonly loaded: T; readonly footprint: LoadFootprint }> {
  const { size } = await stat(modelPath);
  const rssBefore = process.memoryUsage.rss();
  const loaded = await load();
  const footprint = { onnxFileBytes: size, rssDeltaAtLoadBytes: process.memoryUsage.rss() - rssBefore };
  return { loaded, footprint };
}
