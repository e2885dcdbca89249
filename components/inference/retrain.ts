/**
 * What the retrain CronJob runs: the training entrypoint (`npm run train`) on the Fashion-MNIST copy
 * the image carries (Debian's dataset-fashion-mnist, installed by the Dockerfile at the test-tools
 * script's pin), tracked in the platform's MLflow (MLFLOW_TRACKING_URI), as retrain.yml does on
 * GitHub. The new version is registered there and becomes `challenger` only when it beats
 * `champion` on test accuracy; serving it stays a release step (`npm run promote`).
 */
import { imageCommand } from "../../service/contract/image-commands.js";

/** The MLflow experiment of scheduled retraining, in the cluster and on GitHub (retrain.yml). */
export const RETRAIN_EXPERIMENT = "plinth-retrain";

/** Artifacts and reports of a run: the job's /tmp scratch volume, gone with the pod. */
export const RETRAIN_OUT_DIR = "/tmp/train";

/** The container command of the retrain CronJob for `modelName`. */
export function retrainCommand(modelName: string): string[] {
  return imageCommand(
    "train",
    `--name=${modelName}`,
    `--out=${RETRAIN_OUT_DIR}`,
    "--mlflow",
    `--experiment=${RETRAIN_EXPERIMENT}`,
    "--beat-champion=accuracy",
  );
}
