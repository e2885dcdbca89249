/**
 * Protocol tensors <-> ONNX Runtime tensors for one element type at a time: JSON values checked
 * and packed into the typed array ONNX Runtime takes, binary tensor bytes decoded straight into
 * that typed array (never a JS array: a number[] costs ~8 bytes a UINT8 element), and output
 * tensors unpacked into JSON values. A value that does not fit its type is an INVALID_VALUE naming
 * where it is.
 */
import type { Buffer } from "node:buffer";
import { endianness } from "node:os";
import { Tensor } from "onnxruntime-node";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { ELEMENT_BYTES, V2_TO_ORT, type V2Datatype } from "./datatypes.js";
import { fromHalfBits, toHalfBits } from "./float16.js";

/** A JSON number holds integers exactly up to 2^53; beyond that INT64 values need the binary form. */
const INT_RANGES = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
} as const;
const INT64_RANGES = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
} as const;

const INT_ARRAYS = {
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
} as const;

/**
 * Where a tensor's values came from, for refusals: a tensor name (an element is then `data[i]` of
 * it), or a function naming element `i` in the request's own terms (a row and a feature).
 */
export type ValueSite = string | ((index: number) => string);

function badValue(where: ValueSite, index: number, expected: string, value: unknown): ApiError {
  const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 20)) : String(value);
  const site = typeof where === "string" ? `${where}: data[${index}]` : where(index);
  return new ApiError(ErrorCode.INVALID_VALUE, `${site}: expected ${expected}, got ${shown}`);
}

function integers(datatype: keyof typeof INT_RANGES, values: readonly unknown[], where: ValueSite) {
  const [min, max] = INT_RANGES[datatype];
  const out = new INT_ARRAYS[datatype](values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      throw badValue(where, i, `an integer in [${min}, ${max}]`, v);
    out[i] = v;
  }
  return out;
}

function bigIntegers(datatype: keyof typeof INT64_RANGES, values: readonly unknown[], where: ValueSite) {
  const [min, max] = INT64_RANGES[datatype];
  const out = datatype === "INT64" ? new BigInt64Array(values.length) : new BigUint64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const big = typeof v === "bigint" ? v : Number.isSafeInteger(v) ? BigInt(v as number) : undefined;
    if (big === undefined || big < min || big > max)
      throw badValue(where, i, `an integer in [${min}, ${max}] (JSON: within +-2^53)`, v);
    out[i] = big;
  }
  return out;
}

function floats<T extends Float32Array | Float64Array | Uint16Array>(
  out: T,
  values: readonly unknown[],
  where: ValueSite,
  encode: (v: number) => number = (v) => v,
): T {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== "number") throw badValue(where, i, "a number", v);
    out[i] = encode(v);
  }
  return out;
}

/** The typed array ONNX Runtime takes for each fixed-size datatype (BOOL as 0/1 bytes, FP16 as bits). */
const BINARY_ARRAYS = {
  BOOL: Uint8Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
} as const satisfies Record<Exclude<V2Datatype, "BYTES">, unknown>;

/** A binary tensor's elements as ONNX Runtime takes them: a typed array (BYTES: strings). */
export type BinaryTensorValues =
  InstanceType<(typeof BINARY_ARRAYS)[keyof typeof BINARY_ARRAYS]> | readonly string[];

/** A tensor's elements: JSON values (flat, as checked by the caller), or decoded binary ones. */
export type TensorValues = readonly unknown[] | BinaryTensorValues;

/** Packs checked values (or decoded binary ones, as they are) into the tensor ONNX Runtime takes. */
export function toOrtTensor(
  datatype: V2Datatype,
  values: TensorValues,
  shape: readonly number[],
  where: ValueSite,
): Tensor {
  const dims = [...shape];
  // Binary data is already the element type's typed array: every bit pattern is a valid value.
  if (!Array.isArray(values)) return binaryOrtTensor(datatype, values as BinaryTensorValues, dims);
  switch (datatype) {
    case "BOOL": {
      const out = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) {
        if (typeof values[i] !== "boolean") throw badValue(where, i, "true or false", values[i]);
        out[i] = values[i] ? 1 : 0;
      }
      return new Tensor("bool", out, dims);
    }
    case "BYTES": {
      for (let i = 0; i < values.length; i++)
        if (typeof values[i] !== "string") throw badValue(where, i, "a string", values[i]);
      return new Tensor("string", values as string[], dims);
    }
    case "INT64":
    case "UINT64":
      return new Tensor(V2_TO_ORT[datatype], bigIntegers(datatype, values, where), dims);
    case "FP16":
      return new Tensor("float16", floats(new Uint16Array(values.length), values, where, toHalfBits), dims);
    case "FP32":
      return new Tensor("float32", floats(new Float32Array(values.length), values, where), dims);
    case "FP64":
      return new Tensor("float64", floats(new Float64Array(values.length), values, where), dims);
    default:
      return new Tensor(V2_TO_ORT[datatype], integers(datatype, values, where), dims);
  }
}

