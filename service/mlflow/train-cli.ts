/**
 * The MLflow flags of `npm run train`, kept apart from the trainer's own flags: `--mlflow`
 * records the job in MLflow (MLFLOW_TRACKING_URI) instead of the local registry.
 */
import { mlflowClient } from "../registry/open.js";
import type { JobResult } from "../train/job.js";
import {
  COMPARABLE_METRICS,
  recordTrainingInMlflow,
  type ComparableMetric,
  type MlflowTrainingResult,
} from "./training-run.js";

export const MLFLOW_TRAIN_HELP = `MLflow
  --mlflow                 log the run (params, per-epoch metrics, artifacts) to MLflow at
                           MLFLOW_TRACKING_URI and register the version there instead of the local registry
  --experiment NAME        MLflow experiment (default plinth)
  --beat-champion METRIC   ${Object.keys(COMPARABLE_METRICS).join(" | ")} | off: set the alias only when the new version
                           beats champion on this test metric (default accuracy); the quality gate always applies`;

export interface MlflowTrainArgs {
  readonly trackingUri: string;
  readonly token: string | undefined;
  readonly experiment: string;
  readonly beatChampionOn: ComparableMetric | undefined;
}

/** Splits the MLflow flags off `argv`; `mlflow` is undefined without `--mlflow`. Throws on misuse. */
export function extractMlflowTrainArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { mlflow: MlflowTrainArgs | undefined; rest: string[] } {
  const rest: string[] = [];
  let enabled = false;
  let experiment: string | undefined;
  let beat: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] =
      arg.startsWith("--") && arg.includes("=")
        ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
        : [arg, undefined];
    if (flag === "--mlflow" && inline === undefined) enabled = true;
    else if (flag === "--experiment" || flag === "--beat-champion") {
      const value = inline ?? argv[++i];
      if (value === undefined || value === "") throw new Error(`${flag} needs a value`);
      if (flag === "--experiment") experiment = value;
      else beat = value;
    } else rest.push(arg);
  }
  if (!enabled) {
    if (experiment !== undefined || beat !== undefined)
      throw new Error("--experiment and --beat-champion need --mlflow");
    return { mlflow: undefined, rest };
  }
  const trackingUri = env.MLFLOW_TRACKING_URI?.trim();
  if (trackingUri === undefined || trackingUri === "") {
    throw new Error("--mlflow needs MLFLOW_TRACKING_URI (the tracking server's http(s):// URL)");
  }
  if (beat !== undefined && beat !== "off" && !(beat in COMPARABLE_METRICS)) {
    throw new Error(
      `--beat-champion must be one of ${[...Object.keys(COMPARABLE_METRICS), "off"].join(", ")}, got ${JSON.stringify(beat)}`,
    );
  }
  return {
    mlflow: {
      trackingUri,
      token: env.MLFLOW_TRACKING_TOKEN?.trim() || undefined,
      experiment: experiment ?? "plinth",
      beatChampionOn: beat === "off" ? undefined : ((beat ?? "accuracy") as ComparableMetric),
    },
    rest,
  };
}

/** Records a finished job in MLflow with the flags' settings. */
export function recordJob(
  result: JobResult,
  args: MlflowTrainArgs,
  job: { name: string; alias: string | undefined; log: (line: string) => void },
): Promise<MlflowTrainingResult> {
  return recordTrainingInMlflow(result, {
    client: mlflowClient({ mlflowTrackingUri: args.trackingUri, mlflowTrackingToken: args.token }),
    experiment: args.experiment,
    name: job.name,
    alias: job.alias,
    championAlias: "champion",
    beatChampionOn: args.beatChampionOn,
    log: job.log,
  });
}
