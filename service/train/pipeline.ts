/**
 * Train -> evaluate on the test split -> export ONNX with metadata -> summary: the part of the
 * training job after the data is loaded and has passed the quality gate (service/train/job.ts).
 */
import type { DatasetSplits } from "../data/dataset.js";
import type { QualityCheck, QualityReport } from "../data/quality.js";
import type { ModelMetadata } from "../model/metadata.js";
import { buildArchitecture, describeArchitecture, type Architecture } from "../model/network.js";
import { architectureLayers, type ArchitectureName } from "./architectures.js";
import {
  classificationMetrics,
  predictedClasses,
  predictProbabilities,
  type EvaluationMetrics,
} from "./evaluate.js";
import { exportOnnx, INPUT_NAME, OUTPUT_NAME } from "./export-onnx.js";
import { fitNormalization, type Normalization } from "./normalization.js";
import { trainNetwork, type EpochMetrics, type TrainOptions } from "./trainer.js";

export interface PipelineOptions {
  name: string;
  architecture: ArchitectureName;
  train: TrainOptions;
  /** Train on the first N training samples only (applied by the job before the quality gate). */
  limit: number | undefined;
  log: (line: string) => void;
}

export interface TrainingSummary {
  name: string;
  architecture: string;
  parameters: TrainOptions & {
    architectureName: ArchitectureName;
    trainSamples: number;
    testSamples: number;
    paramCount: number;
  };
  normalization: Normalization;
  dataset: { source: string; sha256: string; skipped: { file: string; reason: string }[] };
  /** The quality gate's outcome; `skipped` records `--skip-quality-checks`. */
  quality: { passed: boolean; skipped: boolean; checks: QualityCheck[] };
  epochs: EpochMetrics[];
  test: EvaluationMetrics;
  /** Training and evaluation time, without loading and the quality gate. */
  trainingSeconds: number;
  startedAt: string;
  finishedAt: string;
}

export interface TrainedModel {
  arch: Architecture;
  params: Float32Array;
  metadata: ModelMetadata;
  onnx: Uint8Array;
  summary: TrainingSummary;
  testPredictions: Uint8Array;
}

export async function trainAndEvaluate(
  data: DatasetSplits,
  quality: QualityReport,
  opts: PipelineOptions,
): Promise<TrainedModel> {
  const startedAt = new Date();
  const t0 = performance.now();
  const train = data.train;
  const { width, height, labelNames } = train;
  const arch = buildArchitecture(
    { c: 1, h: height, w: width },
    architectureLayers(opts.architecture, labelNames.length),
  );
  const norm = fitNormalization(train);
  opts.log(
    `training ${describeArchitecture(arch)} (${arch.paramCount} parameters) on ${train.labels.length} samples`,
  );
  const { params, epochs } = await trainNetwork(arch, train, norm, opts.train, (m) =>
    opts.log(
      `epoch ${m.epoch}: loss ${m.loss.toFixed(4)}, train accuracy ${m.trainAccuracy.toFixed(4)}, ${m.seconds.toFixed(1)} s`,
    ),
  );
  const probabilities = predictProbabilities(arch, params, norm, data.test);
  const testPredictions = predictedClasses(probabilities, labelNames.length);
  const test = classificationMetrics(data.test.labels, testPredictions, labelNames);
  opts.log(
    `test: accuracy ${test.accuracy.toFixed(4)}, macro-F1 ${test.macroF1.toFixed(4)} on ${test.samples} samples`,
  );
  const finishedAt = new Date();
  const metadata: ModelMetadata = {
    schemaVersion: 1,
    name: opts.name,
    architecture: describeArchitecture(arch),
    input: {
      name: INPUT_NAME,
      shape: [1, height, width],
      image: { width, height, channels: 1, background: "black" },
      pixelRange: [0, 255],
      normalization: norm,
    },
    output: { name: OUTPUT_NAME, kind: "probabilities" },
    labels: labelNames,
    training: {
      datasetSha256: data.sha256,
      seed: opts.train.seed,
      trainedAt: finishedAt.toISOString(),
      metrics: { accuracy: test.accuracy, macroF1: test.macroF1 },
    },
  };
  const summary: TrainingSummary = {
    name: opts.name,
    architecture: metadata.architecture,
    parameters: {
      ...opts.train,
      architectureName: opts.architecture,
      trainSamples: train.labels.length,
      testSamples: data.test.labels.length,
      paramCount: arch.paramCount,
    },
    normalization: norm,
    dataset: { source: data.source, sha256: data.sha256, skipped: data.skipped },
    quality: { passed: quality.passed, skipped: quality.skipped, checks: quality.checks },
    epochs,
    test,
    trainingSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
  return { arch, params, metadata, onnx: exportOnnx(arch, params, metadata), summary, testPredictions };
}
