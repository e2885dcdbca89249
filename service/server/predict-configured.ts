/**
 * `/predict` and `/predict-image` for a model served by its model configuration (any ONNX model
 * with a model-config.json or an MLflow MLmodel): the request is encoded and checked for the routed
 * model first, so a bad request is a 400 before any model runs (and never counts against a
 * candidate), then run on the variant the rollout engine picks; a model that answers in place of
 * the routed one (stable after a candidate's fallback) gets the request encoded for itself.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { GraphModel } from "../inference/graph-model.js";
import type { RolloutEngine, Routed } from "../rollout/engine.js";
import { labelsOfPredictions } from "../rollout/shadow.js";
import {
  predictionOutputs,
  toConfiguredPredictions,
  type ConfiguredIo,
  type ConfiguredPrediction,
  type EncodedFeeds,
} from "../serving/configured-io.js";
import type { PredictionCounter } from "../serving/prediction-counter.js";
import { noteConfiguredScored } from "../ops/scored.js";
import { markAnswered } from "./predict-common.js";

/** Encodes a request for a model's configuration (throws a 400 naming what is wrong). */
export type ConfiguredEncoder = (io: ConfiguredIo, modelName: string) => EncodedFeeds | Promise<EncodedFeeds>;

export interface ConfiguredResponse {
  prediction_id: string;
  model: { name: string; version: string; variant: string };
  predictions: ConfiguredPrediction[];
}

/** The model's bound configuration, when it asks for the convenience endpoints; else a 400. */
function configuredIo(model: GraphModel, route: string): ConfiguredIo {
  const io = model.io;
  if (io !== undefined && io.task !== "raw") return io;
  throw new ApiError(
    ErrorCode.INVALID_REQUEST,
    `${route} is not available for model "${model.name}" version ${model.version}: ` +
      (io === undefined
        ? "it has no model configuration (model-config.json beside model.onnx, or an MLflow MLmodel)"
        : 'its model configuration says task "raw"') +
      `; score it with its own tensors at /v2/models/${model.name}/infer`,
  );
}

export async function predictConfigured(
  request: FastifyRequest,
  reply: FastifyReply,
  rollout: RolloutEngine,
  routed: Routed<GraphModel>,
  route: string,
  encode: ConfiguredEncoder,
  counter: PredictionCounter,
): Promise<ConfiguredResponse> {
  const routedIo = configuredIo(routed.model, route);
  const encoded = await encode(routedIo, routed.model.name);
  const answered = await rollout.runGraph(
    request,
    routed,
    async (model) => {
      const io = model === routed.model ? routedIo : configuredIo(model, route);
      const { feeds, rows } = model === routed.model ? encoded : await encode(io, model.name);
      const results = await model.run(feeds, predictionOutputs(io), rows);
      return { feeds, rows, predictions: toConfiguredPredictions(io, results, rows) };
    },
    // Shadow agreement: a classification's labels, as the response gives them.
    (_model, answer) => labelsOfPredictions(answer.predictions),
    encoded.rows,
  );
  const { model, variant } = answered;
  const { feeds, rows, predictions: result } = answered.result;
  noteConfiguredScored(request, { model, variant, feeds, rows, predictions: result });
  counter.countPredictions(model, variant, result);
  markAnswered(request, reply, answered);
  return {
    prediction_id: request.id,
    model: { name: model.name, version: model.version, variant },
    predictions: result,
  };
}
