/**
 * A plinth model over the Open Inference Protocol keeps its convenience contract: one input tensor
 * of raw pixels (FP32 or UINT8, shaped [N, ...image] or [N, pixels per row], as /predict takes
 * them), normalised here for the model, and one FP32 output of class probabilities [N, classes].
 */
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { PlinthModel } from "../inference/model.js";
import { encodeTensorData } from "../inference/preprocess.js";
import type { InferRequest, ResponseOutput, TensorMetadata } from "./v2-messages.js";

const ACCEPTED_DATATYPES = new Set(["FP32", "UINT8"]);

/** The tensors the model takes and gives, as the protocol's model metadata describes them. */
export function pixelTensorContract(model: PlinthModel): {
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
} {
  const { input, output } = model.metadata;
  return {
    inputs: [{ name: input.name, datatype: "FP32", shape: [-1, ...input.shape] }],
    outputs: [{ name: output.name, datatype: "FP32", shape: [-1, model.labels.length] }],
  };
}

/** The request's output selection names only the model's one output; else a 400. */
export function checkRequestedOutputs(body: InferRequest, model: PlinthModel): void {
  const outputName = model.metadata.output.name;
  for (const out of body.outputs ?? []) {
    if (out.name !== outputName) {
      throw new ApiError(
        ErrorCode.INVALID_REQUEST,
        `unknown output "${out.name.slice(0, 64)}"; the model's output is "${outputName}"`,
      );
    }
  }
}

/** Checks the single input tensor against the model and returns `[rows, normalised data]`. */
export function readPixelInput(
  body: InferRequest,
  model: PlinthModel,
  maxRows: number,
): [number, Float32Array] {
  if (body.inputs.length !== 1) {
    throw new ApiError(
      ErrorCode.INVALID_REQUEST,
      `the model has one input, "${model.metadata.input.name}"; got ${body.inputs.length} inputs`,
    );
  }
  const input = body.inputs[0]!;
  if (input.name !== model.metadata.input.name) {
    throw new ApiError(
      ErrorCode.INVALID_REQUEST,
      `unknown input "${input.name.slice(0, 64)}"; the model's input is "${model.metadata.input.name}"`,
    );
  }
  if (!ACCEPTED_DATATYPES.has(input.datatype)) {
    throw new ApiError(
      ErrorCode.INVALID_REQUEST,
      `input datatype ${input.datatype.slice(0, 16)} not supported; send FP32 or UINT8 raw pixels`,
    );
  }
  const [rows, ...rest] = input.shape;
  const perRow = rest.reduce((a, b) => a * b, 1);
  const expected = model.metadata.input.shape;
  const sameAsModel = rest.length === expected.length && rest.every((d, i) => d === expected[i]);
  if (rows === undefined || (!sameAsModel && !(rest.length === 1 && perRow === model.inputSize))) {
    throw new ApiError(
      ErrorCode.INVALID_SHAPE,
      `input shape [${input.shape.join(",")}]: expected [N,${expected.join(",")}] or [N,${model.inputSize}]`,
    );
  }
  if (rows === 0) throw new ApiError(ErrorCode.EMPTY_BATCH, "input shape has a batch of 0 rows");
  if (rows > maxRows)
    throw new ApiError(ErrorCode.BATCH_TOO_LARGE, `${rows} rows, at most ${maxRows} per request`);
  return [rows, encodeTensorData(input.data, rows * model.inputSize, model, `inputs[0].data`)];
}

/**
 * The class probabilities the answering model gave, as the output tensor named `outputName` (the
 * routed model's: the request was checked against it).
 */
export function probabilityOutput(
  outputName: string,
  answer: { readonly model: PlinthModel; readonly probs: Float32Array; readonly rows: number },
): ResponseOutput {
  const { model, probs, rows } = answer;
  return { name: outputName, datatype: "FP32", shape: [rows, model.labels.length], data: Array.from(probs) };
}
