import { describe, expect, it } from "vitest";
import type { DatasetSplits, ImageDataset } from "../../../service/data/dataset.js";
import { DEFAULT_THRESHOLDS, failedChecks, runQualityGate } from "../../../service/data/quality.js";

/** `counts[label]` images of 4x4 pixels, each a gradient so no image is blank. */
function dataset(
  counts: number[],
  pixel: (i: number, p: number) => number = (i, p) => (i * 7 + p * 16) % 256,
): ImageDataset {
  const n = counts.reduce((a, b) => a + b, 0);
  const labels = new Uint8Array(counts.flatMap((c, label) => new Array<number>(c).fill(label)));
  const pixels = new Uint8Array(n * 16);
  for (let i = 0; i < n; i++) for (let p = 0; p < 16; p++) pixels[i * 16 + p] = pixel(i, p);
  return { width: 4, height: 4, pixels, labels, labelNames: counts.map((_, i) => `class${i}`) };
}

function splits(
  train: ImageDataset,
  test: ImageDataset = dataset(train.labelNames.map(() => 2)),
): DatasetSplits {
  return { train, test, sha256: "0".repeat(64), source: "memory", skipped: [] };
}

const thresholds = { ...DEFAULT_THRESHOLDS, minSamples: 100, minPerLabel: 30 };
const statusOf = (report: ReturnType<typeof runQualityGate>) =>
  Object.fromEntries(report.checks.map((c) => [c.name, c.status]));

describe("runQualityGate", () => {
  it("passes clean balanced data and counts samples per label", () => {
    const report = runQualityGate(splits(dataset([40, 40, 40])), thresholds);
    expect(report.passed).toBe(true);
    expect(report.skipped).toBe(false);
    expect(statusOf(report)).toEqual({
      schema: "pass",
      "finite-values": "pass",
      "value-range": "pass",
      "blank-images": "pass",
      "min-samples": "pass",
      "min-per-label": "pass",
      "class-balance": "pass",
    });
    expect(report.trainCounts).toEqual({ class0: 40, class1: 40, class2: 40 });
    expect(report.testCounts).toEqual({ class0: 2, class1: 2, class2: 2 });
  });

  it("fails a label below the per-label minimum, naming it and its count", () => {
    const report = runQualityGate(splits(dataset([60, 12, 60])), thresholds);
    expect(report.passed).toBe(false);
    expect(failedChecks(report)).toEqual([
      {
        name: "min-per-label",
        status: "fail",
        message: 'below the minimum of 30 samples per label: "class1" (12)',
      },
    ]);
    expect(report.trainCounts.class1).toBe(12);
  });

  it("fails too few samples overall", () => {
    const report = runQualityGate(splits(dataset([30, 30])), thresholds);
    expect(failedChecks(report).map((c) => c.message)).toEqual([
      "60 training samples, fewer than the minimum 100",
    ]);
  });

  it("warns, without failing, on class imbalance", () => {
    const report = runQualityGate(splits(dataset([200, 40, 40])), thresholds);
    expect(report.passed).toBe(true);
    expect(report.checks.find((c) => c.name === "class-balance")).toEqual({
      name: "class-balance",
      status: "warn",
      message: "class imbalance: largest/smallest label ratio 5.00 exceeds 3",
    });
  });

  it("fails constant data: no finite normalisation, no value range, blank images", () => {
    const report = runQualityGate(splits(dataset([50, 50], () => 7)), thresholds);
    expect(failedChecks(report).map((c) => c.name)).toEqual(["finite-values", "value-range", "blank-images"]);
    expect(report.checks.find((c) => c.name === "value-range")!.message).toBe(
      "pixels span 7..7: expected values within [0, 255] spanning at least 32 levels",
    );
    expect(report.checks.find((c) => c.name === "blank-images")!.message).toBe(
      "100 of 100 images (100.0%) are one flat value; at most 1% allowed",
    );
  });

  it("fails a schema mismatch and stops there", () => {
    const train = dataset([50, 50]);
    const bad = { ...train, labels: train.labels.map((l, i) => (i === 3 ? 9 : l)) };
    const report = runQualityGate(splits(bad), thresholds);
    expect(report.checks.map((c) => c.name)).toEqual(["schema"]);
    expect(report.checks[0]!.message).toBe("train: sample 3 has label id 9 but there are 2 label names");
    const test = { ...dataset([2, 2]), width: 2, height: 8 };
    expect(failedChecks(runQualityGate(splits(train, test), thresholds))[0]!.message).toBe(
      "train images are 4x4, test images 2x8",
    );
  });

  it("records a skipped gate", () => {
    expect(runQualityGate(splits(dataset([60, 12, 60])), thresholds, true)).toMatchObject({
      passed: false,
      skipped: true,
    });
  });
});
