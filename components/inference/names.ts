/**
 * The names of the inference service that serves a model, which the program gives its objects and
 * the promote CLI selects metrics by. The default model's keeps the name a single-model stack had
 * (plinth-inference), so converting a stack file to plinth:inference.models changes no object; a
 * model with its own Deployment adds its name; the models of the shared Deployment share one.
 */

/** The InferenceService of the shared Deployment, unless it serves the default model. */
export const SHARED_INFERENCE_SERVICE = "plinth-inference-shared";

/**
 * The InferenceService (component, Deployment, Services, ServiceAccounts) that serves `model`;
 * `sharedModels` are the models in the shared Deployment.
 */
export function inferenceServiceName(
  model: string,
  defaultModel: string,
  sharedModels: readonly string[] = [],
): string {
  const shared = sharedModels.includes(model);
  if (model === defaultModel || (shared && sharedModels.includes(defaultModel))) return "plinth-inference";
  return shared ? SHARED_INFERENCE_SERVICE : `plinth-inference-${model}`;
}

/** The headless Service Prometheus scrapes the pods of the InferenceService `name` through. */
export function metricsServiceName(name: string): string {
  return `${name}-metrics`;
}
