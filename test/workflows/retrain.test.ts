/** retrain.yml: scheduled and on demand, the real training job, MLflow when configured, artifacts kept. */
import { describe, expect, it } from "vitest";
import { COMPARABLE_METRICS } from "../../service/mlflow/training-run.js";
import { RETRAIN_EXPERIMENT } from "../../components/inference/retrain.js";
import { datasetPin, readWorkflow, stepUsing, type Job } from "./workflow-files.js";

const retrain = readWorkflow("retrain.yml");
const job = retrain.doc.jobs!.train! as Job;
const runs = (job.steps ?? []).map((s) => s.run ?? "").join("\n");
const on = retrain.doc.on as {
  schedule: { cron: string }[];
  workflow_dispatch: { inputs: Record<string, { options?: string[] }> };
};

describe("retrain.yml", () => {
  it("runs weekly and on demand", () => {
    expect(on.schedule).toEqual([{ cron: "0 3 * * 1" }]);
    expect(on).toHaveProperty("workflow_dispatch");
  });

  it("trains with npm run train, tracking in MLflow only when MLFLOW_TRACKING_URI is set", () => {
    expect(runs).toContain('npm run --silent train -- "${args[@]}"');
    expect(runs).toContain("if [[ -n $MLFLOW_TRACKING_URI ]]; then");
    // The experiment of the cluster's retrain CronJob too (components/inference/retrain.ts).
    expect(runs).toContain(
      `args+=(--mlflow --experiment ${RETRAIN_EXPERIMENT} --beat-champion "$BEAT_CHAMPION")`,
    );
    expect(job.env).toMatchObject({ MLFLOW_TRACKING_URI: "${{ vars.MLFLOW_TRACKING_URI }}" });
  });

  it("offers only the metrics the training job can compare", () => {
    const choices = on.workflow_dispatch.inputs["beat-champion"]!.options!;
    expect(choices).toEqual([...Object.keys(COMPARABLE_METRICS), "off"]);
  });

  it("installs the dataset at the test-tools script's pin", () => {
    expect(runs).toContain(`"${datasetPin()}"`);
  });

  it("uploads the model, its reports and the log, even when training fails", () => {
    const [upload] = stepUsing(retrain.doc, "actions/upload-artifact");
    expect(upload?.if).toBe("always()");
    expect(String(upload?.with?.path)).toContain("out/train");
    expect(String(upload?.with?.path)).toContain("out/registry");
  });
});
