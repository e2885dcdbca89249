/**
 * The data-quality gate run before training. Each check yields pass / fail / warn with a message a
 * person can act on; any fail stops the training job. The report is written as
 * data_quality_report.json whether the gate passes or not.
 */
import type { DatasetSplits, ImageDataset } from "./dataset.js";

export interface QualityThresholds {
  /** Minimum training samples overall. */
  minSamples: number;
  /** Minimum training samples of every label. */
  minPerLabel: number;
  /** Warn when the largest label has more than this many times the samples of the smallest. */
  maxImbalanceRatio: number;
  /** Fail when more than this fraction of training images are a single flat colour. */
  maxBlankFraction: number;
}

export const DEFAULT_THRESHOLDS: QualityThresholds = {
  minSamples: 500,
  minPerLabel: 50,
  maxImbalanceRatio: 3,
  maxBlankFraction: 0.01,
};

export type CheckStatus = "pass" | "fail" | "warn";

export interface QualityCheck {
  name: string;
  status: CheckStatus;
  message: string;
}

export interface QualityReport {
  passed: boolean;
  skipped: boolean;
  thresholds: QualityThresholds;
  checks: QualityCheck[];
  /** Training samples per label name. */
  trainCounts: Record<string, number>;
  testCounts: Record<string, number>;
  generatedAt: string;
}

function countLabels(ds: ImageDataset): number[] {
  const counts = new Array<number>(ds.labelNames.length).fill(0);
  for (const l of ds.labels) if (l < counts.length) counts[l]!++;
  return counts;
}

function schemaCheck(splits: DatasetSplits): QualityCheck {
  const problems: string[] = [];
  for (const [split, ds] of [
    ["train", splits.train],
    ["test", splits.test],
  ] as const) {
    const size = ds.width * ds.height;
    if (!Number.isInteger(ds.width) || !Number.isInteger(ds.height) || size === 0)
      problems.push(`${split}: bad geometry ${ds.width}x${ds.height}`);
    if (ds.pixels.length !== ds.labels.length * size) {
      problems.push(
        `${split}: ${ds.pixels.length} pixels for ${ds.labels.length} images of ${ds.width}x${ds.height}`,
      );
    }
    const bad = ds.labels.findIndex((l) => l >= ds.labelNames.length);
    if (bad >= 0)
      problems.push(
        `${split}: sample ${bad} has label id ${ds.labels[bad]} but there are ${ds.labelNames.length} label names`,
      );
  }
  if (splits.train.width !== splits.test.width || splits.train.height !== splits.test.height) {
    problems.push(
      `train images are ${splits.train.width}x${splits.train.height}, test images ${splits.test.width}x${splits.test.height}`,
    );
  }
  if (splits.train.labelNames.join("\n") !== splits.test.labelNames.join("\n"))
    problems.push("train and test label names differ");
  if (splits.train.labelNames.length < 2)
    problems.push(`need at least 2 labels, found ${splits.train.labelNames.length}`);
  return problems.length === 0
    ? {
        name: "schema",
        status: "pass",
        message: `${splits.train.width}x${splits.train.height} grayscale, ${splits.train.labelNames.length} labels`,
      }
    : { name: "schema", status: "fail", message: problems.join("; ") };
}

