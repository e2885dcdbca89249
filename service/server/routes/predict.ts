/** `POST /predict`: JSON rows of raw pixels. */
import type { FastifyInstance } from "fastify";
import { encodeJsonRows } from "../../inference/preprocess.js";
import type { RouteDeps } from "../deps.js";
import { predict } from "../predict-common.js";
import { apiKeySecurity, errorResponses, EXAMPLE_ROW, predictResponseSchema } from "../schemas.js";

interface PredictBody {
  inputs: unknown[];
}

export function predictRoute(app: FastifyInstance, deps: RouteDeps): void {
  const maxRows = deps.config.limits.maxRowsPerRequest;
  app.post<{ Body: PredictBody }>(
    "/predict",
    {
      schema: {
        summary: "Classify one or more rows of raw pixels",
        description:
          "`inputs` is one row (a flat array of the model's input size, e.g. 784 pixels in [0, 255]) " +
          `or an array of up to ${maxRows} such rows. The service applies the model's normalisation.`,
        security: apiKeySecurity,
        body: {
          type: "object",
          required: ["inputs"],
          properties: { inputs: { type: "array", description: "A row of pixels, or an array of rows." } },
          examples: [{ inputs: EXAMPLE_ROW }, { inputs: [EXAMPLE_ROW, EXAMPLE_ROW] }],
        },
        response: { 200: predictResponseSchema, ...errorResponses(400, 401, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const routed = deps.rollout.routePlinth(request, "/predict");
      const { data, rows } = encodeJsonRows(request.body.inputs, routed.model, maxRows);
      return predict(request, reply, deps.rollout, routed, data, rows, deps.predictions);
    },
  );
}
