/**
 * Backpropagation for {@link Architecture}: given the activations of a forward pass and the loss
 * gradient w.r.t. the logits, accumulates parameter gradients into one flat buffer laid out like the
 * parameters. Model code, not training code: the trainer (service/train/gradient.ts) follows a
 * loss's gradient with it, and serving's explainer (service/explain/saliency.ts) a logit's.
 */
import { gemmAccumulate, mat } from "./gemm.js";
import { col2imAccumulate, im2col } from "./im2col.js";
import {
  largestCols,
  shapeSize,
  view,
  type Activations,
  type Architecture,
  type Layer,
  type LayerSpec,
} from "./network.js";

/** Gradient buffers w.r.t. each layer's input, sized for one batch. */
export class GradientWorkspace {
  readonly inputGrads: Float32Array[];
  /** The gradient w.r.t. one image's im2col buffer. */
  readonly dcols: Float32Array;

  constructor(arch: Architecture, batch: number) {
    this.inputGrads = arch.layers.map((l) => new Float32Array(batch * shapeSize(l.input)));
    this.dcols = new Float32Array(largestCols(arch));
  }
}

function convBackward(
  layer: Layer,
  params: Float32Array,
  grads: Float32Array,
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array | undefined,
  n: number,
  cols: Float32Array,
  dcols: Float32Array,
): void {
  const spec = layer.spec as Extract<LayerSpec, { kind: "conv2d" }>;
  const db = view(grads, layer.bias);
  const k = spec.kernel;
  const K = layer.input.c * k * k;
  const P = layer.output.h * layer.output.w;
  const O = spec.outChannels;
  const inSize = shapeSize(layer.input);
  const weightOffset = layer.weight!.offset;
  for (let i = 0; i < n; i++) {
    im2col(x, i * inSize, layer.input, k, spec.padding, layer.output, cols);
    const dyOff = i * O * P;
    for (let o = 0; o < O; o++) {
      let sb = 0;
      for (let p = dyOff + o * P, end = p + P; p < end; p++) sb += dy[p]!;
      db[o] = db[o]! + sb;
    }
    // dW[o, r] += sum_p dy[o, p] * cols[r, p], computed as its transpose so that both large
    // operands (cols and dy) are read along their rows.
    gemmAccumulate(K, O, P, mat(cols, 0, P, 1), mat(dy, dyOff, 1, P), mat(grads, weightOffset, 1, K));
    if (dx === undefined) continue;
    // dcols[r, p] = sum_o W[o, r] * dy[o, p], then each entry goes back to its input position.
    dcols.fill(0, 0, K * P);
    gemmAccumulate(K, P, O, mat(params, weightOffset, 1, K), mat(dy, dyOff, P, 1), mat(dcols, 0, P, 1));
    const dxOff = i * inSize;
    dx.fill(0, dxOff, dxOff + inSize);
    col2imAccumulate(dcols, layer.input, k, spec.padding, layer.output, dx, dxOff);
  }
}

function denseBackward(
  layer: Layer,
  params: Float32Array,
  grads: Float32Array,
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array | undefined,
  n: number,
): void {
  const db = view(grads, layer.bias);
  const I = layer.input.c;
  const O = layer.output.c;
  for (let i = 0; i < n; i++) for (let o = 0; o < O; o++) db[o] = db[o]! + dy[i * O + o]!;
  // dW[o, k] += sum_i dy[i, o] * x[i, k]
  gemmAccumulate(O, I, n, mat(dy, 0, 1, O), mat(x, 0, I, 1), mat(grads, layer.weight!.offset, I, 1));
  if (dx === undefined) return;
  // dx[i, k] = sum_o dy[i, o] * W[o, k]
  dx.fill(0, 0, n * I);
  gemmAccumulate(n, I, O, mat(dy, 0, O, 1), mat(params, layer.weight!.offset, I, 1), mat(dx, 0, I, 1));
}

/**
 * Accumulates (adds) the parameter gradients of one batch into `grads`, given the network input
 * `x`, the forward activations and the loss gradient w.r.t. the logits.
 */
export function backward(
  arch: Architecture,
  params: Float32Array,
  x: Float32Array,
  n: number,
  acts: Activations,
  dLogits: Float32Array,
  grads: Float32Array,
  ws: GradientWorkspace,
): void {
  let dy = dLogits;
  for (let li = arch.layers.length - 1; li >= 0; li--) {
    const layer = arch.layers[li] as Layer;
    const input = li === 0 ? x : (acts.outputs[li - 1] as Float32Array);
    // The first layer's input gradient is never needed.
    const dx = li === 0 ? undefined : (ws.inputGrads[li] as Float32Array);
    switch (layer.spec.kind) {
      case "conv2d":
        convBackward(layer, params, grads, input, dy, dx, n, acts.cols, ws.dcols);
        break;
      case "dense":
        denseBackward(layer, params, grads, input, dy, dx, n);
        break;
      case "relu": {
        if (dx === undefined) return;
        const out = acts.outputs[li] as Float32Array;
        const len = n * shapeSize(layer.output);
        for (let i = 0; i < len; i++) dx[i] = (out[i] as number) > 0 ? (dy[i] as number) : 0;
        break;
      }
      case "maxpool2": {
        if (dx === undefined) return;
        const idx = acts.poolArgmax[li] as Int32Array;
        dx.fill(0, 0, n * shapeSize(layer.input));
        const len = n * shapeSize(layer.output);
        for (let i = 0; i < len; i++) dx[idx[i]!] = dx[idx[i]!]! + dy[i]!;
        break;
      }
      case "flatten":
        // Same memory order on both sides: the gradient passes through unchanged.
        continue;
    }
    if (dx === undefined) return;
    dy = dx;
  }
}
