/**
 * Runs batches in a worker thread that owns its own ONNX Runtime session. Used when a full batch is
 * slow enough (measured at warm-up) that running it on the event loop would stall every other
 * request; for a microsecond model the message hop costs more than it saves.
 */
import type { Worker } from "node:worker_threads";
import { siblingWorker } from "../files/sibling-worker.js";
import type { OrtSettings, GraphIo } from "./ort-session.js";
import type { WorkerInit, WorkerReply } from "./ort-worker.js";
import type { BatchResult, BatchRunner } from "./runner.js";

export class WorkerRunner implements BatchRunner {
  private nextId = 0;
  /** Set once the worker died; every later run fails at once instead of waiting forever. */
  private failure: Error | undefined;
  private readonly pending = new Map<
    number,
    { resolve: (r: BatchResult) => void; reject: (e: Error) => void }
  >();

  private constructor(private readonly worker: Worker) {
    worker.on("message", (msg: WorkerReply) => {
      if (!("id" in msg)) return;
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      if ("error" in msg) p.reject(new Error(msg.error));
      else p.resolve({ output: msg.output, seconds: msg.seconds });
    });
    worker.on("error", (err) => this.failAll(err));
    worker.on("exit", (code) => this.failAll(new Error(`inference worker exited with code ${code}`)));
  }

  /** Starts the worker and resolves once its session is created. */
  static start(model: Uint8Array, settings: OrtSettings, io: GraphIo): Promise<WorkerRunner> {
    const init: WorkerInit = { model, settings, io };
    const worker = siblingWorker(import.meta.url, "ort-worker", { workerData: init });
    return new Promise((resolve, reject) => {
      const onMessage = (msg: WorkerReply) => {
        if ("ready" in msg) {
          worker.off("message", onMessage);
          resolve(new WorkerRunner(worker));
        } else if ("failed" in msg) {
          void worker.terminate();
          reject(new Error(`inference worker: ${msg.failed}`));
        }
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
    });
  }

  run(input: Float32Array, rows: number): Promise<BatchResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    // Copy into a buffer of its own: the batcher reuses its batch buffer, and a view would clone
    // the whole underlying ArrayBuffer anyway.
    const copy = input.slice();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, input: copy, rows }, [copy.buffer]);
    });
  }

  async dispose(): Promise<void> {
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }

  private failAll(err: Error): void {
    this.failure = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
