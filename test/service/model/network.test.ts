import { describe, expect, it } from "vitest";
import { gemmAccumulate, mat } from "../../../service/model/gemm.js";
import { col2imAccumulate, im2col } from "../../../service/model/im2col.js";
import {
  Activations,
  buildArchitecture,
  describeArchitecture,
  forward,
  type LayerSpec,
} from "../../../service/model/network.js";
import { backward, GradientWorkspace } from "../../../service/model/backprop.js";
import { softmaxCrossEntropy } from "../../../service/train/loss.js";
import { Random } from "../../../service/train/random.js";
import { initParams } from "../../../service/train/trainer.js";

describe("gemmAccumulate", () => {
  it("matches the naive product for every tile edge case and stride layout", () => {
    const rng = new Random(1);
    for (const [M, N, K] of [
      [1, 1, 1],
      [4, 4, 3],
      [5, 7, 9],
      [6, 9, 2],
      [13, 3, 5],
    ] as const) {
      const A = Float32Array.from({ length: M * K }, () => rng.normal());
      const B = Float32Array.from({ length: K * N }, () => rng.normal());
      const expected = new Float32Array(M * N);
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++)
          for (let k = 0; k < K; k++)
            expected[m * N + n] = expected[m * N + n]! + A[m * K + k]! * B[k * N + n]!;
      // Row-major A and B, then B given transposed (B^T stored [N, K]), into a C that starts at 1.
      const bt = new Float32Array(N * K);
      for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) bt[n * K + k] = B[k * N + n]!;
      for (const b of [mat(B, 0, N, 1), mat(bt, 0, 1, K)]) {
        const C = new Float32Array(M * N).fill(1);
        gemmAccumulate(M, N, K, mat(A, 0, K, 1), b, mat(C, 0, N, 1));
        for (let i = 0; i < M * N; i++) expect(C[i]).toBeCloseTo(expected[i]! + 1, 4);
      }
    }
  });

  it("handles offsets, a transposed C, and products larger than the kernel memory so far", () => {
    const rng = new Random(2);
    // The second shape needs more than the first one's memory: the kernel grows it between calls.
    for (const [M, N, K] of [
      [3, 5, 2],
      [108, 196, 24],
      [24, 196, 108],
    ] as const) {
      const A = Float32Array.from({ length: 7 + M * K }, () => rng.normal());
      const B = Float32Array.from({ length: 3 + K * N }, () => rng.normal());
      // A given column-major at offset 7, B row-major at offset 3, C written transposed at offset 5.
      const C = new Float32Array(5 + M * N);
      gemmAccumulate(M, N, K, mat(A, 7, 1, M), mat(B, 3, N, 1), mat(C, 5, 1, M));
      for (const [m, n] of [
        [0, 0],
        [M - 1, N - 1],
        [M >> 1, N >> 1],
      ] as const) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += A[7 + k * M + m]! * B[3 + k * N + n]!;
        expect(C[5 + n * M + m]).toBeCloseTo(sum, 3);
      }
      expect(C.subarray(0, 5)).toEqual(new Float32Array(5));
    }
  });
});

describe("im2col", () => {
  const input = { c: 2, h: 5, w: 4 };
  const output = { c: 0, h: 5, w: 4 }; // 3x3, padding 1: same size
  const x = Float32Array.from({ length: 40 }, (_, i) => i + 1);

  it("lays out each shifted channel as one row, with zeros where the kernel leaves the image", () => {
    const cols = new Float32Array(18 * 20).fill(Number.NaN);
    im2col(x, 0, input, 3, 1, output, cols);
    // Row (c=0, ky=1, kx=1) is channel 0 itself; row (c=1, ky=0, kx=0) is channel 1 shifted down-right.
    expect(Array.from(cols.subarray(4 * 20, 5 * 20))).toEqual(Array.from(x.subarray(0, 20)));
    expect(Array.from(cols.subarray(9 * 20, 9 * 20 + 8))).toEqual([0, 0, 0, 0, 0, 21, 22, 23]);
    expect(cols.some(Number.isNaN)).toBe(false);
  });

  it("has col2imAccumulate as its exact adjoint: <im2col(x), d> = <x, col2im(d)>", () => {
    const rng = new Random(3);
    const cols = new Float32Array(18 * 20);
    im2col(x, 0, input, 3, 1, output, cols);
    const d = Float32Array.from({ length: cols.length }, () => rng.normal());
    const dx = new Float32Array(40).fill(1);
    col2imAccumulate(d, input, 3, 1, output, dx, 0);
    let left = 0;
    for (let i = 0; i < cols.length; i++) left += cols[i]! * d[i]!;
    let right = 0;
    for (let i = 0; i < 40; i++) right += x[i]! * (dx[i]! - 1);
    expect(left).toBeCloseTo(right, 2);
  });
});

