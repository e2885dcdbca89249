/**
 * Loads a model version as what it is: a plinth model when the file carries `plinth.metadata`
 * (the convenience endpoints, micro-batching, drift and explain then work), else a graph model
 * served by its own tensor contract over the Open Inference Protocol, and by the convenience
 * endpoints its model configuration asks for (model-config.json or an MLflow MLmodel).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isDeepStrictEqual } from "node:util";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { METADATA_KEY } from "../model/metadata.js";
import { readOnnxMetadataProps } from "../model/onnx-format.js";
import { GraphModel } from "./graph-model.js";
import { findModelConfig } from "./model-config-file.js";
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
  const found = await findModelConfig(file.modelPath);
  if (props[METADATA_KEY] !== undefined) {
    const model = await PlinthModel.load(file, options, bytes);
    // Two descriptions of one model must agree, or one of them would be silently ignored.
    if (found !== undefined && !isDeepStrictEqual(found.config, model.config)) {
      await model.close();
      // plinth's models batch by the service's BATCH_* settings: a `batching` member is not theirs.
      const why =
        found.config.batching !== undefined
          ? `: "batching" configures models served by their graph; plinth's own models batch by BATCH_MAX_DELAY_MS`
          : "";
      throw new Error(
        `${found.source} disagrees with the "${METADATA_KEY}" embedded in ${file.modelPath}${why}; ` +
          `remove the file, or write it from the metadata (the trainer does)`,
      );
    }
    return model;
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  return GraphModel.load(file, bytes, sha256, options, found);
}

/**
 * The model as a plinth model, for a feature that needs plinth metadata (`feature`, e.g.
 * "explain"); else a 400 saying so and what the model does serve.
 */
export function requirePlinthModel(model: LoadedModel, feature: string): PlinthModel {
  if (model.kind === "plinth") return model;
  const task = model.io?.task;
  const served =
    task === undefined || task === "raw"
      ? `score it with its own tensors at /v2/models/${model.name}/infer`
      : `it serves /predict${model.io?.image === undefined ? "" : ", /predict-image"} and /v2/models/${model.name}/infer`;
  throw new ApiError(
    ErrorCode.INVALID_REQUEST,
    `${feature} is not available for model "${model.name}" version ${model.version}: ${feature} needs plinth's ` +
      `own model metadata ("${METADATA_KEY}" in the ONNX file, written by plinth's trainer), which this model ` +
      `does not carry; ${served}`,
  );
}
