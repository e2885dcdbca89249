/**
 * Loads a model version as what it is: a plinth model when the file carries `plinth.metadata`
 * (the convenience endpoints, micro-batching, drift and explain then work), else a graph model
 * served by its own tensor contract over the Open Inference Protocol, and by the convenience
 * endpoints its model configuration asks for (model-config.json or an MLflow MLmodel).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isDeepStrictEqual } from "node:util";
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
