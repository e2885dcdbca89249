/**
 * One strided matrix-multiply kernel for every layer: `C[m,n] += sum_k A[m,k] * B[k,n]`, each
 * matrix addressed as `offset + row * rowStride + col * colStride`, so transposed operands need no
 * copies. The 4x4 register tile keeps sixteen accumulators in registers and loads each A and B value
 * once per four multiply-adds: in V8 that is about three times as fast as a plain dot product.
 */
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

/** `C += A · B` with A `[M, K]`, B `[K, N]`, C `[M, N]`. */
export function gemmAccumulate(
  M: number,
  N: number,
  K: number,
  a: MatrixRef,
  b: MatrixRef,
  c: MatrixRef,
): void {
  const A = a.data;
  const B = b.data;
  const C = c.data;
  const aM = a.rowStride;
  const aK = a.colStride;
  const bK = b.rowStride;
  const bN = b.colStride;
  const cM = c.rowStride;
  const cN = c.colStride;
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let m = 0; m < M4; m += 4) {
    for (let n = 0; n < N4; n += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0; // prettier-ignore
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0; // prettier-ignore
      let ia = a.offset + m * aM;
      let ib = b.offset + n * bN;
      for (let k = 0; k < K; k++) {
        const a0 = A[ia]!;
        const a1 = A[ia + aM]!;
        const a2 = A[ia + 2 * aM]!;
        const a3 = A[ia + 3 * aM]!;
        const b0 = B[ib]!;
        const b1 = B[ib + bN]!;
        const b2 = B[ib + 2 * bN]!;
        const b3 = B[ib + 3 * bN]!;
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3; // prettier-ignore
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3; // prettier-ignore
        c20 += a2 * b0;
        c21 += a2 * b1;
        c22 += a2 * b2;
        c23 += a2 * b3; // prettier-ignore
        c30 += a3 * b0;
        c31 += a3 * b1;
        c32 += a3 * b2;
        c33 += a3 * b3; // prettier-ignore
        ia += aK;
        ib += bK;
      }
      let ic = c.offset + m * cM + n * cN;
      C[ic] = C[ic]! + c00;
      C[ic + cN] = C[ic + cN]! + c01;
      C[ic + 2 * cN] = C[ic + 2 * cN]! + c02;
      C[ic + 3 * cN] = C[ic + 3 * cN]! + c03; // prettier-ignore
      ic += cM;
      C[ic] = C[ic]! + c10;
      C[ic + cN] = C[ic + cN]! + c11;
      C[ic + 2 * cN] = C[ic + 2 * cN]! + c12;
      C[ic + 3 * cN] = C[ic + 3 * cN]! + c13; // prettier-ignore
      ic += cM;
      C[ic] = C[ic]! + c20;
      C[ic + cN] = C[ic + cN]! + c21;
      C[ic + 2 * cN] = C[ic + 2 * cN]! + c22;
      C[ic + 3 * cN] = C[ic + 3 * cN]! + c23; // prettier-ignore
      ic += cM;
      C[ic] = C[ic]! + c30;
      C[ic + cN] = C[ic + cN]! + c31;
      C[ic + 2 * cN] = C[ic + 2 * cN]! + c32;
      C[ic + 3 * cN] = C[ic + 3 * cN]! + c33; // prettier-ignore
    }
  }
  // Edges the tile does not cover: the last M % 4 rows and the last N % 4 columns.
  if (M4 < M || N4 < N) {
    for (let m = 0; m < M; m++) {
      for (let n = m < M4 ? N4 : 0; n < N; n++) {
        let s = 0;
        let ia = a.offset + m * aM;
        let ib = b.offset + n * bN;
        for (let k = 0; k < K; k++) {
          s += A[ia]! * B[ib]!;
          ia += aK;
          ib += bK;
        }
        const ic = c.offset + m * cM + n * cN;
        C[ic] = C[ic]! + s;
      }
    }
  }
}
