/**
 * The local stack's service processes for a stack file: one per InferenceService the program would
 * create, each with the rollout environment the cluster's pods get (variantEnvironment of the
 * deployment plan), blue-green on its active colour only, the shared Deployment's models in one
 * process (MODEL_REPOSITORY), and the cluster's Service names.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { variantEnvironment } from "../../../components/inference/env.js";
import { validateStackText } from "../../../infra/promote/stack-file.js";
import { bundledModelPlan, localServicePlans } from "../../../stack/local/model-plans.js";
import { REPO_ROOT } from "../../../stack/local/tools.js";
import { singleModelStackText } from "../../support/single-model-stack.js";
import { THREE_MODELS } from "../../support/three-model-stack.js";

const STAGING = path.join(REPO_ROOT, "Pulumi.staging.yaml");

/** Pulumi.staging.yaml with plinth:inference replaced by `inference` (the image kept), validated. */
function stackWith(inference: Record<string, unknown>) {
  const document = parseDocument(readFileSync(STAGING, "utf8"));
  const image = document.getIn(["config", "plinth:inference", "image"]) as string;
  document.setIn(["config", "plinth:inference"], document.createNode({ image, ...inference }));
  return validateStackText(document.toString(), "Pulumi.test.yaml");
}

const SMALL = THREE_MODELS.churn.resources;

describe("localServicePlans", () => {
  it("runs one process per model of the three-model stack, the default first, with its rollout", () => {
    const plans = localServicePlans(stackWith({ models: THREE_MODELS }));
    expect(plans.map((p) => p.models)).toEqual([["fashion-classifier"], ["churn"], ["defects"]]);
    expect(plans.map((p) => p.servesDefault)).toEqual([true, false, false]);
    expect(plans.map((p) => p.serviceName)).toEqual([
      "plinth-inference",
      "plinth-inference-churn",
      "plinth-inference-defects",
    ]);
    expect(plans.map((p) => p.metricsService)).toEqual([
      "plinth-inference-metrics",
      "plinth-inference-churn-metrics",
      "plinth-inference-defects-metrics",
    ]);
    const [fashion, churn, defects] = plans;
    expect(fashion!.env).toEqual({
      MODEL_NAME: "fashion-classifier",
      MODEL_STABLE: "champion",
      ROLLOUT_STRATEGY: "canary",
      MODEL_CANDIDATE: "challenger",
      CANDIDATE_WEIGHT: "20",
      DEPLOYMENT_COLOR: "none",
      DRIFT_WARN_PSI: "0.1",
      DRIFT_ALERT_PSI: "0.25",
    });
    expect(churn!.env).toEqual({
      MODEL_NAME: "churn",
      MODEL_STABLE: "3",
      ROLLOUT_STRATEGY: "single",
      DEPLOYMENT_COLOR: "none",
    });
    expect(defects!.env).toEqual(
      variantEnvironment("defects", {
        strategy: "shadow",
        stable: "champion",
        candidate: { modelVersion: "challenger", shadowPercent: 50 },
        colour: "none",
      }),
    );
    expect(defects!.env.SHADOW_PERCENT).toBe("50");
    expect(plans.map((p) => p.references)).toEqual([
      { "fashion-classifier": ["champion", "challenger"] },
      { churn: ["3"] },
      { defects: ["champion", "challenger"] },
    ]);
    expect(plans.every((p) => Object.keys(p.targetLabels).length === 0)).toBe(true);
  });

  it("puts plinth:inference.defaultModel's process first, whatever the file's order", () => {
    const plans = localServicePlans(stackWith({ defaultModel: "churn", models: THREE_MODELS }));
    expect(plans.map((p) => [p.models[0], p.serviceName])).toEqual([
      ["churn", "plinth-inference"],
      ["fashion-classifier", "plinth-inference-fashion-classifier"],
      ["defects", "plinth-inference-defects"],
    ]);
  });

  it("runs a blue-green model's active colour only, with its colour label", () => {
    const blueGreen = {
      ...THREE_MODELS.churn,
      rollout: {
        strategy: "blue-green",
        stable: { modelVersion: "3" },
        blueGreen: { active: "green", blue: { modelVersion: "3" }, green: { modelVersion: "4" } },
      },
    };
    const plans = localServicePlans(stackWith({ models: { ...THREE_MODELS, churn: blueGreen } }));
    const churn = plans.find((p) => p.models[0] === "churn")!;
    expect(churn.env).toEqual({
      MODEL_NAME: "churn",
      MODEL_STABLE: "4",
      ROLLOUT_STRATEGY: "single",
      DEPLOYMENT_COLOR: "green",
    });
    expect(churn.targetLabels).toEqual({ plinth_dev_colour: "green" });
    expect(churn.references).toEqual({ churn: ["4"] });
  });

  it("serves the models of the shared Deployment in one process, the others by MODEL_REPOSITORY", () => {
    const single = (version: string) => ({ strategy: "single", stable: { modelVersion: version } });
    const plans = localServicePlans(
      stackWith({
        shared: { replicas: { min: 1, max: 2 }, targetCpuUtilization: 70, resources: SMALL },
        models: {
          "fashion-classifier": THREE_MODELS["fashion-classifier"],
          iris: { deployment: "shared", rollout: single("2") },
          churn: { deployment: "shared", rollout: single("3") },
        },
      }),
    );
    expect(plans).toHaveLength(2);
    const shared = plans[1]!;
    expect(shared.models).toEqual(["iris", "churn"]);
    expect(shared.serviceName).toBe("plinth-inference-shared");
    expect(shared.metricsService).toBe("plinth-inference-shared-metrics");
    expect(shared.env).toMatchObject({ MODEL_NAME: "iris", MODEL_STABLE: "2", MODEL_REPOSITORY: "churn=3" });
    expect(shared.references).toEqual({ iris: ["2"], churn: ["3"] });
  });

  it("reads the earlier single-model shape as one model, as the shipped file's models shape", () => {
    const shipped = readFileSync(STAGING, "utf8");
    const plans = localServicePlans(validateStackText(singleModelStackText(shipped), STAGING));
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({
      models: ["fashion-classifier"],
      servesDefault: true,
      serviceName: "plinth-inference",
      env: { MODEL_NAME: "fashion-classifier", ROLLOUT_STRATEGY: "canary", CANDIDATE_WEIGHT: "20" },
    });
    expect(localServicePlans(validateStackText(shipped, STAGING))).toEqual(plans);
  });
});

describe("bundledModelPlan", () => {
  it("serves the bundled model with the service's defaults: no rollout variables", () => {
    expect(bundledModelPlan()).toEqual({
      serviceName: "plinth-inference",
      metricsService: "plinth-inference-metrics",
      models: ["fashion-classifier"],
      servesDefault: true,
      references: {},
      env: {},
      targetLabels: {},
    });
  });
});
