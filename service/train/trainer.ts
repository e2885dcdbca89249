/**
 * The training loop: seeded initialisation and shuffling, mini-batches split into a fixed number of
 * shards whose gradients are summed in shard order, Adam with a cosine learning-rate schedule.
 *
 * Determinism: the shard count is part of the configuration, not the thread count, and shard
 * gradients are always added in the same order; so a seed gives the same model whether the shards
 * run in this thread or in worker threads.
 */
import type { ImageDataset } from "../data/dataset.js";
import { view, type Architecture } from "../model/network.js";
import { Adam } from "./adam.js";
import { createGradientEngine, type GradientEngine } from "./engine.js";
import type { Normalization } from "./normalization.js";
import { Random } from "./random.js";

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Shards per mini-batch (fixed, for determinism); each shard can run on its own thread. */
  shards: number;
  /** Worker threads; 0 runs every shard in this thread. Does not change the result. */
  workers: number;
}

export interface EpochMetrics {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  learningRate: number;
  seconds: number;
}

/** He-normal weights, zero biases. */
export function initParams(arch: Architecture, rng: Random): Float32Array {
  const params = new Float32Array(arch.paramCount);
  for (const layer of arch.layers) {
    if (layer.weight === undefined) continue;
    const fanIn = layer.weight.length / layer.output.c;
    const std = Math.sqrt(2 / fanIn);
    const w = view(params, layer.weight);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
  }
  return params;
}

/** Cosine decay from `base` to 2% of it over `total` steps. */
export function learningRateAt(base: number, step: number, total: number): number {
  const floor = 0.02;
  return base * (floor + (1 - floor) * 0.5 * (1 + Math.cos((Math.PI * step) / Math.max(1, total))));
}

export async function trainNetwork(
  arch: Architecture,
  data: ImageDataset,
  norm: Normalization,
  options: TrainOptions,
  onEpoch: (m: EpochMetrics) => void = () => {},
): Promise<{ params: Float32Array; epochs: EpochMetrics[] }> {
  const rng = new Random(options.seed);
  const params = initParams(arch, rng);
  const count = data.labels.length;
  if (count === 0) throw new Error("no training samples");
  const batch = Math.min(options.batchSize, count);
  const shardSize = Math.ceil(batch / options.shards);
  const engine: GradientEngine = await createGradientEngine(
    { arch, data, norm, shards: options.shards, shardSize },
    options.workers,
  );
  const adam = new Adam(arch.paramCount);
  const order = new Uint32Array(count);
  const stepsPerEpoch = Math.ceil(count / batch);
  const totalSteps = stepsPerEpoch * options.epochs;
  const epochs: EpochMetrics[] = [];
  let step = 0;
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const started = performance.now();
      for (let i = 0; i < count; i++) order[i] = i;
      rng.shuffle(order);
      let loss = 0;
      let correct = 0;
      let lr = options.learningRate;
      for (let start = 0; start < count; start += batch) {
        const n = Math.min(batch, count - start);
        const result = await engine.batchGradient(params, order, start, n);
        lr = learningRateAt(options.learningRate, step++, totalSteps);
        adam.step(params, result.grads, lr);
        loss += result.loss;
        correct += result.correct;
      }
      const m: EpochMetrics = {
        epoch,
        loss: loss / count,
        trainAccuracy: correct / count,
        learningRate: lr,
        seconds: (performance.now() - started) / 1000,
      };
      epochs.push(m);
      onEpoch(m);
    }
  } finally {
    await engine.close();
  }
  return { params, epochs };
}
