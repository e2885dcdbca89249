/**
 * The TypeScript form of plinth's image classifiers: a stack of layers over NCHW float32 tensors,
 * with every parameter in one flat Float32Array (so optimisers, gradient averaging and worker
 * threads handle a single buffer).
 *
 * Parameter layouts are ONNX's, so export copies buffers unchanged:
 * - conv2d weight `[out, in, k, k]` (= `[out, in*k*k]`, the row order of `im2col`), bias `[out]`;
 * - dense weight `[out, in]` (ONNX Gemm with transB=1), bias `[out]`.
 *
 * The forward pass here is used for training (it keeps every activation for backprop) and to
 * check the exported ONNX graph against the TypeScript model.
 */
import { gemmAccumulate, mat } from "./gemm.js";
import { im2col } from "./im2col.js";

export type LayerSpec =
  | { kind: "conv2d"; outChannels: number; kernel: number; padding: number }
  | { kind: "relu" }
  | { kind: "maxpool2" }
  | { kind: "flatten" }
  | { kind: "dense"; outputs: number };

/** Per-sample tensor shape (channels, height, width); a flat vector is `{ c: n, h: 1, w: 1 }`. */
export interface Shape {
  c: number;
  h: number;
  w: number;
}

export interface ParamSlice {
  offset: number;
  length: number;
}

/** A layer with its resolved shapes and where its parameters live in the flat buffer. */
export interface Layer {
  spec: LayerSpec;
  input: Shape;
  output: Shape;
  weight?: ParamSlice;
  bias?: ParamSlice;
}

export interface Architecture {
  input: Shape;
  layers: Layer[];
  paramCount: number;
}

export function shapeSize(s: Shape): number {
  return s.c * s.h * s.w;
}

/** Resolves shapes and parameter slices for a layer stack applied to `input`. */
export function buildArchitecture(input: Shape, specs: readonly LayerSpec[]): Architecture {
  const layers: Layer[] = [];
  let shape = input;
  let offset = 0;
  const slice = (length: number): ParamSlice => {
    const s = { offset, length };
    offset += length;
    return s;
  };
  for (const spec of specs) {
    switch (spec.kind) {
      case "conv2d": {
        const out = {
          c: spec.outChannels,
          h: shape.h + 2 * spec.padding - spec.kernel + 1,
          w: shape.w + 2 * spec.padding - spec.kernel + 1,
        };
        if (out.h < 1 || out.w < 1)
          throw new Error(`conv2d ${spec.kernel}x${spec.kernel} does not fit input ${shape.h}x${shape.w}`);
        const weight = slice(spec.outChannels * shape.c * spec.kernel * spec.kernel);
        layers.push({ spec, input: shape, output: out, weight, bias: slice(spec.outChannels) });
        shape = out;
        break;
      }
      case "maxpool2": {
        if (shape.h % 2 !== 0 || shape.w % 2 !== 0)
          throw new Error(`maxpool2 needs even height and width, got ${shape.h}x${shape.w}`);
        const out = { c: shape.c, h: shape.h / 2, w: shape.w / 2 };
        layers.push({ spec, input: shape, output: out });
        shape = out;
        break;
      }
      case "relu":
        layers.push({ spec, input: shape, output: shape });
        break;
      case "flatten": {
        const out = { c: shapeSize(shape), h: 1, w: 1 };
        layers.push({ spec, input: shape, output: out });
        shape = out;
        break;
      }
      case "dense": {
        if (shape.h !== 1 || shape.w !== 1)
          throw new Error(`dense needs a flat input; add a flatten layer before it`);
        const out = { c: spec.outputs, h: 1, w: 1 };
        const weight = slice(spec.outputs * shape.c);
        layers.push({ spec, input: shape, output: out, weight, bias: slice(spec.outputs) });
        shape = out;
        break;
      }
    }
  }
  return { input, layers, paramCount: offset };
}

/** A compact human-readable description, e.g. `conv(1→16,3x3)-relu-pool-...-dense(128→10)`. */
export function describeArchitecture(arch: Architecture): string {
  return arch.layers
    .map((l) => {
      switch (l.spec.kind) {
        case "conv2d":
          return `conv(${l.input.c}→${l.spec.outChannels},${l.spec.kernel}x${l.spec.kernel},pad${l.spec.padding})`;
        case "dense":
          return `dense(${l.input.c}→${l.spec.outputs})`;
        case "maxpool2":
          return "maxpool(2x2)";
        default:
          return l.spec.kind;
      }
    })
    .join("-");
}

export function view(params: Float32Array, s: ParamSlice | undefined): Float32Array {
  if (s === undefined) throw new Error("layer has no such parameter");
  return params.subarray(s.offset, s.offset + s.length);
}

/** Per-layer buffers for one batch size, reused from step to step to keep the GC quiet. */
export class Activations {
  /** `outputs[i]` is the output of layer i for the whole batch. */
  readonly outputs: Float32Array[];
  /** Argmax positions of each maxpool layer (index into its input), by layer index. */
  readonly poolArgmax: (Int32Array | undefined)[];
  /** One im2col buffer sized for the largest conv layer. */
  readonly cols: Float32Array;

