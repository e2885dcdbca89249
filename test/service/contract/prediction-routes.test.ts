/**
 * The prediction routes' contract (service/contract/prediction-routes.ts): each model endpoint has
 * its default-model route and its per-model route, every one of them counts as prediction traffic,
 * and `modelPredictionPaths` gives the platform a model's public paths, refusing a name the service
 * could not be addressed by.
 */
import { describe, expect, it } from "vitest";
import {
  endpointRoutes,
  MAX_PATH_PARAM_LENGTH,
  MODEL_ENDPOINTS,
  modelPredictionPaths,
  PREDICT_IMAGE_ROUTES,
  PREDICT_ROUTES,
  PREDICTION_ROUTES,
  V2_INFER_ROUTES,
} from "../../../service/contract/prediction-routes.js";

describe("the prediction routes", () => {
  it("route each model endpoint for the default model and for a model named in the path", () => {
    expect(MODEL_ENDPOINTS.map(endpointRoutes)).toEqual([
      ["/predict", "/models/:name/predict"],
      ["/predict-image", "/models/:name/predict-image"],
    ]);
    expect([...PREDICT_ROUTES]).toEqual(["/predict", "/models/:name/predict"]);
    expect([...PREDICT_IMAGE_ROUTES]).toEqual(["/predict-image", "/models/:name/predict-image"]);
  });

  it("count every prediction route as prediction traffic, and nothing else", () => {
    expect([...PREDICTION_ROUTES].sort()).toEqual(
      [...PREDICT_ROUTES, ...PREDICT_IMAGE_ROUTES, ...V2_INFER_ROUTES].sort(),
    );
    expect(PREDICTION_ROUTES.size).toBe(6);
    expect(PREDICTION_ROUTES.has("/predict-image/explain")).toBe(false);
  });
});

describe("modelPredictionPaths", () => {
  it("gives a model's public prediction paths", () => {
    expect(modelPredictionPaths("iris")).toEqual(["/models/iris/predict", "/models/iris/predict-image"]);
    expect(modelPredictionPaths("fashion-classifier.v2_b")).toEqual([
      "/models/fashion-classifier.v2_b/predict",
      "/models/fashion-classifier.v2_b/predict-image",
    ]);
  });

  it.each(["", "Iris", "a/b", "-iris", "iris model", "../admin", "iris?x=1"])(
    "refuses %j: not a model name",
    (name) => {
      expect(() => modelPredictionPaths(name)).toThrow(/is not like fashion-classifier/);
    },
  );

  it("refuses a name longer than the router matches in a path", () => {
    expect(modelPredictionPaths("m".repeat(MAX_PATH_PARAM_LENGTH))).toHaveLength(2);
    expect(() => modelPredictionPaths("m".repeat(MAX_PATH_PARAM_LENGTH + 1))).toThrow(
      `is ${MAX_PATH_PARAM_LENGTH + 1} characters long: the service routes names of at most ${MAX_PATH_PARAM_LENGTH} in a path`,
    );
  });
});
