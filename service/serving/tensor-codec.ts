/**
 * Protocol tensors <-> ONNX Runtime tensors for one element type at a time: JSON values (and the
 * values the binary extension decodes to) checked and packed into the typed array ONNX Runtime
 * takes, binary tensor bytes decoded, and output tensors unpacked into JSON values. A value that
 * does not fit its type is an INVALID_VALUE naming where it is.
 */
import type { Buffer } from "node:buffer";
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

/** Packs checked values into the tensor ONNX Runtime takes for `datatype`. */
export function toOrtTensor(
  datatype: V2Datatype,
  values: readonly unknown[],
  shape: readonly number[],
  where: ValueSite,
): Tensor {
  const dims = [...shape];
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

const BINARY_READERS: Readonly<Record<Exclude<V2Datatype, "BYTES">, (b: Buffer, at: number) => unknown>> = {
  BOOL: (b, at) => b[at] !== 0,
  INT8: (b, at) => b.readInt8(at),
  INT16: (b, at) => b.readInt16LE(at),
  INT32: (b, at) => b.readInt32LE(at),
  INT64: (b, at) => b.readBigInt64LE(at),
  UINT8: (b, at) => b[at],
  UINT16: (b, at) => b.readUInt16LE(at),
  UINT32: (b, at) => b.readUInt32LE(at),
  UINT64: (b, at) => b.readBigUInt64LE(at),
  FP16: (b, at) => fromHalfBits(b.readUInt16LE(at)),
  FP32: (b, at) => b.readFloatLE(at),
  FP64: (b, at) => b.readDoubleLE(at),
};

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

/**
 * The elements of a binary tensor (little-endian, as the protocol's binary extension sends them),
 * as the values a JSON tensor of `datatype` would hold (64-bit integers as bigint, exactly).
 */
export function decodeBinaryTensor(bytes: Buffer, datatype: V2Datatype, where: string): unknown[] {
  if (datatype === "BYTES") return decodeStrings(bytes, where);
  const size = ELEMENT_BYTES[datatype];
  if (bytes.length % size !== 0) {
    throw new ApiError(
      ErrorCode.INVALID_SHAPE,
      `${where}: ${bytes.length} bytes is not a whole number of ${datatype} values`,
    );
  }
  const read = BINARY_READERS[datatype];
  const out = new Array<unknown>(bytes.length / size);
  for (let i = 0; i < out.length; i++) out[i] = read(bytes, i * size);
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