function binaryOrtTensor(datatype: V2Datatype, values: BinaryTensorValues, dims: number[]): Tensor {
  const expected = datatype === "BYTES" ? undefined : BINARY_ARRAYS[datatype];
  if (expected === undefined || !(values instanceof expected))
    throw new Error(`binary values of ${values.constructor.name} passed as a ${datatype} tensor`);
  return new Tensor(V2_TO_ORT[datatype], values as never, dims);
}

/** An output tensor's elements as JSON values (INT64 as numbers, exact within +-2^53). */
export function fromOrtTensor(datatype: V2Datatype, tensor: Tensor): unknown[] {
  const data = tensor.data;
  switch (datatype) {
    case "BOOL":
      return Array.from(data as Uint8Array, (v) => v !== 0);
    case "BYTES":
      return [...(data as string[])];
    case "INT64":
    case "UINT64":
      return Array.from(data as BigInt64Array | BigUint64Array, Number);
    case "FP16":
      return Array.from(data as Uint16Array, fromHalfBits);
    default:
      return Array.from(data as ArrayLike<number>);
  }
}

/** Decodes `BYTES` elements: each a 4-byte little-endian length, then that many UTF-8 bytes. */
function decodeStrings(bytes: Buffer, where: string): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.length;) {
    const length = at + 4 <= bytes.length ? bytes.readUInt32LE(at) : -1;
    if (length < 0 || at + 4 + length > bytes.length)
      throw new ApiError(ErrorCode.INVALID_SHAPE, `${where}: BYTES element ${out.length} runs past its data`);
    out.push(bytes.toString("utf8", at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

const LITTLE_ENDIAN = endianness() === "LE";

/**
 * The bytes a binary tensor of `datatype` with `count` elements must have; for BYTES (whose
 * elements vary in length) the least it can have, a 4-byte length per element.
 */
export function binaryByteLength(datatype: V2Datatype, count: number): number {
  return count * (datatype === "BYTES" ? 4 : ELEMENT_BYTES[datatype]);
}

/**
 * The elements of a binary tensor (little-endian, as the protocol's binary extension sends them) as
 * the typed array ONNX Runtime takes for `datatype`: a view of `bytes` where the layout allows
 * (1-byte types; aligned wider types), else one copy. BYTES elements are strings. The caller has
 * checked the length against the declared shape, so nothing is decoded for a tensor that is refused.
 */
export function decodeBinaryTensor(bytes: Buffer, datatype: V2Datatype, where: string): BinaryTensorValues {
  if (datatype === "BYTES") return decodeStrings(bytes, where);
  const size = ELEMENT_BYTES[datatype];
  if (bytes.length % size !== 0) {
    throw new ApiError(
      ErrorCode.INVALID_SHAPE,
      `${where}: ${bytes.length} bytes is not a whole number of ${datatype} values`,
    );
  }
  if (datatype === "BOOL") return Uint8Array.from(bytes, (b) => (b === 0 ? 0 : 1));
  const Typed = BINARY_ARRAYS[datatype];
  const count = bytes.length / size;
  if (!LITTLE_ENDIAN) return decodeSwapped(bytes, datatype, count);
  // A Buffer is always backed by an ArrayBuffer (never a SharedArrayBuffer).
  if (bytes.byteOffset % size === 0) return new Typed(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  // Unaligned in the body: one copy into an aligned buffer.
  const aligned = new ArrayBuffer(bytes.length);
  new Uint8Array(aligned).set(bytes);
  return new Typed(aligned, 0, count);
}

/** Little-endian elements on a big-endian host: read one by one (no such host runs us today). */
function decodeSwapped(bytes: Buffer, datatype: Exclude<V2Datatype, "BYTES" | "BOOL">, count: number) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const size = ELEMENT_BYTES[datatype];
  const out = new BINARY_ARRAYS[datatype](count);
  const read = {
    INT8: (at: number) => view.getInt8(at),
    INT16: (at: number) => view.getInt16(at, true),
    INT32: (at: number) => view.getInt32(at, true),
    INT64: (at: number) => view.getBigInt64(at, true),
    UINT8: (at: number) => view.getUint8(at),
    UINT16: (at: number) => view.getUint16(at, true),
    UINT32: (at: number) => view.getUint32(at, true),
    UINT64: (at: number) => view.getBigUint64(at, true),
    FP16: (at: number) => view.getUint16(at, true),
    FP32: (at: number) => view.getFloat32(at, true),
    FP64: (at: number) => view.getFloat64(at, true),
  }[datatype];
  for (let i = 0; i < count; i++) (out as unknown as unknown[])[i] = read(i * size);
  return out;
}

/** A response's output tensors, in `specs` order, from a run's results. */
export function outputTensors(
  results: Readonly<Record<string, Tensor>>,
  specs: readonly { readonly name: string; readonly datatype: V2Datatype }[],
) {
  return specs.map(({ name, datatype }) => {
    const tensor = results[name];
    if (tensor === undefined) throw new Error(`the run returned no output "${name}"`);
    return { name, datatype, shape: [...tensor.dims], data: fromOrtTensor(datatype, tensor) };
  });
}