const SMALL_CNN: LayerSpec[] = [
  { kind: "conv2d", outChannels: 3, kernel: 3, padding: 1 },
  { kind: "relu" },
  { kind: "maxpool2" },
  { kind: "conv2d", outChannels: 4, kernel: 3, padding: 0 },
  { kind: "relu" },
  { kind: "flatten" },
  { kind: "dense", outputs: 6 },
  { kind: "relu" },
  { kind: "dense", outputs: 3 },
];

describe("buildArchitecture", () => {
  it("resolves shapes and parameter slices", () => {
    const arch = buildArchitecture({ c: 1, h: 8, w: 8 }, SMALL_CNN);
    expect(arch.layers.map((l) => [l.output.c, l.output.h, l.output.w])).toEqual([
      [3, 8, 8],
      [3, 8, 8],
      [3, 4, 4],
      [4, 2, 2],
      [4, 2, 2],
      [16, 1, 1],
      [6, 1, 1],
      [6, 1, 1],
      [3, 1, 1],
    ]);
    expect(arch.paramCount).toBe(3 * 9 + 3 + 4 * 27 + 4 + 16 * 6 + 6 + 6 * 3 + 3);
    expect(describeArchitecture(arch)).toBe(
      "conv(1→3,3x3,pad1)-relu-maxpool(2x2)-conv(3→4,3x3,pad0)-relu-flatten-dense(16→6)-relu-dense(6→3)",
    );
  });

  it("refuses layers that do not fit", () => {
    expect(() => buildArchitecture({ c: 1, h: 5, w: 5 }, [{ kind: "maxpool2" }])).toThrow(
      "maxpool2 needs even height and width, got 5x5",
    );
    expect(() => buildArchitecture({ c: 1, h: 4, w: 4 }, [{ kind: "dense", outputs: 2 }])).toThrow(
      "dense needs a flat input",
    );
    expect(() =>
      buildArchitecture({ c: 1, h: 2, w: 2 }, [{ kind: "conv2d", outChannels: 1, kernel: 3, padding: 0 }]),
    ).toThrow("does not fit");
  });
});

describe("backward", () => {
  it("matches central finite differences of the loss for every parameter", () => {
    const arch = buildArchitecture({ c: 1, h: 8, w: 8 }, SMALL_CNN);
    const rng = new Random(3);
    const params = initParams(arch, rng);
    for (let i = 0; i < params.length; i++) params[i] = params[i]! + 0.05 * rng.normal();
    const n = 3;
    const x = Float32Array.from({ length: n * 64 }, () => rng.normal());
    const labels = new Uint8Array([0, 2, 1]);
    const acts = new Activations(arch, n);
    const dLogits = new Float32Array(n * 3);
    const loss = (p: Float32Array) =>
      softmaxCrossEntropy(forward(arch, p, x, n, acts), labels, n, 3, n, dLogits).loss / n;
    loss(params);
    const grads = new Float32Array(arch.paramCount);
    backward(arch, params, x, n, acts, dLogits, grads, new GradientWorkspace(arch, n));
    const h = 1e-3;
    let bad = 0;
    for (let i = 0; i < params.length; i++) {
      const old = params[i]!;
      params[i] = old + h;
      const up = loss(params);
      params[i] = old - h;
      const down = loss(params);
      params[i] = old;
      const numeric = (up - down) / (2 * h);
      // float32 forward passes: allow a small absolute error; a kink of ReLU/max may rarely be crossed.
      if (Math.abs(numeric - grads[i]!) > 2e-3 + 0.02 * Math.abs(numeric)) bad++;
    }
    expect(bad).toBeLessThanOrEqual(2);
  });
});
