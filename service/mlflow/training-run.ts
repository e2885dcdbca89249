/**
 * Records a finished training job in MLflow: one run with the parameters, per-epoch metrics, test
 * metrics and every artifact (model.onnx, summary, quality report, baseline) under `model/`; a new
 * version of the registered model whose source is that folder, tagged with the sha256 of the model
 * and of its model-config.json (registry/integrity.ts);
 * and the challenger alias, moved only when the quality gate passed and, when asked, only when the
 * new version beats champion on the chosen test metric.
 */
import type { JobResult } from "../train/job.js";
import { MODEL_FILE } from "../registry/local.js";
import { integrityTags } from "../registry/integrity.js";
import { sha256Bytes } from "../registry/model-cache.js";
import type { MlflowClient } from "./client.js";
import { tagsOf, type Metric, type ModelVersion } from "./client.js";

/** Test metrics a challenger may be compared on, as logged to the run and tagged on the version. */
export const COMPARABLE_METRICS = { accuracy: "test_accuracy", "macro-f1": "test_macro_f1" } as const;
export type ComparableMetric = keyof typeof COMPARABLE_METRICS;

export interface MlflowTrainingOptions {
  readonly client: MlflowClient;
  /** MLflow experiment (created when missing). */
  readonly experiment: string;
  /** Registered model name. */
  readonly name: string;
  /** Alias for a version that passes (normally `challenger`); undefined = none. */
  readonly alias: string | undefined;
  /** The alias the new version must beat; `champion`. */
  readonly championAlias: string;
  /** Test metric the new version must beat champion on; undefined = the gate alone decides. */
  readonly beatChampionOn: ComparableMetric | undefined;
  readonly log: (line: string) => void;
}

export interface MlflowTrainingResult {
  readonly runId: string;
  readonly version: string;
  readonly sha256: string;
  /** Whether the alias now points at the new version, and why (not). */
  readonly aliasSet: boolean;
  readonly aliasReason: string;
}

/** Version tag keys plinth writes beside the sha256. */
export const VERSION_TAGS = {
  gate: "plinth.quality_gate",
  testAccuracy: "plinth.test_accuracy",
  testMacroF1: "plinth.test_macro_f1",
} as const;

const ARTIFACT_DIR = "model";

function params(result: JobResult): Record<string, string | number> {
  const p = result.summary.parameters;
  return {
    architecture: p.architectureName,
    epochs: p.epochs,
    batch_size: p.batchSize,
    learning_rate: p.learningRate,
    seed: p.seed,
    shards: p.shards,
    train_samples: p.trainSamples,
    test_samples: p.testSamples,
    param_count: p.paramCount,
    dataset_source: result.summary.dataset.source,
    dataset_sha256: result.summary.dataset.sha256,
  };
}

function metrics(result: JobResult): Metric[] {
  const { epochs, test } = result.summary;
  const startedAt = Date.parse(result.summary.startedAt);
  let elapsedMs = 0;
  const perEpoch = epochs.flatMap((e) => {
    elapsedMs += e.seconds * 1000;
    const timestamp = startedAt + Math.round(elapsedMs);
    return [
      { key: "loss", value: e.loss, step: e.epoch, timestamp },
      { key: "train_accuracy", value: e.trainAccuracy, step: e.epoch, timestamp },
      { key: "learning_rate", value: e.learningRate, step: e.epoch, timestamp },
      { key: "epoch_seconds", value: e.seconds, step: e.epoch, timestamp },
    ];
  });
  return [
    ...perEpoch,
    { key: COMPARABLE_METRICS.accuracy, value: test.accuracy },
    { key: COMPARABLE_METRICS["macro-f1"], value: test.macroF1 },
    { key: "training_seconds", value: result.summary.trainingSeconds },
    { key: "job_seconds", value: result.summary.durationSeconds },
  ];
}

function gateStatus(result: JobResult): "passed" | "failed-skipped" {
  return result.quality.passed ? "passed" : "failed-skipped";
}

/** Champion's value of the metric: its version tag, else its run's metric; undefined when unknown. */
async function championScore(
  client: MlflowClient,
  champion: ModelVersion,
  metric: ComparableMetric,
): Promise<number | undefined> {
  const tag = tagsOf(champion)[metric === "accuracy" ? VERSION_TAGS.testAccuracy : VERSION_TAGS.testMacroF1];
  if (tag !== undefined && Number.isFinite(Number(tag))) return Number(tag);
  if (champion.run_id === undefined || champion.run_id === "") return undefined;
  const run = await client.getRun(champion.run_id);
  return run.data.metrics.find((m) => m.key === COMPARABLE_METRICS[metric])?.value;
}

