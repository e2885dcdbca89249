/**
 * One strided matrix-multiply for every layer: `C[m,n] += sum_k A[m,k] * B[k,n]`, each matrix
 * addressed as `offset + row * rowStride + col * colStride`, so callers pass transposed operands
 * without copying them. The work runs in the WebAssembly SIMD kernel (`simd-kernel.ts`): the
 * operands are packed into its memory (A in four-row panels, B row-major, both zero-padded to the
 * tile), multiplied there, and the product is added into C. Packing is O(MK + KN + MN) against O(MNK)
 * multiply-adds, and it is where the strides are resolved, so the kernel itself has one layout.
 * Each thread has its own kernel instance and memory; results are identical on every thread.
 */
import { instantiateSimdKernel } from "./simd-kernel.js";

export interface MatrixRef {
  data: Float32Array;
  offset: number;
  /** Step between consecutive rows. */
  rowStride: number;
  /** Step between consecutive columns. */
  colStride: number;
}

export function mat(data: Float32Array, offset: number, rowStride: number, colStride: number): MatrixRef {
  return { data, offset, rowStride, colStride };
}

const kernel = instantiateSimdKernel();
const PAGE_BYTES = 65536;
let memoryFloats = new Float32Array(kernel.memory.buffer);

/** The kernel memory as floats, grown to hold at least `floats` of them. */
function kernelFloats(floats: number): Float32Array {
  const missing = floats * 4 - kernel.memory.buffer.byteLength;
  if (missing > 0) {
    kernel.memory.grow(Math.ceil(missing / PAGE_BYTES));
    memoryFloats = new Float32Array(kernel.memory.buffer);
  }
  return memoryFloats;
}

const roundUp = (value: number, multiple: number): number => Math.ceil(value / multiple) * multiple;

/** `C += A · B` with A `[M, K]`, B `[K, N]`, C `[M, N]`. */
export function gemmAccumulate(
  M: number,
  N: number,
  K: number,
  a: MatrixRef,
  b: MatrixRef,
  c: MatrixRef,
): void {
  if (M === 0 || N === 0 || K === 0) return;
  const paddedM = roundUp(M, 4);
  const paddedN = roundUp(N, 8);
  const packedA = 0;
  const packedB = paddedM * K;
  const product = packedB + K * paddedN;
  const mem = kernelFloats(product + paddedM * paddedN);
  packPanels(M, K, a, mem, packedA, paddedM);
  packRows(K, N, b, mem, packedB, paddedN);
  kernel.gemm(paddedM, paddedN, K, packedA * 4, packedB * 4, product * 4);
  const C = c.data;
  for (let m = 0; m < M; m++) {
    let from = product + m * paddedN;
    let to = c.offset + m * c.rowStride;
    for (let n = 0; n < N; n++, from++, to += c.colStride) C[to] = C[to]! + mem[from]!;
  }
}

/** A `[M, K]` into panels of four rows (see simd-kernel.ts), rows past M as zeros. */
function packPanels(
  M: number,
  K: number,
  a: MatrixRef,
  mem: Float32Array,
  at: number,
  paddedM: number,
): void {
  const A = a.data;
  for (let m = 0; m < paddedM; m++) {
    let to = at + (m >> 2) * K * 4 + (m & 3);
    if (m >= M) {
      for (let k = 0; k < K; k++, to += 4) mem[to] = 0;
      continue;
    }
    let from = a.offset + m * a.rowStride;
    for (let k = 0; k < K; k++, to += 4, from += a.colStride) mem[to] = A[from]!;
  }
}

/** B `[K, N]` row-major with rows padded to `paddedN` by zeros. */
function packRows(K: number, N: number, b: MatrixRef, mem: Float32Array, at: number, paddedN: number): void {
  const B = b.data;
  for (let k = 0; k < K; k++) {
    const to = at + k * paddedN;
    const from = b.offset + k * b.rowStride;
    if (b.colStride === 1) mem.set(B.subarray(from, from + N), to);
    else for (let n = 0; n < N; n++) mem[to + n] = B[from + n * b.colStride]!;
    mem.fill(0, to + N, to + paddedN);
  }
}
