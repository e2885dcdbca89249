/**
 * The lowering of a stride-1, zero-padded convolution to one matrix product per image, and its
 * adjoint for backpropagation.
 *
 * `cols` is `[c*k*k, oh*ow]`: row `(c*k + ky)*k + kx` holds input channel c shifted by (ky, kx)
 * for every output position, so `y[o, p] = sum_r W[o, r] * cols[r, p]` with W in ONNX's
 * `[out, in, k, k]` layout. Each row is a run of input rows copied whole, with zeros only at the
 * padded edges: both functions are plain contiguous copies, and the GEMM reads `cols` row by row.
 */
import type { Shape } from "./network.js";

/** Visits every (row of cols, input offset) pair: `run(colsRow, srcRow, first, last)` per output row. */
function forEachRun(
  input: Shape,
  k: number,
  pad: number,
  output: Shape,
  run: (dst: number, src: number, first: number, end: number, inside: boolean) => void,
): void {
  const { c: channels, h, w } = input;
  const P = output.h * output.w;
  let r = 0;
  for (let c = 0; c < channels; c++) {
    for (let ky = 0; ky < k; ky++) {
      for (let kx = 0; kx < k; kx++, r++) {
        // Output columns ox whose input column ox + kx - pad lies inside the image.
        const first = Math.max(0, pad - kx);
        const end = Math.min(output.w, w + pad - kx);
        for (let oy = 0; oy < output.h; oy++) {
          const iy = oy + ky - pad;
          run(r * P + oy * output.w, c * h * w + iy * w + kx - pad, first, end, iy >= 0 && iy < h);
        }
      }
    }
  }
}

/** Fills `cols` from one image `x` (`[c, h, w]` at `xOff`). */
export function im2col(
  x: Float32Array,
  xOff: number,
  input: Shape,
  k: number,
  pad: number,
  output: Shape,
  cols: Float32Array,
): void {
  const ow = output.w;
  forEachRun(input, k, pad, output, (dst, src, first, end, inside) => {
    if (!inside) {
      cols.fill(0, dst, dst + ow);
      return;
    }
    for (let ox = 0; ox < first; ox++) cols[dst + ox] = 0;
    const from = xOff + src;
    for (let ox = first; ox < end; ox++) cols[dst + ox] = x[from + ox]!;
    for (let ox = end; ox < ow; ox++) cols[dst + ox] = 0;
  });
}

/** The adjoint of {@link im2col}: adds each `dcols` entry back onto the input position it came from. */
export function col2imAccumulate(
  dcols: Float32Array,
  input: Shape,
  k: number,
  pad: number,
  output: Shape,
  dx: Float32Array,
  dxOff: number,
): void {
  forEachRun(input, k, pad, output, (src, dst, first, end, inside) => {
    if (!inside) return;
    const to = dxOff + dst;
    for (let ox = first; ox < end; ox++) dx[to + ox] = dx[to + ox]! + dcols[src + ox]!;
  });
}
