/**
 * The training job end to end: load data -> quality gate -> train -> evaluate -> export ONNX ->
 * drift baseline -> summary -> register a new version in the local registry and point an alias
 * at it. Every artifact is also written to the output folder, the quality report even when the
 * gate fails.
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { takeFirst, type DatasetSplits } from "../data/dataset.js";
import { DEBIAN_FASHION_MNIST_DIR, isIdxDir, loadFashionMnist } from "../data/fashion-mnist.js";
import { loadImageFolder, type BadImagePolicy } from "../data/image-folder.js";
import { failedChecks, runQualityGate, type QualityReport, type QualityThresholds } from "../data/quality.js";
import { buildBaseline } from "../drift/baseline.js";
import { modelConfigFromMetadata, MODEL_CONFIG_FILE } from "../model/model-config.js";
import { LocalRegistry, MODEL_FILE } from "../registry/local.js";
import { trainAndEvaluate, type PipelineOptions, type TrainingSummary } from "./pipeline.js";

export interface JobOptions extends PipelineOptions {
  /** IDX folder or labelled image folder; the Debian dataset when undefined. */
  dataDir: string | undefined;
  imageSize: number;
  testFraction: number;
  onBadImage: BadImagePolicy;
  thresholds: QualityThresholds;
  skipQualityChecks: boolean;
  outDir: string;
  /** Registry root; undefined = the repository's models/ folder. */
  registryDir: string | undefined;
  /** Register a new version (false: write artifacts to outDir only). */
  register: boolean;
  /** Alias to point at the new version; undefined = none. */
  alias: string | undefined;
}

export interface JobSummary extends TrainingSummary {
  /** Wall time of the whole job: loading, gate, training, evaluation, baseline, export. */
  durationSeconds: number;
  machine: { cpus: number; loadAverage1m: number; node: string };
}

export interface JobResult {
  summary: JobSummary;
  quality: QualityReport;
  files: Record<string, Uint8Array | string>;
  version: string | undefined;
}

/** The gate failed: training did not run. The report names each failed check. */
export class QualityGateError extends Error {
  override readonly name = "QualityGateError";
  constructor(
    readonly report: QualityReport,
    readonly reportPath: string,
  ) {
    super(
      `data quality gate failed (report: ${reportPath}):\n` +
        failedChecks(report)
          .map((c) => `  - ${c.name}: ${c.message}`)
          .join("\n"),
    );
  }
}

export const QUALITY_REPORT_FILE = "data_quality_report.json";
export const SUMMARY_FILE = "training_summary.json";
export const BASELINE_FILE = "baseline.json";

const json = (v: unknown) => JSON.stringify(v, null, 2) + "\n";

export async function loadData(
  opts: Pick<JobOptions, "dataDir" | "imageSize" | "testFraction" | "onBadImage" | "log">,
): Promise<DatasetSplits> {
  const dir = opts.dataDir ?? DEBIAN_FASHION_MNIST_DIR;
  // The default folder, or any folder holding the four IDX files, is Fashion-MNIST; anything else a labelled image folder.
  if (opts.dataDir === undefined || isIdxDir(dir)) return loadFashionMnist(dir);
  return loadImageFolder(dir, {
    size: opts.imageSize,
    onBadImage: opts.onBadImage,
    testFraction: opts.testFraction,
    report: (file, reason) => opts.log(`skipped unreadable image ${file}: ${reason}`),
  });
}

export async function runTrainingJob(opts: JobOptions): Promise<JobResult> {
  const t0 = performance.now();
  const loaded = await loadData(opts);
  // --limit applies before the gate, so the gate judges exactly the samples that are trained on.
  const data = { ...loaded, train: takeFirst(loaded.train, opts.limit) };
  opts.log(
    `data: ${data.train.labels.length} training and ${data.test.labels.length} test images from ${data.source} (sha256 ${data.sha256.slice(0, 12)}…)`,
  );
  await mkdir(opts.outDir, { recursive: true });
  const quality = runQualityGate(data, opts.thresholds, opts.skipQualityChecks);
  const reportPath = path.join(opts.outDir, QUALITY_REPORT_FILE);
  await writeFile(reportPath, json(quality));
  for (const c of quality.checks) opts.log(`quality ${c.status.padEnd(4)} ${c.name}: ${c.message}`);
  if (!quality.passed) {
    if (!opts.skipQualityChecks) throw new QualityGateError(quality, reportPath);
    opts.log(
      "quality gate failed but --skip-quality-checks was given: training anyway (recorded in the summary)",
    );
  }

  const model = await trainAndEvaluate(data, quality, opts);
  const baseline = buildBaseline(
    {
      pixels: data.train.pixels,
      width: data.train.width,
      height: data.train.height,
      count: data.train.labels.length,
    },
    model.testPredictions,
    data.train.labelNames,
  );
  const summary: JobSummary = {
    ...model.summary,
    durationSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    machine: {
      cpus: os.cpus().length,
      loadAverage1m: Number(os.loadavg()[0]!.toFixed(2)),
      node: process.version,
    },
  };
  const files = {
    [MODEL_FILE]: model.onnx,
    // What the service reads for any model; for plinth's own it repeats the embedded metadata.
    [MODEL_CONFIG_FILE]: json(modelConfigFromMetadata(model.metadata)),
    [SUMMARY_FILE]: json(summary),
    [QUALITY_REPORT_FILE]: json(quality),
    [BASELINE_FILE]: json(baseline),
  };
  for (const [file, content] of Object.entries(files)) await writeFile(path.join(opts.outDir, file), content);
  opts.log(`artifacts written to ${opts.outDir}`);

  let version: string | undefined;
  if (opts.register) {
    const registry = new LocalRegistry(opts.registryDir);
    version = await registry.registerVersion(opts.name, files);
    if (opts.alias !== undefined) await registry.setAlias(opts.name, opts.alias, version);
    opts.log(
      `registered ${opts.name} version ${version} in ${registry.rootDir}${opts.alias ? ` as ${opts.alias}` : ""}`,
    );
  }
  opts.log(`done in ${summary.durationSeconds} s`);
  return { summary, quality, files, version };
}
