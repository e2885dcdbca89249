/** The route templates of the prediction API, as fastify names them (request.routeOptions.url). */

/** The Open Inference Protocol's infer routes (service/server/routes/v2.ts). */
export const V2_INFER_ROUTES: ReadonlySet<string> = new Set([
  "/v2/models/:name/infer",
  "/v2/models/:name/versions/:version/infer",
]);

/** Every prediction route: what "requests" and "error rate" count in the ops summary. */
export const PREDICTION_ROUTES: ReadonlySet<string> = new Set([
  "/predict",
  "/predict-image",
  ...V2_INFER_ROUTES,
]);
