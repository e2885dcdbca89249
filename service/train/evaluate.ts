/** Test-set evaluation: predictions in batches, then accuracy, macro-F1, per-class precision/recall and the confusion matrix. */
import type { ImageDataset } from "../data/dataset.js";
import { Activations, argmax, forward, shapeSize, softmaxRows, type Architecture } from "../model/network.js";
import { normalizeImages, type Normalization } from "./normalization.js";

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface EvaluationMetrics {
  samples: number;
  accuracy: number;
  macroF1: number;
  perClass: ClassMetrics[];
  /** `confusion[actual][predicted]` counts. */
  confusion: number[][];
}

const EVAL_BATCH = 256;

/** Class probabilities for every image of `ds`, `[count, classes]`. */
export function predictProbabilities(
  arch: Architecture,
  params: Float32Array,
  norm: Normalization,
  ds: ImageDataset,
): Float32Array {
  const size = shapeSize(arch.input);
  const classes = arch.layers[arch.layers.length - 1]!.output.c;
  const count = ds.labels.length;
  const out = new Float32Array(count * classes);
  const acts = new Activations(arch, Math.min(EVAL_BATCH, Math.max(1, count)));
  for (let start = 0; start < count; start += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, count - start);
    const logits = forward(arch, params, normalizeImages(ds.pixels, start, n, size, norm), n, acts);
    out.set(softmaxRows(logits, classes), start * classes);
  }
  return out;
}

export function predictedClasses(probabilities: Float32Array, classes: number): Uint8Array {
  const n = probabilities.length / classes;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = argmax(probabilities, i * classes, classes);
  return out;
}

const round = (v: number) => Number(v.toFixed(6));

/** Metrics of `predicted` against `actual` labels. */
export function classificationMetrics(
  actual: Uint8Array,
  predicted: Uint8Array,
  labelNames: readonly string[],
): EvaluationMetrics {
  const k = labelNames.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const p = predicted[i] as number;
    (confusion[a] as number[])[p]!++;
    if (a === p) correct++;
  }
  const perClass = labelNames.map((label, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((s, v) => s + v, 0);
    const predictedCount = confusion.reduce((s, row) => s + row[c]!, 0);
    const precision = predictedCount === 0 ? 0 : tp / predictedCount;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision: round(precision), recall: round(recall), f1: round(f1), support };
  });
  return {
    samples: actual.length,
    accuracy: round(actual.length === 0 ? 0 : correct / actual.length),
    macroF1: round(perClass.reduce((s, c) => s + c.f1, 0) / k),
    perClass,
    confusion,
  };
}
