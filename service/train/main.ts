/**
 * `npm run train`: the training job's command line. Parses flags, runs the job, maps failures to
 * exit codes: 1 error, 2 bad usage, 3 data quality gate failed.
 */
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEBIAN_FASHION_MNIST_DIR } from "../data/fashion-mnist.js";
import { DEFAULT_THRESHOLDS } from "../data/quality.js";
import { DEFAULT_REGISTRY_DIR } from "../registry/local.js";
import {
  extractMlflowTrainArgs,
  MLFLOW_TRAIN_HELP,
  recordJob,
  type MlflowTrainArgs,
} from "../mlflow/train-cli.js";
import { ARCHITECTURES, isArchitectureName } from "./architectures.js";
import { QualityGateError, runTrainingJob, type JobOptions } from "./job.js";

export const DEFAULTS = {
  name: "fashion-classifier",
  alias: "challenger",
  arch: "cnn",
  epochs: 4,
  batchSize: 64,
  learningRate: 0.002,
  seed: 42,
  shards: 2,
  imageSize: 28,
  testFraction: 0.2,
  outDir: "out/train",
} as const;

const HELP = `Usage: npm run train -- [options]

Trains an image classifier in TypeScript, evaluates it on the test split, exports ONNX and
registers it as a new version in the local model registry.

Data
  --data DIR               Fashion-MNIST IDX files (train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz])
                           or a labelled image folder DIR/<label>/*.{png,jpg,jpeg,webp}
                           (or DIR/train/<label>/... and DIR/test/<label>/...).
                           Default: ${DEBIAN_FASHION_MNIST_DIR} (Debian package dataset-fashion-mnist)
  --limit N                train on the first N training samples only
  --image-size N           image folders: decode to N x N grayscale (default ${DEFAULTS.imageSize})
  --test-fraction F        image folders without test/: share held out for testing (default ${DEFAULTS.testFraction})
  --on-bad-image skip|fail image folders: skip and report an unreadable image, or stop (default skip)

Quality gate
  --min-samples N          minimum training samples (default ${DEFAULT_THRESHOLDS.minSamples})
  --min-per-label N        minimum training samples per label (default ${DEFAULT_THRESHOLDS.minPerLabel})
  --max-imbalance R        warn when largest/smallest label count exceeds R (default ${DEFAULT_THRESHOLDS.maxImbalanceRatio})
  --skip-quality-checks    train even if the gate fails (recorded in training_summary.json)

Training
  --arch NAME              ${Object.keys(ARCHITECTURES).join(" | ")} (default ${DEFAULTS.arch})
  --epochs N               passes over the training data (default ${DEFAULTS.epochs})
  --batch-size N           mini-batch size (default ${DEFAULTS.batchSize})
  --learning-rate X        Adam's initial learning rate, cosine-decayed (default ${DEFAULTS.learningRate})
  --seed N                 seed of initialisation and shuffling (default ${DEFAULTS.seed})
  --workers N              worker threads (default: min(2, CPUs); 0 = main thread); results do not depend on it

Output
  --out DIR                where artifacts and data_quality_report.json are written (default ${DEFAULTS.outDir})
  --registry DIR           registry root (default ${DEFAULT_REGISTRY_DIR})
  --name NAME              registered model name (default ${DEFAULTS.name})
  --alias NAME             alias pointed at the new version (default ${DEFAULTS.alias})
  --no-alias               set no alias
  --no-register            write artifacts to --out only
  -h, --help               this help

Exit status: 0 success, 1 error, 2 bad usage, 3 data quality gate failed.`;

export class UsageError extends Error {
  override readonly name = "UsageError";
}

