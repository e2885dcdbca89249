/**
 * The bridge from the prediction path to drift monitoring and the prediction log. The code that
 * scores a request records references to what it scored (`noteScored`, no copying); once the
 * response has been sent, an onResponse hook hands them to the drift window (which copies the rows)
 * and the prediction log (which digests them), so neither keeps the request's buffers, neither
 * adds to a response's latency, and a failed request feeds neither.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { DriftMonitor } from "../drift/monitor.js";
import type { PlinthModel } from "../inference/model.js";
import type { PredictionLog } from "../prediction-log/log.js";

/** What a request was answered with. */
export interface ScoredRequest {
  readonly model: PlinthModel;
  readonly variant: string;
  /** The rows as encoded (normalised) for `model`. */
  readonly data: Float32Array;
  readonly rows: number;
  /** `rows * labels.length` class probabilities. */
  readonly probs: Float32Array;
}

declare module "fastify" {
  interface FastifyRequest {
    scored: ScoredRequest | null;
  }
}

/** Records what answered `request` (references only). */
export function noteScored(
  request: FastifyRequest,
  answer: { readonly model: PlinthModel; readonly variant: string; readonly probs: Float32Array },
  data: Float32Array,
  rows: number,
): void {
  request.scored = { model: answer.model, variant: answer.variant, data, rows, probs: answer.probs };
}

export interface ScoredObservers {
  readonly drift: DriftMonitor;
  /** Absent when PREDICTION_LOG_PATH is unset. */
  readonly predictionLog: PredictionLog | undefined;
}

/** Top class and its probability for each row. */
export function topClasses(probs: Float32Array, rows: number, width: number) {
  const classes = new Uint16Array(rows);
  const confidences = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const start = r * width;
    let best = 0;
    for (let c = 1; c < width; c++) if (probs[start + c]! > probs[start + best]!) best = c;
    classes[r] = best;
    confidences[r] = probs[start + best]!;
  }
  return { classes, confidences };
}

export function installScoredObservers(app: FastifyInstance, observers: ScoredObservers): void {
  app.decorateRequest("scored", null);
  app.addHook("onResponse", (request, reply, done) => {
    const scored = request.scored;
    if (scored === null || reply.statusCode !== 200) return done();
    const { model, variant, data, rows, probs } = scored;
    const { classes, confidences } = topClasses(probs, rows, model.labels.length);
    observers.drift.observe({ model, variant, data, rows, classes });
    observers.predictionLog?.add({
      timeMs: Date.now(),
      id: request.id,
      model: model.name,
      version: model.version,
      variant,
      labels: model.labels,
      data,
      rows,
      classes,
      confidences,
      latencyMs: reply.elapsedTime,
    });
    done();
  });
}
