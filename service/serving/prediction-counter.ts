/**
 * `plinth_predictions_total`: every prediction counted by the label it predicted, whichever
 * protocol asked for it, under the model, version and variant that answered.
 */
import type { VariantName } from "../inference/model-holder.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import type { ConfiguredPrediction } from "./configured-io.js";
import { argmax } from "./top-class.js";

/** A loaded model as prediction counts see it (a plinth model, or a configured classifier). */
export interface CountedModel {
  readonly name: string;
  readonly version: string;
  readonly labels: readonly string[];
}

/** Class probabilities of `rows` rows of one model, as a variant answered them. */
export interface ScoredRows {
  readonly model: CountedModel;
  readonly variant: VariantName;
  /** `rows * labels.length` class probabilities. */
  readonly probs: Float32Array;
}

/**
 * Counts predictions by label; children are cached per model (a loaded model serves one variant
 * for its whole life) so a row costs an array index.
 */
export class PredictionCounter {
  private readonly byModel = new WeakMap<CountedModel, { inc(): void }[]>();
  constructor(private readonly metrics: ServiceMetrics) {}

  count(model: CountedModel, variant: VariantName, classId: number): void {
    let children = this.byModel.get(model);
    if (children === undefined) {
      children = model.labels.map((label) =>
        this.metrics.predictions.cell(model.name, model.version, variant, label),
      );
      this.byModel.set(model, children);
    }
    children[classId]!.inc();
  }

  /** Counts a configured classification's predictions (a regression's have no class: not counted). */
  countPredictions(
    model: CountedModel,
    variant: VariantName,
    predictions: readonly ConfiguredPrediction[],
  ): void {
    for (const prediction of predictions) {
      if ("class_id" in prediction) this.count(model, variant, prediction.class_id);
    }
  }

  /** Counts the top class of each row (for answers that return the raw probability tensor). */
  countRows(scored: ScoredRows, rows: number): void {
    const { model, variant, probs } = scored;
    const width = model.labels.length;
    for (let r = 0; r < rows; r++) this.count(model, variant, argmax(probs, r * width, width));
  }
}
