/**
 * Gradient engines: compute one mini-batch's gradient as the sum of its shards' gradients, added
 * in shard order. The in-process engine runs the shards one after another; the worker engine runs
 * them on worker threads over shared memory. Both produce bit-identical sums.
 */
import type { ImageDataset } from "../data/dataset.js";
import type { Architecture } from "../model/network.js";
import { ShardGradient } from "./gradient.js";
import type { Normalization } from "./normalization.js";
import { startWorkerEngine } from "./worker-engine.js";

export interface BatchGradient {
  /** Gradient of the batch's mean loss. Valid until the next call. */
  grads: Float32Array;
  /** Summed (not mean) loss over the batch. */
  loss: number;
  correct: number;
}

/** What every engine is built from: shard `s` of a batch holds at most `shardSize` samples. */
export interface EngineConfig {
  arch: Architecture;
  data: ImageDataset;
  norm: Normalization;
  shards: number;
  shardSize: number;
}

export interface GradientEngine {
  batchGradient(
    params: Float32Array,
    order: Uint32Array,
    start: number,
    count: number,
  ): Promise<BatchGradient>;
  close(): Promise<void>;
}

/** Splits `count` samples into `shards` contiguous ranges of at most `shardSize`. */
export function shardRanges(
  start: number,
  count: number,
  shards: number,
  shardSize: number,
): { start: number; count: number }[] {
  const ranges = [];
  for (let s = 0; s < shards; s++) {
    const from = Math.min(count, s * shardSize);
    const to = Math.min(count, from + shardSize);
    ranges.push({ start: start + from, count: to - from });
  }
  return ranges;
}

/** Adds the shard gradients into `total` in shard order (the order fixes the float rounding). */
export function sumInOrder(total: Float32Array, parts: readonly Float32Array[]): void {
  total.set(parts[0] as Float32Array);
  for (let s = 1; s < parts.length; s++) {
    const p = parts[s] as Float32Array;
    for (let i = 0; i < total.length; i++) total[i] = (total[i] as number) + (p[i] as number);
  }
}

class InProcessEngine implements GradientEngine {
  private readonly shardGrads: Float32Array[];
  private readonly total: Float32Array;
  private readonly worker: ShardGradient;

  private readonly shards: number;
  private readonly shardSize: number;

  constructor({ arch, data, norm, shards, shardSize }: EngineConfig) {
    this.shards = shards;
    this.shardSize = shardSize;
    this.worker = new ShardGradient(arch, shardSize, data, norm);
    this.shardGrads = Array.from({ length: shards }, () => new Float32Array(arch.paramCount));
    this.total = new Float32Array(arch.paramCount);
  }

  async batchGradient(
    params: Float32Array,
    order: Uint32Array,
    start: number,
    count: number,
  ): Promise<BatchGradient> {
    let loss = 0;
    let correct = 0;
    shardRanges(start, count, this.shards, this.shardSize).forEach((r, s) => {
      const g = this.shardGrads[s] as Float32Array;
      if (r.count === 0) {
        g.fill(0);
        return;
      }
      const res = this.worker.compute(params, order, r.start, r.count, count, g);
      loss += res.loss;
      correct += res.correct;
    });
    sumInOrder(this.total, this.shardGrads);
    return { grads: this.total, loss, correct };
  }

  async close(): Promise<void> {}
}

/** `workers` threads run the shards; 0 runs them in this thread. The results are the same. */
export async function createGradientEngine(config: EngineConfig, workers: number): Promise<GradientEngine> {
  return workers <= 0 ? new InProcessEngine(config) : startWorkerEngine(config, workers);
}
