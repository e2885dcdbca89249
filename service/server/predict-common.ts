/**
 * The shared tail of every prediction route: score normalised rows on the variant the rollout
 * engine routed the request to, count the predictions, and shape the response.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { QueueFullError } from "../inference/batcher.js";
import type { VariantName } from "../inference/model-holder.js";
import type { PlinthModel } from "../inference/model.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import { FORCE_HEADER, type RolloutEngine, type Routed, type Scored } from "../rollout/engine.js";

export interface Prediction {
  label: string;
  class_id: number;
  probabilities: number[];
}

export interface PredictResponse {
  prediction_id: string;
  model: { name: string; version: string; variant: VariantName };
  predictions: Prediction[];
}

/** Retry-After for 503s: the queue drains in milliseconds, so clients may retry at once. */
const RETRY_AFTER = { "retry-after": "1" };

export function notReady(): ApiError {
  return new ApiError(
    ErrorCode.NOT_READY,
    "the model is not loaded or the service is shutting down",
    RETRY_AFTER,
  );
}

/** Scores rows; maps back-pressure to 503 OVERLOADED. */
export async function infer(model: PlinthModel, data: Float32Array, rows: number): Promise<Float32Array> {
  try {
    return await model.infer(data, rows);
  } catch (err) {
    if (err instanceof QueueFullError) throw new ApiError(ErrorCode.OVERLOADED, err.message, RETRY_AFTER);
    throw err;
  }
}

/**
 * Counts predictions by label; children are cached per model (a loaded model serves one variant
 * for its whole life) so a row costs an array index.
 */
export class PredictionCounter {
  private readonly byModel = new WeakMap<PlinthModel, { inc(): void }[]>();
  constructor(private readonly metrics: ServiceMetrics) {}

  count(model: PlinthModel, variant: VariantName, classId: number): void {
    let children = this.byModel.get(model);
    if (children === undefined) {
      children = model.labels.map((label) =>
        this.metrics.predictions.labels(model.name, model.version, variant, label),
      );
      this.byModel.set(model, children);
    }
    children[classId]!.inc();
  }
}

function argmax(values: Float32Array, start: number, width: number): number {
  let best = 0;
  for (let c = 1; c < width; c++) if (values[start + c]! > values[start + best]!) best = c;
  return best;
}

/** Counts the top class of each row (for routes that return raw tensors). */
export function countPredictions(scored: Scored, rows: number, counter: PredictionCounter): void {
  const { model, variant, probs } = scored;
  const width = model.labels.length;
  for (let r = 0; r < rows; r++) counter.count(model, variant, argmax(probs, r * width, width));
}

/** Top class of each row, its label and the row's probabilities. */
export function toPredictions(scored: Scored, rows: number, counter: PredictionCounter): Prediction[] {
  const { model, variant, probs } = scored;
  const width = model.labels.length;
  const out: Prediction[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const start = r * width;
    const best = argmax(probs, start, width);
    const probabilities = Array.from(probs.subarray(start, start + width));
    counter.count(model, variant, best);
    out[r] = { label: model.labels[best]!, class_id: best, probabilities };
  }
  return out;
}

/** Response headers naming the prediction and the variant that answered. */
export function predictionHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: { readonly variant: VariantName },
): void {
  reply.header("x-prediction-id", request.id);
  reply.header(FORCE_HEADER, answer.variant);
}

/** Scores rows routed by the rollout engine and sends the standard prediction response. */
export async function predict(
  request: FastifyRequest,
  reply: FastifyReply,
  rollout: RolloutEngine,
  routed: Routed<PlinthModel>,
  data: Float32Array,
  rows: number,
  counter: PredictionCounter,
): Promise<PredictResponse> {
  const scored = await rollout.score(request, routed, data, rows);
  predictionHeaders(request, reply, scored);
  return {
    prediction_id: request.id,
    model: { name: scored.model.name, version: scored.model.version, variant: scored.variant },
    predictions: toPredictions(scored, rows, counter),
  };
}
