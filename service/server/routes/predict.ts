/**
 * `POST /predict` (the default model) and `POST /models/:name/predict` (the model the path names):
 * JSON rows of values (`inputs`), or one object of named feature values per row (`instances`) for a
 * model whose configuration names its features.
 */
import { ApiError } from "../../errors/api-error.js";
import { ErrorCode } from "../../errors/codes.js";
import { encodeJsonRows } from "../../inference/preprocess.js";
import { encodeInstances, encodeRows } from "../../serving/configured-io.js";
import type { RouteDeps } from "../deps.js";
import { httpAdapter } from "../named-plugin.js";
import { predict } from "../predict-common.js";
import { predictConfigured } from "../predict-configured.js";
import { postPrediction } from "../prediction-route.js";
import { errorResponses, EXAMPLE_ROW, predictResponseSchema } from "../schemas.js";

type PredictBody =
  { inputs: unknown[]; instances?: undefined } | { instances: unknown[]; inputs?: undefined };

export const predictPlugin = httpAdapter<RouteDeps>("plinth-predict", async (app, deps) => {
  const maxRows = deps.config.limits.maxRowsPerRequest;
  const options = {
    schema: {
      summary: "Score one or more rows",
      description:
        "`inputs` is one row (a flat array of the model's row size, e.g. 784 pixels in [0, 255] for the " +
        `bundled model) or an array of up to ${maxRows} such rows. A model whose configuration names its ` +
        'features also takes `instances`: `[{"<feature>": value, ...}, ...]`. The service applies the ' +
        "model's preprocessing. A classifier answers a label, a class id and the class probabilities per " +
        "row; a regression a `value` (or `values`) per row.",
      body: {
        type: "object",
        properties: {
          inputs: { type: "array", description: "A row of values, or an array of rows." },
          instances: {
            type: "array",
            description: "One object of feature values per row.",
            items: { type: "object" },
          },
        },
        oneOf: [{ required: ["inputs"] }, { required: ["instances"] }],
        examples: [{ inputs: EXAMPLE_ROW }, { inputs: [EXAMPLE_ROW, EXAMPLE_ROW] }],
      },
      response: { 200: predictResponseSchema, ...errorResponses(400, 401, 413, 415, 429, 503) },
    },
  };
  postPrediction<{ Body: PredictBody }>(app, deps, "/predict", options, async (request, reply, engine) => {
    const body = request.body;
    const routed = engine.route(request);
    if (routed.model.kind === "graph") {
      const graph = { variant: routed.variant, model: routed.model };
      return predictConfigured(
        request,
        reply,
        engine,
        graph,
        "/predict",
        (io, name) =>
          body.instances !== undefined
            ? encodeInstances(io, name, body.instances, maxRows)
            : encodeRows(io, name, body.inputs, maxRows),
        deps.predictions,
      );
    }
    const plinth = { variant: routed.variant, model: routed.model };
    if (body.instances !== undefined) {
      throw new ApiError(
        ErrorCode.INVALID_REQUEST,
        `model "${plinth.model.name}" takes rows of pixels, not named features: send them as "inputs"`,
      );
    }
    const { data, rows } = encodeJsonRows(body.inputs, plinth.model, maxRows);
    return predict(request, reply, engine, plinth, data, rows, deps.predictions);
  });
});
