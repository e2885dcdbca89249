/**
 * The matrix-multiply micro-kernel as a WebAssembly SIMD module, assembled here byte by byte so that
 * plinth stays all TypeScript with no build step and no binary in the repository.
 *
 * Why: V8 compiles the scalar JavaScript kernel to about 0.5 GMAC/s per core (sixteen float64
 * accumulators spill out of the sixteen x64 vector registers); this kernel keeps a 4x8 tile in
 * eight f32x4 registers and runs at about 4.5 GMAC/s on the same machine, which is what makes a
 * full training run fit in minutes.
 *
 * Contract of the exported `gemm(M, N, K, a, b, c)` (all byte addresses in the module's memory):
 * - A is packed in panels of four rows: element (m, k) at `a + ((m >> 2) * K + k) * 4 + (m & 3)`
 *   floats, so one step of k reads the four A values of a tile from one 16-byte slot;
 * - B is row-major `[K, N]`; C is row-major `[M, N]` and is overwritten, not accumulated;
 * - M is a multiple of 4, N a multiple of 8, K >= 1 (the caller pads with zeros).
 */

// The few opcodes the kernel needs (WebAssembly core spec 1.0 and its fixed-width SIMD proposal).
const OP = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  f32Load: 0x2a,
  i32Const: 0x41,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32Shl: 0x74,
  simdPrefix: 0xfd,
} as const;
const SIMD = {
  v128Load: 0x00,
  v128Store: 0x0b,
  v128Const: 0x0c,
  f32x4Splat: 0x13,
  f32x4Add: 0xe4,
  f32x4Mul: 0xe6,
};
const TYPE = { i32: 0x7f, v128: 0x7b, func: 0x60, void: 0x40 } as const;

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (text: string): number[] => [...uleb(text.length), ...Buffer.from(text, "utf8")];

const get = (local: number): number[] => [OP.localGet, ...uleb(local)];
const set = (local: number): number[] => [OP.localSet, ...uleb(local)];
const tee = (local: number): number[] => [OP.localTee, ...uleb(local)];
const i32 = (value: number): number[] => [OP.i32Const, ...sleb(value)];
const simd = (op: number, ...immediates: number[]): number[] => [OP.simdPrefix, ...uleb(op), ...immediates];
const v128Load = (offset: number): number[] => simd(SIMD.v128Load, 4, ...uleb(offset));
const v128Store = (offset: number): number[] => simd(SIMD.v128Store, 4, ...uleb(offset));
const f32Load = (offset: number): number[] => [OP.f32Load, 2, ...uleb(offset)];
const v128Zero = simd(SIMD.v128Const, ...new Array<number>(16).fill(0));
const beginLoop = [OP.loop, TYPE.void];

// Locals: the six parameters, then i32 cursors, then the v128 tile registers.
const [M, N, K, A, B, C] = [0, 1, 2, 3, 4, 5];
const [row, col, step, aCursor, bCursor, cCursor, bRowBytes] = [6, 7, 8, 9, 10, 11, 12];
const ACC = 13; // eight accumulators: ACC + 2 * r for columns 0-3 of tile row r, ACC + 2 * r + 1 for 4-7
const [bLow, bHigh, aSplat] = [21, 22, 23];

function kernelBody(): number[] {
  const code: number[] = [];
  const emit = (...parts: number[][]): void => {
    for (const part of parts) code.push(...part);
  };
  emit(get(N), i32(2), [OP.i32Shl], set(bRowBytes));
  emit(i32(0), set(row), beginLoop);
  {
    emit(i32(0), set(col), beginLoop);
    {
      for (let r = 0; r < 8; r++) emit(v128Zero, set(ACC + r));
      // aCursor = A + row * K * 4: the panel of rows [row, row + 4) starts at float row * K.
      emit(get(A), get(row), get(K), [OP.i32Mul], i32(2), [OP.i32Shl], [OP.i32Add], set(aCursor));
      emit(get(B), get(col), i32(2), [OP.i32Shl], [OP.i32Add], set(bCursor));
      emit(get(K), set(step), beginLoop);
      {
        emit(get(bCursor), v128Load(0), set(bLow), get(bCursor), v128Load(16), set(bHigh));
        for (let r = 0; r < 4; r++) {
          emit(get(aCursor), f32Load(r * 4), simd(SIMD.f32x4Splat), set(aSplat));
          for (const [half, b] of [
            [0, bLow],
            [1, bHigh],
          ] as const) {
            const acc = ACC + 2 * r + half;
            emit(get(acc), get(aSplat), get(b), simd(SIMD.f32x4Mul), simd(SIMD.f32x4Add), set(acc));
          }
        }
        emit(get(aCursor), i32(16), [OP.i32Add], set(aCursor));
        emit(get(bCursor), get(bRowBytes), [OP.i32Add], set(bCursor));
        emit(get(step), i32(1), [OP.i32Sub], tee(step), [OP.brIf, 0]);
      }
      emit([OP.end]);
      // cCursor = C + (row * N + col) * 4, then one tile row per C row.
      emit(get(C), get(row), get(N), [OP.i32Mul], get(col), [OP.i32Add], i32(2), [OP.i32Shl], [OP.i32Add]);
      emit(set(cCursor));
      for (let r = 0; r < 4; r++) {
        emit(get(cCursor), get(ACC + 2 * r), v128Store(0), get(cCursor), get(ACC + 2 * r + 1), v128Store(16));
        emit(get(cCursor), get(bRowBytes), [OP.i32Add], set(cCursor));
      }
      emit(get(col), i32(8), [OP.i32Add], tee(col), get(N), [OP.i32LtU], [OP.brIf, 0]);
    }
    emit([OP.end]);
    emit(get(row), i32(4), [OP.i32Add], tee(row), get(M), [OP.i32LtU], [OP.brIf, 0]);
  }
  emit([OP.end, OP.end]);
  return code;
}

function moduleBytes(): Uint8Array {
  const body = [
    ...vector([
      [7, TYPE.i32],
      [11, TYPE.v128],
    ]),
    ...kernelBody(),
  ];
  const params = [M, N, K, A, B, C].map(() => [TYPE.i32]);
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vector([[TYPE.func, ...vector(params), 0]])), // type: (i32 x 6) -> ()
    ...section(3, vector([[0]])), // function 0 has type 0
    ...section(5, vector([[0x00, 1]])), // memory 0: one page to start, no maximum
    ...section(
      7,
      vector([
        [...name("gemm"), 0x00, 0],
        [...name("memory"), 0x02, 0],
      ]),
    ),
    ...section(10, vector([[...uleb(body.length), ...body]])),
  ]);
}

/** The part of the WebAssembly JS API used here (the ES2023 lib and @types/node do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

export interface SimdKernel {
  /** `C = A · B` on packed operands; see the module comment for the layout. */
  gemm(m: number, n: number, k: number, a: number, b: number, c: number): void;
  memory: WasmMemory;
}

/** A fresh kernel instance with its own memory (one per thread: instances are not shared). */
export function instantiateSimdKernel(): SimdKernel {
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const { exports } = new wasm.Instance(new wasm.Module(moduleBytes()));
  return { gemm: exports.gemm as SimdKernel["gemm"], memory: exports.memory as WasmMemory };
}
