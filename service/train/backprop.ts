/**
 * Backpropagation for {@link Architecture}: given the activations of a forward pass and the loss
 * gradient w.r.t. the logits, accumulates parameter gradients into one flat buffer laid out like the
 * parameters.
 */
import { gemmAccumulate, mat } from "../model/gemm.js";
import {
  im2row,
  shapeSize,
  view,
  type Activations,
  type Architecture,
  type Layer,
  type LayerSpec,
} from "../model/network.js";

/** Gradient buffers w.r.t. each layer's input, sized for one batch. */
export class GradientWorkspace {
  readonly inputGrads: Float32Array[];
  readonly drows: Float32Array;

  constructor(arch: Architecture, batch: number) {
    this.inputGrads = arch.layers.map((l) => new Float32Array(batch * shapeSize(l.input)));
    this.drows = new Float32Array(
      Math.max(
        0,
        ...arch.layers.map((l) =>
          l.spec.kind === "conv2d" ? l.input.c * l.spec.kernel ** 2 * l.output.h * l.output.w : 0,
        ),
      ),
    );
  }
}

/**
 * Softmax cross-entropy: writes `(softmax(logits) - onehot(label)) / denominator` into `dLogits`
 * and returns the summed loss and the number of correct predictions of the `n` rows.
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  labels: Uint8Array,
  n: number,
  classes: number,
  denominator: number,
  dLogits: Float32Array,
): { loss: number; correct: number } {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const r = i * classes;
    let max = -Infinity;
    let best = 0;
    for (let c = 0; c < classes; c++) {
      const v = logits[r + c] as number;
      if (v > max) {
        max = v;
        best = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp((logits[r + c] as number) - max);
    const label = labels[i] as number;
    loss += Math.log(sum) - ((logits[r + label] as number) - max);
    if (best === label) correct++;
    for (let c = 0; c < classes; c++) {
      const p = Math.exp((logits[r + c] as number) - max) / sum;
      dLogits[r + c] = (p - (c === label ? 1 : 0)) / denominator;
    }
  }
  return { loss, correct };
}

function convBackward(
  layer: Layer,
  params: Float32Array,
  grads: Float32Array,
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array | undefined,
  n: number,
  rows: Float32Array,
  drows: Float32Array,
): void {
  const spec = layer.spec as Extract<LayerSpec, { kind: "conv2d" }>;
  const db = view(grads, layer.bias);
  const k = spec.kernel;
  const K = layer.input.c * k * k;
  const P = layer.output.h * layer.output.w;
  const O = spec.outChannels;
  const { c: C, h: H, w: W } = layer.input;
  const inSize = C * H * W;
  const weight = mat(params, layer.weight!.offset, K, 1);
  const dWeight = mat(grads, layer.weight!.offset, K, 1);
  for (let i = 0; i < n; i++) {
    im2row(x, i * inSize, layer.input, k, spec.padding, layer.output, rows);
    const dyOff = i * O * P;
    for (let o = 0; o < O; o++) {
      let sb = 0;
      for (let p = dyOff + o * P, end = p + P; p < end; p++) sb += dy[p]!;
      db[o] = db[o]! + sb;
    }
    // dW[o, kk] += sum_p dy[o, p] * rows[p, kk]
    gemmAccumulate(O, K, P, mat(dy, dyOff, P, 1), mat(rows, 0, K, 1), dWeight);
    if (dx === undefined) continue;
    // drows[p, kk] = sum_o dy[o, p] * W[o, kk], then scatter-add the receptive fields (row2im).
    drows.fill(0, 0, P * K);
    gemmAccumulate(P, K, O, mat(dy, dyOff, 1, P), weight, mat(drows, 0, K, 1));
    const dxOff = i * inSize;
    dx.fill(0, dxOff, dxOff + inSize);
    let src = 0;
    for (let oy = 0; oy < layer.output.h; oy++) {
      for (let ox = 0; ox < layer.output.w; ox++) {
        for (let c = 0; c < C; c++) {
          const dc = dxOff + c * H * W;
          for (let ky = 0; ky < k; ky++) {
            const iy = oy + ky - spec.padding;
            const inRow = iy >= 0 && iy < H;
            for (let kx = 0; kx < k; kx++, src++) {
              const ix = ox + kx - spec.padding;
              if (inRow && ix >= 0 && ix < W) dx[dc + iy * W + ix] = dx[dc + iy * W + ix]! + drows[src]!;
            }
          }
        }
      }
    }
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
        convBackward(layer, params, grads, input, dy, dx, n, acts.rows, ws.drows);
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
