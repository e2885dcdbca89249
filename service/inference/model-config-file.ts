/**
 * Finds a model version's configuration beside its model.onnx: `model-config.json` (plinth's own
 * file, which the trainer writes) or, for a model logged with `mlflow.onnx.log_model`, its
 * `MLmodel`. The first wins when both are there: it is the explicit one.
 */
import path from "node:path";
import { MODEL_CONFIG_FILE, parseModelConfigJson, type ModelConfig } from "../model/model-config.js";
import { readOptional } from "../files/read-optional.js";
import { MLMODEL_FILE, modelConfigFromMlmodel } from "../registry/mlflow-model-file.js";

export interface FoundModelConfig {
  readonly config: ModelConfig;
  /** The file it came from, for messages. */
  readonly source: string;
}

/** The configuration of the version whose model file is `modelPath`, or undefined when it has none. */
export async function findModelConfig(modelPath: string): Promise<FoundModelConfig | undefined> {
  const dir = path.dirname(modelPath);
  const configFile = path.join(dir, MODEL_CONFIG_FILE);
  const configText = await readOptional(configFile);
  if (configText !== undefined)
    return { config: parseModelConfigJson(configText, configFile), source: configFile };
  const mlmodelFile = path.join(dir, MLMODEL_FILE);
  const mlmodelText = await readOptional(mlmodelFile);
  if (mlmodelText === undefined) return undefined;
  const config = modelConfigFromMlmodel(mlmodelText, mlmodelFile);
  return config === undefined ? undefined : { config, source: mlmodelFile };
}
