/**
 * The drift baseline stored beside each model version as baseline.json: for every image feature,
 * quantile bin edges (deciles of the training images, so each bin starts with about a tenth of the
 * data, unlike uniform bins that leave most bins empty) with the proportion of training images per
 * bin; and the distribution of predicted classes on the test set.
 */
import { z } from "zod";
import { formatZodIssues } from "../errors/zod-issues.js";
import { IMAGE_FEATURE_NAMES, imageFeatures } from "./features.js";

export const featureBinsSchema = z.object({
  name: z.string().min(1),
  /** Ascending, distinct upper bin edges; bin i holds values <= edges[i], the last bin the rest. */
  edges: z.array(z.number()),
  /** `edges.length + 1` proportions summing to 1. */
  proportions: z.array(z.number().min(0).max(1)),
});

export const baselineSchema = z.object({
  schemaVersion: z.literal(1),
  /** Images the feature bins were computed on. */
  featureSamples: z.number().int().positive(),
  features: z.array(featureBinsSchema),
  predictions: z.object({
    /** Test images the distribution was computed on. */
    samples: z.number().int().positive(),
    labels: z.array(z.string()),
    proportions: z.array(z.number().min(0).max(1)),
  }),
});

export type FeatureBins = z.infer<typeof featureBinsSchema>;
export type Baseline = z.infer<typeof baselineSchema>;

/** Index of the bin `value` falls in: the first edge it does not exceed, else the last bin. */
export function binIndex(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const round = (v: number) => Number(v.toPrecision(6));

/** Quantile bins of `values`: distinct edges at the given quantiles, and the share of values per bin. */
export function quantileBins(name: string, values: readonly number[], quantiles = 10): FeatureBins {
  if (values.length === 0) throw new Error(`feature ${name}: no values`);
  const sorted = [...values].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let q = 1; q < quantiles; q++) {
    const edge = round(sorted[Math.min(sorted.length - 1, Math.floor((q * sorted.length) / quantiles))]!);
    // Ties (many all-black corners, say) collapse quantiles: keep each edge once.
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) counts[binIndex(edges, v)]!++;
  return { name, edges, proportions: counts.map((c) => round(c / values.length)) };
}

/** Proportion of each class among `predicted` class ids. */
export function classProportions(predicted: ArrayLike<number>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < predicted.length; i++) counts[predicted[i]!]!++;
  return counts.map((c) => round(c / Math.max(1, predicted.length)));
}

/**
 * Builds the baseline from `count` training images (`pixels`, `width x height` each) and the
 * predicted classes of the test set.
 */
export function buildBaseline(
  images: { pixels: Uint8Array; width: number; height: number; count: number },
  testPredictions: Uint8Array,
  labels: readonly string[],
): Baseline {
  const size = images.width * images.height;
  const columns = IMAGE_FEATURE_NAMES.map(() => new Array<number>(images.count));
  for (let i = 0; i < images.count; i++) {
    imageFeatures(images.pixels, images.width, images.height, i * size).forEach(
      (v, f) => (columns[f]![i] = v),
    );
  }
  return {
    schemaVersion: 1,
    featureSamples: images.count,
    features: IMAGE_FEATURE_NAMES.map((name, f) => quantileBins(name, columns[f]!)),
    predictions: {
      samples: testPredictions.length,
      labels: [...labels],
      proportions: classProportions(testPredictions, labels.length),
    },
  };
}

/** Parses baseline.json; `source` names the file in errors. */
export function parseBaseline(json: string, source: string): Baseline {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new Error(`${source}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = baselineSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${source}: invalid baseline: ${formatZodIssues(parsed.error)}`);
  }
  return parsed.data;
}
