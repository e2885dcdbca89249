/**
 * Loads a model version as what it is: a plinth model when the file carries `plinth.metadata`
 * (the convenience endpoints, drift and explain then work), else a graph model served by its own
 * tensor contract over the Open Inference Protocol.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { METADATA_KEY } from "../model/metadata.js";
import { readOnnxMetadataProps } from "../model/onnx-format.js";
import { GraphModel } from "./graph-model.js";
import { PlinthModel, type LoadOptions, type ResolvedModelFile } from "./model.js";

export type LoadedModel = PlinthModel | GraphModel;

export async function loadModel(file: ResolvedModelFile, options: LoadOptions): Promise<LoadedModel> {
  const bytes = new Uint8Array(await readFile(file.modelPath));
  let props: Record<string, string>;
  try {
    props = readOnnxMetadataProps(bytes);
  } catch (err) {
    throw new Error(`${file.modelPath}: ${(err as Error).message}`, { cause: err });
  }
  if (props[METADATA_KEY] !== undefined) return PlinthModel.load(file, options, bytes);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  return GraphModel.load(file, bytes, sha256, options);
}

/**
 * The model as a plinth model, for a feature that needs plinth metadata (`feature`, e.g.
 * "/predict"); else a 400 saying so and where the model is served instead.
 */
export function requirePlinthModel(model: LoadedModel, feature: string): PlinthModel {
  if (model.kind === "plinth") return model;
  throw new ApiError(
    ErrorCode.INVALID_REQUEST,
    `${feature} is not available for model "${model.name}" version ${model.version}: it has no plinth ` +
      `metadata ("${METADATA_KEY}" in the ONNX file), which ${feature} needs; score it with its own ` +
      `tensors at /v2/models/${model.name}/infer`,
  );
}
