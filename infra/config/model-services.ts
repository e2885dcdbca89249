/**
 * Which inference service serves each model of a stack: the program names its objects by it, the
 * promote CLI selects the model's metrics by it, the local stack starts its processes by it. One
 * function, so the three never disagree (a model in the shared Deployment is served by that one).
 */
import { inferenceServiceName, metricsServiceName } from "../../components/inference/names.js";
import type { InferenceSettings } from "./schema.js";

type Models = Pick<InferenceSettings, "defaultModel" | "models">;

/** The models in the shared Deployment, in the stack file's order. */
export function sharedModels(inference: Models): string[] {
  return Object.entries(inference.models)
    .filter(([, model]) => model.deployment === "shared")
    .map(([name]) => name);
}

/** The InferenceService (its Deployment, Services, objects) that serves `model`. */
export function servingInferenceService(inference: Models, model: string): string {
  return inferenceServiceName(model, inference.defaultModel, sharedModels(inference));
}

/** The metrics Service `model`'s series are scraped through: their `service` label. */
export function servingMetricsService(inference: Models, model: string): string {
  return metricsServiceName(servingInferenceService(inference, model));
}
