/**
 * The bridge from the prediction path to drift monitoring and the prediction log. The HTTP adapter
 * records what the serving core says it scored for a request (`noteScored`, references only, no
 * copying); once the response has been sent, an onResponse hook hands them to the drift window
 * (which copies the rows) and the prediction log (which digests them), so neither keeps the
 * request's buffers, neither adds to a response's latency, and a failed request feeds neither.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Tensor } from "onnxruntime-node";
import type { DriftMonitor } from "../drift/monitor.js";
import type { PredictionLog } from "../prediction-log/log.js";
import type { Scored } from "../rollout/engine.js";
import type { ConfiguredPrediction } from "../serving/configured-io.js";
import { tensorRowDigests } from "../serving/row-digests.js";
import { topClasses } from "../serving/top-class.js";

/** What a model served by its configuration answered: the feeds it ran and its predictions. */
export interface ConfiguredScored {
  readonly model: { readonly name: string; readonly version: string; readonly labels: readonly string[] };
  readonly variant: string;
  readonly feeds: Readonly<Record<string, Tensor>>;
  readonly rows: number;
  readonly predictions: readonly ConfiguredPrediction[];
}

declare module "fastify" {
  interface FastifyRequest {
    scored: Scored | null;
    configuredScored: ConfiguredScored | null;
  }
}

/** Records what answered `request` (references only). */
export function noteScored(request: FastifyRequest, scored: Scored): void {
  request.scored = scored;
}

/** Records what a configured model answered `request` (references only). */
export function noteConfiguredScored(request: FastifyRequest, scored: ConfiguredScored): void {
  request.configuredScored = scored;
}

/** A configured model's rows as the prediction log takes them (drift needs a training baseline: none). */
function configuredEntry(scored: ConfiguredScored) {
  const { predictions } = scored;
  const classified = predictions.filter((p) => "class_id" in p);
  const answers =
    classified.length === predictions.length && predictions.length > 0
      ? {
          labels: scored.model.labels,
          classes: classified.map((p) => p.class_id),
          confidences: classified.map((p) => p.probabilities[p.class_id]!),
        }
      : { values: predictions.map((p) => ("value" in p ? p.value : "values" in p ? p.values : NaN)) };
  return { digests: tensorRowDigests(scored.feeds, scored.rows), ...answers };
}

export interface ScoredObservers {
  readonly drift: DriftMonitor;
  /**
   * The models drift does not watch (MODEL_REPOSITORY's): drift watches the default model's
   * variants only, whatever its registered name, as its windows are kept per variant and rows of
   * another model would restart them.
   */
  readonly otherModels: ReadonlySet<string>;
  /** Absent when PREDICTION_LOG_PATH is unset. */
  readonly predictionLog: PredictionLog | undefined;
}

export function installScoredObservers(app: FastifyInstance, observers: ScoredObservers): void {
  app.decorateRequest("scored", null);
  app.decorateRequest("configuredScored", null);
  app.addHook("onResponse", (request, reply, done) => {
    const configured = request.configuredScored;
    if (configured !== null && reply.statusCode === 200 && observers.predictionLog !== undefined) {
      observers.predictionLog.add({
        timeMs: Date.now(),
        id: request.id,
        model: configured.model.name,
        version: configured.model.version,
        variant: configured.variant,
        rows: configured.rows,
        latencyMs: reply.elapsedTime,
        ...configuredEntry(configured),
      });
    }
    const scored = request.scored;
    if (scored === null || reply.statusCode !== 200) return done();
    const { model, variant, data, rows, probs } = scored;
    const { classes, confidences } = topClasses(probs, rows, model.labels.length);
    if (!observers.otherModels.has(model.name))
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