/** Pixel statistics of the training split: finite normalisation statistics and the value range. */
function pixelChecks(ds: ImageDataset, maxBlankFraction: number): QualityCheck[] {
  const size = ds.width * ds.height;
  const count = ds.labels.length;
  let min = 255;
  let max = 0;
  let sum = 0;
  let sumSq = 0;
  let blank = 0;
  for (let i = 0; i < count && size > 0; i++) {
    let imgMin = 255;
    let imgMax = 0;
    for (let p = i * size, end = p + size; p < end; p++) {
      const v = ds.pixels[p]!;
      if (v < imgMin) imgMin = v;
      if (v > imgMax) imgMax = v;
      sum += v;
      sumSq += v * v;
    }
    if (imgMin === imgMax) blank++;
    min = Math.min(min, imgMin);
    max = Math.max(max, imgMax);
  }
  const n = Math.max(1, count * size);
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
  const finite = Number.isFinite(mean) && Number.isFinite(std) && std > 0;
  const blankFraction = count === 0 ? 0 : blank / count;
  return [
    finite
      ? {
          name: "finite-values",
          status: "pass",
          message: `pixel mean ${mean.toFixed(2)}, std ${std.toFixed(2)}: normalisation is finite`,
        }
      : {
          name: "finite-values",
          status: "fail",
          message: `pixel std is ${std}: normalisation would divide by zero or produce NaN`,
        },
    min >= 0 && max <= 255 && max - min >= 32
      ? { name: "value-range", status: "pass", message: `pixels span ${min}..${max} within [0, 255]` }
      : {
          name: "value-range",
          status: "fail",
          message: `pixels span ${min}..${max}: expected values within [0, 255] spanning at least 32 levels`,
        },
    blankFraction <= maxBlankFraction
      ? { name: "blank-images", status: "pass", message: `${blank} of ${count} images are one flat value` }
      : {
          name: "blank-images",
          status: "fail",
          message: `${blank} of ${count} images (${(blankFraction * 100).toFixed(1)}%) are one flat value; at most ${maxBlankFraction * 100}% allowed`,
        },
  ];
}

function countChecks(ds: ImageDataset, t: QualityThresholds): QualityCheck[] {
  const counts = countLabels(ds);
  const total = ds.labels.length;
  const checks: QualityCheck[] = [
    total >= t.minSamples
      ? {
          name: "min-samples",
          status: "pass",
          message: `${total} training samples (minimum ${t.minSamples})`,
        }
      : {
          name: "min-samples",
          status: "fail",
          message: `${total} training samples, fewer than the minimum ${t.minSamples}`,
        },
  ];
  const below = ds.labelNames
    .map((name, i) => ({ name, count: counts[i]! }))
    .filter((c) => c.count < t.minPerLabel);
  checks.push(
    below.length === 0
      ? {
          name: "min-per-label",
          status: "pass",
          message: `every label has at least ${t.minPerLabel} samples`,
        }
      : {
          name: "min-per-label",
          status: "fail",
          message: `below the minimum of ${t.minPerLabel} samples per label: ${below.map((c) => `"${c.name}" (${c.count})`).join(", ")}`,
        },
  );
  const smallest = Math.min(...counts);
  const largest = Math.max(...counts);
  const ratio = smallest === 0 ? Infinity : largest / smallest;
  checks.push(
    ratio <= t.maxImbalanceRatio
      ? { name: "class-balance", status: "pass", message: `largest/smallest label ratio ${ratio.toFixed(2)}` }
      : {
          name: "class-balance",
          status: "warn",
          message: `class imbalance: largest/smallest label ratio ${ratio.toFixed(2)} exceeds ${t.maxImbalanceRatio}`,
        },
  );
  return checks;
}

function countsByName(ds: ImageDataset): Record<string, number> {
  const counts = countLabels(ds);
  return Object.fromEntries(ds.labelNames.map((name, i) => [name, counts[i]!]));
}

/** Runs every check on the splits. `skipped` records `--skip-quality-checks` (the checks still run, for the record). */
export function runQualityGate(
  splits: DatasetSplits,
  thresholds: QualityThresholds,
  skipped = false,
): QualityReport {
  const schema = schemaCheck(splits);
  // Statistics over malformed arrays would be meaningless: stop at a failed schema.
  const checks =
    schema.status === "fail"
      ? [schema]
      : [
          schema,
          ...pixelChecks(splits.train, thresholds.maxBlankFraction),
          ...countChecks(splits.train, thresholds),
        ];
  return {
    passed: checks.every((c) => c.status !== "fail"),
    skipped,
    thresholds,
    checks,
    trainCounts: countsByName(splits.train),
    testCounts: countsByName(splits.test),
    generatedAt: new Date().toISOString(),
  };
}

export function failedChecks(report: QualityReport): QualityCheck[] {
  return report.checks.filter((c) => c.status === "fail");
}
