/**
 * The bridge from the prediction path to drift monitoring and the prediction log. The HTTP adapter
 * records what the serving core says it scored for a request (`noteScored`, references only, no
 * copying); once the response has been sent, an onResponse hook hands them to the drift window
 * (which copies the rows) and the prediction log (which digests them), so neither keeps the
 * request's buffers, neither adds to a response's latency, and a failed request feeds neither.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { DriftMonitor } from "../drift/monitor.js";
import type { PredictionLog } from "../prediction-log/log.js";
import type { Scored } from "../rollout/engine.js";
import { topClasses } from "../serving/top-class.js";

declare module "fastify" {
  interface FastifyRequest {
    scored: Scored | null;
  }
}

/** Records what answered `request` (references only). */
export function noteScored(request: FastifyRequest, scored: Scored): void {
  request.scored = scored;
}

export interface ScoredObservers {
  readonly drift: DriftMonitor;
  /**
   * The model whose variants drift watches (MODEL_NAME): its windows are kept per variant, so rows
   * of another model served by the same process (MODEL_REPOSITORY) would restart them.
   */
  readonly driftModel: string;
  /** Absent when PREDICTION_LOG_PATH is unset. */
  readonly predictionLog: PredictionLog | undefined;
}

export function installScoredObservers(app: FastifyInstance, observers: ScoredObservers): void {
  app.decorateRequest("scored", null);
  app.addHook("onResponse", (request, reply, done) => {
    const scored = request.scored;
    if (scored === null || reply.statusCode !== 200) return done();
    const { model, variant, data, rows, probs } = scored;
    const { classes, confidences } = topClasses(probs, rows, model.labels.length);
    if (model.name === observers.driftModel) observers.drift.observe({ model, variant, data, rows, classes });
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
