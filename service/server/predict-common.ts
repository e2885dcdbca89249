/**
 * The shared tail of every prediction route: score normalised rows on the serving model, count the
 * predictions, and shape the response.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { QueueFullError } from "../inference/batcher.js";
import { STABLE_VARIANT, type ModelHolder } from "../inference/model-holder.js";
import type { LoadedModel } from "../inference/model.js";
import type { ServiceMetrics } from "../metrics/registry.js";

export interface Prediction {
  label: string;
  class_id: number;
  probabilities: number[];
}

export interface PredictResponse {
  prediction_id: string;
  model: { name: string; version: string };
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

/** The serving model, or a 503 when none is loaded yet (or the service is draining). */
export function servingModel(holder: ModelHolder, request: FastifyRequest): LoadedModel {
  const model = holder.current;
  if (model === undefined) throw notReady();
  request.servedBy = { variant: STABLE_VARIANT, version: model.version };
  return model;
}

/** Scores rows; maps back-pressure to 503 OVERLOADED. */
export async function infer(model: LoadedModel, data: Float32Array, rows: number): Promise<Float32Array> {
  try {
    return await model.infer(data, rows);
  } catch (err) {
    if (err instanceof QueueFullError) throw new ApiError(ErrorCode.OVERLOADED, err.message, RETRY_AFTER);
    throw err;
  }
}

/** Counts predictions by label; children are cached per model so a row costs an array index. */
export class PredictionCounter {
  private readonly byModel = new WeakMap<LoadedModel, { inc(): void }[]>();
  constructor(private readonly metrics: ServiceMetrics) {}

  count(model: LoadedModel, classId: number): void {
    let children = this.byModel.get(model);
    if (children === undefined) {
      children = model.labels.map((label) =>
        this.metrics.predictions.labels(model.name, model.version, STABLE_VARIANT, label),
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
export function countPredictions(
  model: LoadedModel,
  probs: Float32Array,
  rows: number,
  counter: PredictionCounter,
): void {
  const width = model.labels.length;
  for (let r = 0; r < rows; r++) counter.count(model, argmax(probs, r * width, width));
}

/** Top class of each row, its label and the row's probabilities. */
export function toPredictions(
  model: LoadedModel,
  probs: Float32Array,
  rows: number,
  counter: PredictionCounter,
): Prediction[] {
  const width = model.labels.length;
  const out: Prediction[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const start = r * width;
    const best = argmax(probs, start, width);
    const probabilities = Array.from(probs.subarray(start, start + width));
    counter.count(model, best);
    out[r] = { label: model.labels[best]!, class_id: best, probabilities };
  }
  return out;
}

/** Runs rows through the model and sends the standard prediction response. */
export async function predict(
  request: FastifyRequest,
  reply: FastifyReply,
  model: LoadedModel,
  data: Float32Array,
  rows: number,
  counter: PredictionCounter,
): Promise<PredictResponse> {
  const probs = await infer(model, data, rows);
  reply.header("x-prediction-id", request.id);
  return {
    prediction_id: request.id,
    model: { name: model.name, version: model.version },
    predictions: toPredictions(model, probs, rows, counter),
  };
}
