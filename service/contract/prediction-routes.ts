/**
 * The route templates of the prediction API, as fastify names them (request.routeOptions.url): what
 * the cost budget charges by (service/limits/cost.ts), what the ops summary counts, and, through
 * {@link modelPredictionPaths}, the per-model paths the platform publishes (components/inference).
 */
import { MODEL_NAME_PATTERN } from "./model-name.js";

/**
 * Longest path parameter the router matches (fastify's `maxParamLength`), e.g. the model name of
 * `/models/:name/...` and `/v2/models/:name/...`; a longer one is refused with 400.
 */
export const MAX_PATH_PARAM_LENGTH = 100;

/**
 * The prediction endpoints every served model has: each is routed at `<endpoint>` for the process's
 * default model (MODEL_NAME) and at `/models/:name<endpoint>` for the model the path names (the
 * default one or a MODEL_REPOSITORY model), with one handler (service/server/prediction-route.ts).
 */
export const MODEL_ENDPOINTS = ["/predict", "/predict-image"] as const;
export type ModelEndpoint = (typeof MODEL_ENDPOINTS)[number];

/** The prefix of the per-model routes; `:name` is the model's name. */
const MODEL_PREFIX = "/models/:name";

/** An endpoint's two route templates: the default model's, then the per-model one. */
export function endpointRoutes(endpoint: ModelEndpoint): readonly [string, string] {
  return [endpoint, `${MODEL_PREFIX}${endpoint}`];
}

/** `/predict` and `/models/:name/predict`: JSON rows or instances. */
export const PREDICT_ROUTES: ReadonlySet<string> = new Set(endpointRoutes("/predict"));

/** `/predict-image` and `/models/:name/predict-image`: one uploaded image. */
export const PREDICT_IMAGE_ROUTES: ReadonlySet<string> = new Set(endpointRoutes("/predict-image"));

/** The Open Inference Protocol's infer routes (service/server/routes/v2.ts). */
export const V2_INFER_ROUTES: ReadonlySet<string> = new Set([
  "/v2/models/:name/infer",
  "/v2/models/:name/versions/:version/infer",
]);

/** Every prediction route: what "requests" and "error rate" count in the ops summary. */
export const PREDICTION_ROUTES: ReadonlySet<string> = new Set([
  ...PREDICT_ROUTES,
  ...PREDICT_IMAGE_ROUTES,
  ...V2_INFER_ROUTES,
]);

/**
 * The public paths of one model's prediction endpoints, e.g. `/models/iris/predict` and
 * `/models/iris/predict-image`, in {@link MODEL_ENDPOINTS}' order. Throws for a name the service
 * could not be addressed by: not a model name as MODEL_NAME accepts it, or longer than the router
 * matches ({@link MAX_PATH_PARAM_LENGTH}).
 */
export function modelPredictionPaths(name: string): readonly string[] {
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw new Error(`model name ${JSON.stringify(name.slice(0, 140))} is not like fashion-classifier`);
  }
  if (name.length > MAX_PATH_PARAM_LENGTH) {
    throw new Error(
      `model name "${name}" is ${name.length} characters long: the service routes names of at most ` +
        `${MAX_PATH_PARAM_LENGTH} in a path`,
    );
  }
  return MODEL_ENDPOINTS.map((endpoint) => `/models/${name}${endpoint}`);
}