function integer(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${flag} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function decimal(
  flag: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${flag} must be a number in [${min}, ${max}], got ${JSON.stringify(value)}`);
  return n;
}

/** Parses the command line into job options; `null` when help was asked for. */
export function parseTrainArgs(argv: string[], log: (line: string) => void): JobOptions | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        data: { type: "string" },
        limit: { type: "string" },
        "image-size": { type: "string" },
        "test-fraction": { type: "string" },
        "on-bad-image": { type: "string" },
        "min-samples": { type: "string" },
        "min-per-label": { type: "string" },
        "max-imbalance": { type: "string" },
        "skip-quality-checks": { type: "boolean" },
        arch: { type: "string" },
        epochs: { type: "string" },
        "batch-size": { type: "string" },
        "learning-rate": { type: "string" },
        seed: { type: "string" },
        workers: { type: "string" },
        out: { type: "string" },
        registry: { type: "string" },
        name: { type: "string" },
        alias: { type: "string" },
        "no-alias": { type: "boolean" },
        "no-register": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return null;
  const arch = v.arch ?? DEFAULTS.arch;
  if (!isArchitectureName(arch))
    throw new UsageError(
      `--arch must be one of ${Object.keys(ARCHITECTURES).join(", ")}, got ${JSON.stringify(arch)}`,
    );
  const onBadImage = v["on-bad-image"] ?? "skip";
  if (onBadImage !== "skip" && onBadImage !== "fail")
    throw new UsageError(`--on-bad-image must be skip or fail, got ${JSON.stringify(onBadImage)}`);
  if (v.alias !== undefined && v["no-alias"])
    throw new UsageError("--alias and --no-alias exclude each other");
  const batchSize = integer("batch-size", v["batch-size"], DEFAULTS.batchSize, DEFAULTS.shards);
  return {
    dataDir: v.data === undefined ? undefined : path.resolve(v.data),
    limit: v.limit === undefined ? undefined : integer("limit", v.limit, 0, 1),
    imageSize: integer("image-size", v["image-size"], DEFAULTS.imageSize, 4),
    testFraction: decimal("test-fraction", v["test-fraction"], DEFAULTS.testFraction, 0.01, 0.9),
    onBadImage,
    thresholds: {
      ...DEFAULT_THRESHOLDS,
      minSamples: integer("min-samples", v["min-samples"], DEFAULT_THRESHOLDS.minSamples, 0),
      minPerLabel: integer("min-per-label", v["min-per-label"], DEFAULT_THRESHOLDS.minPerLabel, 0),
      maxImbalanceRatio: decimal(
        "max-imbalance",
        v["max-imbalance"],
        DEFAULT_THRESHOLDS.maxImbalanceRatio,
        1,
        1e9,
      ),
    },
    skipQualityChecks: v["skip-quality-checks"] ?? false,
    architecture: arch,
    train: {
      epochs: integer("epochs", v.epochs, DEFAULTS.epochs, 1),
      batchSize,
      learningRate: decimal("learning-rate", v["learning-rate"], DEFAULTS.learningRate, 1e-6, 1),
      seed: integer("seed", v.seed, DEFAULTS.seed, 0),
      shards: DEFAULTS.shards,
      workers: integer("workers", v.workers, Math.min(DEFAULTS.shards, os.cpus().length), 0),
    },
    outDir: path.resolve(v.out ?? DEFAULTS.outDir),
    registryDir: v.registry === undefined ? undefined : path.resolve(v.registry),
    register: !v["no-register"],
    name: v.name ?? DEFAULTS.name,
    alias: v["no-alias"] ? undefined : (v.alias ?? DEFAULTS.alias),
    log,
  };
}

export async function main(argv: string[]): Promise<number> {
  const log = (line: string) => console.log(`[train] ${line}`);
  let opts: JobOptions | null;
  let mlflow: MlflowTrainArgs | undefined;
  try {
    const split = extractMlflowTrainArgs(argv, process.env);
    mlflow = split.mlflow;
    opts = parseTrainArgs(split.rest, log);
  } catch (err) {
    console.error(`train: ${(err as Error).message}\nRun with --help for usage.`);
    return 2;
  }
  if (opts === null) {
    console.log(HELP.replace("\n\nExit status", `\n\n${MLFLOW_TRAIN_HELP}\n\nExit status`));
    return 0;
  }
  try {
    // With --mlflow the version is registered in MLflow, not in the local registry.
    const result = await runTrainingJob(mlflow === undefined ? opts : { ...opts, register: false });
    if (mlflow !== undefined) await recordJob(result, mlflow, opts);
    const { accuracy, macroF1 } = result.summary.test;
    log(
      `accuracy ${accuracy.toFixed(4)}, macro-F1 ${macroF1.toFixed(4)}, ${result.summary.durationSeconds} s`,
    );
    return 0;
  } catch (err) {
    console.error(`train: ${(err as Error).message}`);
    return err instanceof QualityGateError ? 3 : 1;
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