async function decideAlias(
  opts: MlflowTrainingOptions,
  result: JobResult,
): Promise<{ set: boolean; reason: string }> {
  if (!result.quality.passed) return { set: false, reason: "the data quality gate failed" };
  if (opts.beatChampionOn === undefined) return { set: true, reason: "the quality gate passed" };
  const champion = await opts.client.getVersionByAlias(opts.name, opts.championAlias);
  if (champion === undefined) {
    return { set: true, reason: `the quality gate passed and there is no ${opts.championAlias} to beat` };
  }
  const metric = opts.beatChampionOn;
  const mine = metric === "accuracy" ? result.summary.test.accuracy : result.summary.test.macroF1;
  const theirs = await championScore(opts.client, champion, metric);
  if (theirs === undefined) {
    return {
      set: true,
      reason: `the quality gate passed; ${opts.championAlias} (version ${champion.version}) has no recorded ${COMPARABLE_METRICS[metric]}`,
    };
  }
  const comparison = `${COMPARABLE_METRICS[metric]} ${mine.toFixed(4)} vs ${opts.championAlias} (version ${champion.version}) ${theirs.toFixed(4)}`;
  return mine > theirs
    ? { set: true, reason: `the quality gate passed and it beats ${opts.championAlias}: ${comparison}` }
    : { set: false, reason: `it does not beat ${opts.championAlias}: ${comparison}` };
}

export async function recordTrainingInMlflow(
  result: JobResult,
  opts: MlflowTrainingOptions,
): Promise<MlflowTrainingResult> {
  const { client, name, log } = opts;
  const experimentId = await client.ensureExperiment(opts.experiment);
  const run = await client.createRun(experimentId, {
    runName: `${name}-${result.summary.startedAt}`,
    startTime: Date.parse(result.summary.startedAt),
    tags: { "plinth.model": name, "mlflow.source.name": "npm run train" },
  });
  const runId = run.info.run_id;
  log(`MLflow run ${runId} in experiment ${JSON.stringify(opts.experiment)} at ${client.trackingUri}`); // credentials are refused in the URI (mlflow/http.ts)
  try {
    await client.logBatch(runId, {
      params: params(result),
      metrics: metrics(result),
      tags: { [VERSION_TAGS.gate]: gateStatus(result) },
    });
    for (const [file, content] of Object.entries(result.files)) {
      await client.uploadArtifact(run.info.artifact_uri, `${ARTIFACT_DIR}/${file}`, content);
    }
    const model = result.files[MODEL_FILE];
    if (model === undefined || typeof model === "string")
      throw new Error(`the job produced no binary ${MODEL_FILE}`);
    const sha256 = sha256Bytes(model);
    await client.ensureRegisteredModel(name);
    const created = await client.createModelVersion(name, `${run.info.artifact_uri}/${ARTIFACT_DIR}`, {
      runId,
      tags: {
        // plinth.model_sha256 and plinth.model_config_sha256: what the service verifies on download.
        ...integrityTags(result.files),
        [VERSION_TAGS.gate]: gateStatus(result),
        [VERSION_TAGS.testAccuracy]: String(result.summary.test.accuracy),
        [VERSION_TAGS.testMacroF1]: String(result.summary.test.macroF1),
      },
    });
    const version = (await client.waitUntilReady(name, created.version)).version;
    log(`registered ${name} version ${version} in MLflow (sha256 ${sha256.slice(0, 12)}…)`);
    let aliasSet = false;
    let aliasReason = "no alias requested";
    if (opts.alias !== undefined) {
      const decision = await decideAlias(opts, result);
      aliasSet = decision.set;
      aliasReason = decision.reason;
      if (aliasSet) await client.setAlias(name, opts.alias, version);
      log(`${aliasSet ? "set" : "did not set"} alias ${opts.alias} -> ${version}: ${aliasReason}`);
    }
    await client.updateRun(runId, "FINISHED");
    return { runId, version, sha256, aliasSet, aliasReason };
  } catch (err) {
    await client.updateRun(runId, "FAILED").catch(() => undefined);
    throw err;
  }
}