  constructor(
    readonly arch: Architecture,
    readonly batch: number,
  ) {
    this.outputs = arch.layers.map((l) =>
      l.spec.kind === "flatten" ? new Float32Array(0) : new Float32Array(batch * shapeSize(l.output)),
    );
    this.poolArgmax = arch.layers.map((l) =>
      l.spec.kind === "maxpool2" ? new Int32Array(batch * shapeSize(l.output)) : undefined,
    );
    this.cols = new Float32Array(largestCols(arch));
  }
}

/** Floats in the largest im2col buffer of the network's conv layers (0 without any). */
export function largestCols(arch: Architecture): number {
  let size = 0;
  for (const l of arch.layers) {
    if (l.spec.kind === "conv2d")
      size = Math.max(size, l.input.c * l.spec.kernel ** 2 * l.output.h * l.output.w);
  }
  return size;
}

function convForward(
  layer: Layer,
  params: Float32Array,
  x: Float32Array,
  y: Float32Array,
  n: number,
  cols: Float32Array,
): void {
  const spec = layer.spec as Extract<LayerSpec, { kind: "conv2d" }>;
  const b = view(params, layer.bias);
  const K = layer.input.c * spec.kernel * spec.kernel;
  const P = layer.output.h * layer.output.w;
  const O = spec.outChannels;
  const inSize = shapeSize(layer.input);
  const weight = mat(params, layer.weight!.offset, K, 1);
  for (let i = 0; i < n; i++) {
    im2col(x, i * inSize, layer.input, spec.kernel, spec.padding, layer.output, cols);
    const yOff = i * O * P;
    for (let o = 0; o < O; o++) y.fill(b[o]!, yOff + o * P, yOff + (o + 1) * P);
    // y[o, p] += W[o, :] · cols[:, p]
    gemmAccumulate(O, P, K, weight, mat(cols, 0, P, 1), mat(y, yOff, P, 1));
  }
}

function reluForward(x: Float32Array, y: Float32Array, length: number): void {
  for (let i = 0; i < length; i++) {
    const v = x[i]!;
    y[i] = v > 0 ? v : 0;
  }
}

function maxpoolForward(layer: Layer, x: Float32Array, y: Float32Array, argmax: Int32Array, n: number): void {
  const { h, w } = layer.input;
  const oh = layer.output.h;
  const ow = layer.output.w;
  const planes = n * layer.input.c;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * h * w;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, o++) {
        const first = base + 2 * oy * w + 2 * ox;
        let best = first;
        let bestV = x[first]!;
        for (let d = 0; d < 4; d++) {
          const cand = first + (d >> 1) * w + (d & 1);
          const v = x[cand]!;
          if (v > bestV) {
            bestV = v;
            best = cand;
          }
        }
        y[o] = bestV;
        argmax[o] = best;
      }
    }
  }
}

function denseForward(layer: Layer, params: Float32Array, x: Float32Array, y: Float32Array, n: number): void {
  const b = view(params, layer.bias);
  const I = layer.input.c;
  const O = layer.output.c;
  for (let i = 0; i < n; i++) y.set(b, i * O);
  // y[i, o] += x[i, :] · W[o, :]
  gemmAccumulate(n, O, I, mat(x, 0, I, 1), mat(params, layer.weight!.offset, 1, I), mat(y, 0, O, 1));
}

/**
 * Runs the network on `n` samples of `x` (normalised inputs) and returns the logits; every layer's
 * output stays in `acts` for the backward pass.
 */
export function forward(
  arch: Architecture,
  params: Float32Array,
  x: Float32Array,
  n: number,
  acts: Activations,
): Float32Array {
  if (n > acts.batch) throw new Error(`batch of ${n} exceeds the workspace size ${acts.batch}`);
  let cur = x;
  arch.layers.forEach((layer, li) => {
    const out = acts.outputs[li] as Float32Array;
    switch (layer.spec.kind) {
      case "conv2d":
        convForward(layer, params, cur, out, n, acts.cols);
        break;
      case "relu":
        reluForward(cur, out, n * shapeSize(layer.output));
        break;
      case "maxpool2":
        maxpoolForward(layer, cur, out, acts.poolArgmax[li] as Int32Array, n);
        break;
      case "flatten":
        // NCHW is already flat in (c, h, w) order, as ONNX Flatten produces: pass the buffer through.
        acts.outputs[li] = cur;
        return;
      case "dense":
        denseForward(layer, params, cur, out, n);
        break;
    }
    cur = out;
  });
  return cur.subarray(0, n * shapeSize(arch.layers[arch.layers.length - 1]!.output));
}

/** In-place softmax over rows of `classes` values. */
export function softmaxRows(logits: Float32Array, classes: number): Float32Array {
  for (let r = 0; r < logits.length; r += classes) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[r + c] as number);
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const e = Math.exp((logits[r + c] as number) - max);
      logits[r + c] = e;
      sum += e;
    }
    for (let c = 0; c < classes; c++) logits[r + c] = (logits[r + c] as number) / sum;
  }
  return logits;
}

/** Index of the largest value in `row[off .. off+len)`. */
export function argmax(row: Float32Array, off: number, len: number): number {
  let best = 0;
  for (let c = 1; c < len; c++) if ((row[off + c] as number) > (row[off + best] as number)) best = c;
  return best;
}
