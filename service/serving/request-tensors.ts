/**
 * An inference request checked against a model's contract, before anything runs: every input the
 * graph has, by name, of the graph's datatype, of a shape that fits the graph's (a dynamic
 * dimension fits any size), holding as many values as its shape says; and the requested outputs
 * among the graph's. Each refusal is a 400 naming the tensor and what is wrong with it.
 */
import type { Tensor } from "onnxruntime-node";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { DYNAMIC, shapeText, type ModelContract, type TensorSpec } from "./contract.js";
import { toOrtTensor, type BinaryTensorValues, type TensorValues } from "./tensor-codec.js";

/**
 * A request tensor as the protocol carries it: JSON `data` flat or nested, row-major, or the
 * binary extension's elements, decoded to the typed array the model takes (v2-binary.ts).
 */
export interface RequestTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: readonly unknown[] | BinaryTensorValues;
}

export interface CheckedRequest {
  /** One ONNX Runtime tensor per graph input. */
  readonly feeds: Record<string, Tensor>;
  /** The outputs to return, in the request's order (all of the graph's when it names none). */
  readonly outputs: readonly TensorSpec[];
  /** Rows in the batch: the leading dimension where the graph's is dynamic, else 1. */
  readonly rows: number;
}

const shown = (name: string) => JSON.stringify(name.slice(0, 64));
const describe = (spec: TensorSpec) => `${spec.name} (${spec.datatype} ${shapeText(spec.shape)})`;

function fitsShape(shape: readonly number[], spec: TensorSpec): boolean {
  // A graph that does not declare a shape accepts any; ONNX Runtime still checks at run time.
  if (spec.shape.length === 0) return true;
  return (
    shape.length === spec.shape.length &&
    shape.every((d, i) => spec.shape[i] === DYNAMIC || d === spec.shape[i])
  );
}

/** Nested `data` (one array level per dimension) flattened row-major; flat (or binary) data as it is. */
function flatData(data: RequestTensor["data"], rank: number): TensorValues {
  if (!Array.isArray(data)) return data as BinaryTensorValues;
  return data.some(Array.isArray) ? (data as unknown[]).flat(Math.max(rank - 1, 1)) : data;
}

function checkInput(tensor: RequestTensor, spec: TensorSpec, maxRows: number): Tensor {
  const where = `input ${shown(tensor.name)}`;
  if (tensor.datatype !== spec.datatype) {
    throw new ApiError(
      ErrorCode.INVALID_REQUEST,
      `${where}: datatype ${tensor.datatype.slice(0, 16)}, the model's is ${spec.datatype}`,
    );
  }
  if (!fitsShape(tensor.shape, spec)) {
    throw new ApiError(
      ErrorCode.INVALID_SHAPE,
      `${where}: shape ${shapeText(tensor.shape)} does not fit the model's ${shapeText(spec.shape)} (-1 is any size)`,
    );
  }
  if (spec.shape[0] === DYNAMIC && tensor.shape[0]! > maxRows) {
    throw new ApiError(
      ErrorCode.BATCH_TOO_LARGE,
      `${where}: ${tensor.shape[0]} rows, at most ${maxRows} per request`,
    );
  }
  const values = flatData(tensor.data, tensor.shape.length);
  const count = tensor.shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) {
    throw new ApiError(
      ErrorCode.INVALID_SHAPE,
      `${where}: shape ${shapeText(tensor.shape)} holds ${count} values, data has ${values.length}`,
    );
  }
  return toOrtTensor(spec.datatype, values, tensor.shape, where);
}

function selectOutputs(
  contract: ModelContract,
  requested: readonly { name: string }[] | undefined,
): TensorSpec[] {
  if (requested === undefined || requested.length === 0) return [...contract.outputs];
  const byName = new Map(contract.outputs.map((o) => [o.name, o]));
  return requested.map(({ name }) => {
    const spec = byName.get(name);
    if (spec === undefined) {
      throw new ApiError(
        ErrorCode.INVALID_REQUEST,
        `unknown output ${shown(name)}; the model's outputs are ${contract.outputs.map((o) => o.name).join(", ")}`,
      );
    }
    return spec;
  });
}

/** Checks a request's inputs and output selection against `contract`; builds the feeds. */
export function checkRequest(
  inputs: readonly RequestTensor[],
  requestedOutputs: readonly { name: string }[] | undefined,
  contract: ModelContract,
  maxRows: number,
): CheckedRequest {
  const specs = new Map(contract.inputs.map((s) => [s.name, s]));
  const given = new Map<string, RequestTensor>();
  for (const tensor of inputs) {
    if (!specs.has(tensor.name)) {
      throw new ApiError(
        ErrorCode.INVALID_REQUEST,
        `unknown input ${shown(tensor.name)}; the model's inputs are ${contract.inputs.map(describe).join(", ")}`,
      );
    }
    if (given.has(tensor.name))
      throw new ApiError(ErrorCode.INVALID_REQUEST, `input ${shown(tensor.name)} is given twice`);
    given.set(tensor.name, tensor);
  }
  const feeds: Record<string, Tensor> = {};
  // Inputs whose leading dimension is dynamic are one batch: the rows of one request.
  let batch: { name: string; rows: number } | undefined;
  for (const spec of contract.inputs) {
    const tensor = given.get(spec.name);
    if (tensor === undefined)
      throw new ApiError(ErrorCode.INVALID_REQUEST, `missing input ${describe(spec)}`);
    feeds[spec.name] = checkInput(tensor, spec, maxRows);
    if (spec.shape[0] !== DYNAMIC) continue;
    const rows = tensor.shape[0]!;
    batch ??= { name: spec.name, rows };
    if (rows !== batch.rows) {
      throw new ApiError(
        ErrorCode.INVALID_SHAPE,
        `input ${shown(spec.name)}: ${rows} rows, input ${shown(batch.name)} has ${batch.rows}; ` +
          "inputs whose first dimension is dynamic are one batch and need the same number of rows",
      );
    }
  }
  return { feeds, outputs: selectOutputs(contract, requestedOutputs), rows: batch?.rows ?? 1 };
}
