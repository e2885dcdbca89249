/**
 * The element types of the Open Inference Protocol and the ONNX Runtime tensor type each one is:
 * the one table both directions (graph -> protocol metadata, request -> tensor) read.
 */
import type { Tensor } from "onnxruntime-node";

/** Protocol datatype -> ONNX Runtime tensor type. BYTES tensors carry strings. */
export const V2_TO_ORT = {
  BOOL: "bool",
  INT8: "int8",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  UINT8: "uint8",
  UINT16: "uint16",
  UINT32: "uint32",
  UINT64: "uint64",
  FP16: "float16",
  FP32: "float32",
  FP64: "float64",
  BYTES: "string",
} as const satisfies Record<string, Tensor.Type>;

export type V2Datatype = keyof typeof V2_TO_ORT;
export type ServedOrtType = (typeof V2_TO_ORT)[V2Datatype];

const ORT_TO_V2 = new Map<string, V2Datatype>(
  Object.entries(V2_TO_ORT).map(([v2, ortType]) => [ortType, v2 as V2Datatype]),
);

/** The protocol datatype of an ONNX Runtime tensor type; undefined for types it has none for (int4). */
export function v2DatatypeOf(ortType: string): V2Datatype | undefined {
  return ORT_TO_V2.get(ortType);
}

export function isV2Datatype(value: string): value is V2Datatype {
  return Object.hasOwn(V2_TO_ORT, value);
}

/** Bytes per element in the binary tensor extension; BYTES elements are length-prefixed instead. */
export const ELEMENT_BYTES: Readonly<Record<Exclude<V2Datatype, "BYTES">, number>> = {
  BOOL: 1,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
};
