/**
 * The worker-thread gradient engine: parameters, the batch's sample order, the training images and
 * one gradient buffer per shard live in SharedArrayBuffers; each step the main thread posts the
 * batch bounds, every worker computes its shards (shard s runs on worker s mod workers) and the
 * main thread adds the shard gradients in shard order, exactly as the in-process engine does.
 */
import type { Worker } from "node:worker_threads";
import { siblingWorker } from "../files/sibling-worker.js";
import type { Architecture } from "../model/network.js";
import type { BatchGradient, EngineConfig, GradientEngine } from "./engine.js";
import { sumInOrder } from "./engine.js";
import type { Normalization } from "./normalization.js";

/** What a worker receives at start-up (structured-cloned; the SharedArrayBuffers are shared). */
export interface WorkerInit {
  arch: Architecture;
  norm: Normalization;
  shards: number;
  shardSize: number;
  workerIndex: number;
  workers: number;
  params: SharedArrayBuffer;
  order: SharedArrayBuffer;
  pixels: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  grads: SharedArrayBuffer[];
}

export interface WorkerRequest {
  /** Number of samples in this batch (their indices are at order[0..count)). */
  count: number;
}

export interface WorkerReply {
  /** Per shard handled by this worker: shard index, summed loss, correct count. */
  shards: { shard: number; loss: number; correct: number }[];
}

function shared(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.max(bytes, 8));
}

class WorkerEngine implements GradientEngine {
  private readonly total: Float32Array;

  constructor(
    private readonly workers: Worker[],
    private readonly params: Float32Array,
    private readonly order: Uint32Array,
    private readonly grads: Float32Array[],
  ) {
    this.total = new Float32Array(params.length);
  }

  async batchGradient(
    params: Float32Array,
    order: Uint32Array,
    start: number,
    count: number,
  ): Promise<BatchGradient> {
    this.params.set(params);
    this.order.set(order.subarray(start, start + count));
    const replies = await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<WorkerReply>((resolve, reject) => {
            const onError = (err: Error) => reject(err);
            w.once("error", onError);
            w.once("message", (reply: WorkerReply) => {
              w.off("error", onError);
              resolve(reply);
            });
            w.postMessage({ count } satisfies WorkerRequest);
          }),
      ),
    );
    // Loss and accuracy are also summed in shard order, so they are as reproducible as the gradients.
    const perShard = replies.flatMap((r) => r.shards).sort((a, b) => a.shard - b.shard);
    let loss = 0;
    let correct = 0;
    for (const s of perShard) {
      loss += s.loss;
      correct += s.correct;
    }
    sumInOrder(this.total, this.grads);
    return { grads: this.total, loss, correct };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export async function startWorkerEngine(
  { arch, data, norm, shards, shardSize }: EngineConfig,
  workers: number,
): Promise<GradientEngine> {
  const count = Math.min(workers, shards);
  const params = shared(arch.paramCount * 4);
  const order = shared(shards * shardSize * 4);
  const pixels = shared(data.pixels.length);
  new Uint8Array(pixels).set(data.pixels);
  const labels = shared(data.labels.length);
  new Uint8Array(labels).set(data.labels);
  const grads = Array.from({ length: shards }, () => shared(arch.paramCount * 4));
  const started: Worker[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const init: WorkerInit = {
        arch,
        norm,
        shards,
        shardSize,
        workerIndex: i,
        workers: count,
        params,
        order,
        pixels,
        labels,
        grads,
      };
      const w = siblingWorker(import.meta.url, "worker", { workerData: init });
      started.push(w);
      await new Promise<void>((resolve, reject) => {
        w.once("online", () => resolve());
        w.once("error", reject);
      });
    }
  } catch (err) {
    await Promise.all(started.map((w) => w.terminate()));
    throw err;
  }
  return new WorkerEngine(
    started,
    new Float32Array(params),
    new Uint32Array(order),
    grads.map((g) => new Float32Array(g)),
  );
}
