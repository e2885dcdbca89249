/**
 * One shard's share of a training step: gathers the shard's images, normalises them, runs forward
 * and backward, and leaves the summed parameter gradients in a caller-owned buffer. The in-process
 * trainer and the worker threads run exactly this code, so both produce identical numbers.
 */
import type { Normalization } from "./normalization.js";
import { Activations, forward, shapeSize, type Architecture } from "../model/network.js";
import { backward, GradientWorkspace } from "../model/backprop.js";
import { softmaxCrossEntropy } from "./loss.js";

/** The training images as the gradient code sees them (possibly views of SharedArrayBuffers). */
export interface TrainingData {
  pixels: Uint8Array;
  labels: Uint8Array;
}

export interface ShardResult {
  loss: number;
  correct: number;
}

export class ShardGradient {
  private readonly acts: Activations;
  private readonly ws: GradientWorkspace;
  private readonly x: Float32Array;
  private readonly y: Uint8Array;
  private readonly dLogits: Float32Array;
  private readonly size: number;
  private readonly classes: number;

  constructor(
    private readonly arch: Architecture,
    private readonly maxBatch: number,
    private readonly data: TrainingData,
    private readonly norm: Normalization,
  ) {
    this.acts = new Activations(arch, maxBatch);
    this.ws = new GradientWorkspace(arch, maxBatch);
    this.size = shapeSize(arch.input);
    this.classes = arch.layers[arch.layers.length - 1]!.output.c;
    this.x = new Float32Array(maxBatch * this.size);
    this.y = new Uint8Array(maxBatch);
    this.dLogits = new Float32Array(maxBatch * this.classes);
  }

  /**
   * Overwrites `grads` with the gradient of `sum(loss) / denominator` over the samples
   * `order[start .. start+count)`.
   */
  compute(
    params: Float32Array,
    order: Uint32Array,
    start: number,
    count: number,
    denominator: number,
    grads: Float32Array,
  ): ShardResult {
    if (count > this.maxBatch) throw new Error(`shard of ${count} exceeds ${this.maxBatch}`);
    const { scale, mean, std } = this.norm;
    for (let i = 0; i < count; i++) {
      const src = (order[start + i] as number) * this.size;
      const dst = i * this.size;
      for (let p = 0; p < this.size; p++)
        this.x[dst + p] = ((this.data.pixels[src + p] as number) * scale - mean) / std;
      this.y[i] = this.data.labels[order[start + i] as number] as number;
    }
    const logits = forward(this.arch, params, this.x, count, this.acts);
    const result = softmaxCrossEntropy(logits, this.y, count, this.classes, denominator, this.dLogits);
    grads.fill(0);
    backward(this.arch, params, this.x, count, this.acts, this.dLogits, grads, this.ws);
    return result;
  }
}
