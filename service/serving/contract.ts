/**
 * A model's serving contract, read from the ONNX graph itself (onnxruntime's input and output
 * metadata): tensor names, element types and shapes, a dynamic dimension as -1. Every model has
 * one; plinth's own `plinth.metadata` only adds to it. The graph's own dimensions (a symbolic one by
 * its name, e.g. "N") are kept beside the shape for batching, out of what is serialised or compared.
 */
import type { InferenceSession } from "onnxruntime-node";
import { v2DatatypeOf, type V2Datatype } from "./datatypes.js";

export interface TensorSpec {
  readonly name: string;
  readonly datatype: V2Datatype;
  /** Dimensions; -1 is dynamic (a symbolic or unnamed dimension, e.g. the batch). */
  readonly shape: readonly number[];
  /**
   * The graph's dimensions as ONNX Runtime reports them: a number when fixed, a symbolic dimension's
   * name (`"N"`), or `""` for an unnamed dynamic one. Only on specs read from a session
   * ({@link readContract}); not enumerable, so JSON (/metadata, the v2 metadata) and comparisons
   * see `shape` alone, with -1 for dynamic.
   */
  readonly dims?: readonly (number | string)[];
}

export interface ModelContract {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export const DYNAMIC = -1;

/**
 * Refused outputs say what to do: a sequence or map output is, for a scikit-learn classifier,
 * skl2onnx's ZipMap, which the converter leaves out when asked. Refusing it (rather than flattening
 * the maps into a tensor) keeps one meaning per output: the probabilities tensor the converter
 * writes without it.
 */
const NON_TENSOR_OUTPUT_HINT =
  "plinth serves tensors only; for a scikit-learn classifier this is skl2onnx's ZipMap: convert with " +
  "options={id(model): {'zipmap': False}} (the converter option zipmap=False) to get a probabilities tensor";

function tensorSpec(
  value: InferenceSession.ValueMetadata,
  role: "input" | "output",
  source: string,
): TensorSpec {
  if (!value.isTensor) {
    const hint = role === "output" ? `: ${NON_TENSOR_OUTPUT_HINT}` : "";
    throw new Error(`${source}: ${role} "${value.name}" is not a tensor (a sequence or map)${hint}`);
  }
  const datatype = v2DatatypeOf(value.type);
  if (datatype === undefined) {
    throw new Error(`${source}: ${role} "${value.name}" has element type ${value.type}, which is not served`);
  }
  const spec: TensorSpec = {
    name: value.name,
    datatype,
    shape: value.shape.map((d) => (typeof d === "number" && d >= 0 ? d : DYNAMIC)),
  };
  return Object.defineProperty(spec, "dims", { value: [...value.shape], enumerable: false });
}

/** The name of `spec`'s first dimension when it is a symbolic one (`"N"`), else undefined. */
export function batchDimName(spec: TensorSpec): string | undefined {
  const first = spec.dims?.[0];
  return typeof first === "string" && first !== "" ? first : undefined;
}

/** The contract of a loaded session; throws, naming `source`, for a graph plinth cannot serve. */
export function readContract(
  session: Pick<InferenceSession, "inputMetadata" | "outputMetadata">,
  source: string,
): ModelContract {
  return {
    inputs: session.inputMetadata.map((v) => tensorSpec(v, "input", source)),
    outputs: session.outputMetadata.map((v) => tensorSpec(v, "output", source)),
  };
}

/** `[-1,4]`: a shape as messages show it. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** Why two contracts differ (a candidate must take and give what stable does), or undefined. */
export function contractDifference(a: ModelContract, b: ModelContract): string | undefined {
  for (const role of ["inputs", "outputs"] as const) {
    const text = (specs: readonly TensorSpec[]) =>
      specs.map((s) => `${s.name}:${s.datatype}${shapeText(s.shape)}`).join(" ");
    if (text(a[role]) !== text(b[role])) return `${role} ${text(a[role])} vs ${text(b[role])}`;
  }
  return undefined;
}
