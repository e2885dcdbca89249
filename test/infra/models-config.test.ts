/**
 * plinth:inference in both shapes: the map of models (issue #21) and the single-model shape of
 * earlier stack files, which parses as a map of one. Every mistake is one line naming its config path.
 */
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../infra/config/load.js";
import { configProblems, isSecret, stagingWith } from "../support/stack-config-problems.js";
import { singleModelOverride } from "../support/single-model-stack.js";
import { modelsOverride, THREE_MODEL_OVERRIDE, THREE_MODELS } from "../support/three-model-stack.js";

const SIZE = {
  replicas: { min: 1, max: 2 },
  targetCpuUtilization: 70,
  resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
};
const SINGLE = { strategy: "single", stable: { modelVersion: "champion" } };
const own = (extra: Record<string, unknown> = {}) => ({ ...SIZE, rollout: SINGLE, ...extra });
const shared = (extra: Record<string, unknown> = {}) => ({ deployment: "shared", rollout: SINGLE, ...extra });
/** The staging stack with exactly these models (its own removed unless listed). */
const withModels = (models: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  stagingWith(modelsOverride(models, extra));
/** The staging stack in the earlier single-model shape, with `change` to plinth:inference. */
const singleModelWith = (change: Record<string, unknown> = {}) =>
  stagingWith({ inference: { ...singleModelOverride().inference, ...change } });

describe("the map of models", () => {
  it("parses each model with its defaults; the first is the default model", () => {
    const config = parseStackConfig(stagingWith(THREE_MODEL_OVERRIDE), isSecret);
    expect(config.inference.shape).toBe("models");
    expect(config.inference.defaultModel).toBe("fashion-classifier");
    expect(Object.keys(config.inference.models)).toEqual(["fashion-classifier", "churn", "defects"]);
    const churn = config.inference.models.churn!;
    expect(churn).toMatchObject({
      deployment: "own",
      source: "mlflow",
      replicas: THREE_MODELS.churn.replicas,
    });
    expect(churn.drift).toBeUndefined();
    // Defaults of the promotion gates apply per model.
    expect(churn.rollout.gates.weightLadder).toEqual([10, 25, 50, 100]);
  });

  it("takes another default model by name", () => {
    const config = parseStackConfig(withModels(THREE_MODELS, { defaultModel: "churn" }), isSecret);
    expect(config.inference.defaultModel).toBe("churn");
  });

  it("reads the single-model shape as a map of one, keyed by modelName", () => {
    const config = parseStackConfig(singleModelWith(), isSecret);
    expect(config.inference.shape).toBe("single-model");
    expect(config.inference.defaultModel).toBe("fashion-classifier");
    expect(Object.keys(config.inference.models)).toEqual(["fashion-classifier"]);
    expect(config.inference.models["fashion-classifier"]).toMatchObject({
      deployment: "own",
      source: "mlflow",
      rollout: { strategy: "canary" },
      drift: { alertPsi: 0.25 },
    });
  });

  it("puts small models in the shared Deployment, sized once", () => {
    const config = parseStackConfig(
      withModels({ big: own(), iris: shared(), wine: shared({ source: "mlflow" }) }, { shared: SIZE }),
      isSecret,
    );
    expect(config.inference.models.iris).toEqual({
      deployment: "shared",
      source: "mlflow",
      rollout: expect.anything(),
    });
    expect(config.inference.shared).toEqual(SIZE);
  });
});

const cases: [string, Record<string, unknown>, string[]][] = [
  [
    "a model name that is not a DNS label",
    withModels({ Churn_Model: own() }),
    [
      "plinth:inference.models.Churn_Model: expected a model name: 1-23 lower-case letters, digits and '-', starting with a letter",
    ],
  ],
  [
    "a model name too long for its CronJob's name",
    withModels({ "a-model-name-of-24-chars": own() }),
    [
      "plinth:inference.models.a-model-name-of-24-chars: expected a model name: 1-23 lower-case letters, digits and '-', starting with a letter",
    ],
  ],
  ["no model", withModels({}), ["plinth:inference.models: expected at least one model"]],
  [
    "models as a list",
    withModels([own()] as unknown as Record<string, unknown>),
    ["plinth:inference.models: expected a map of models by name"],
  ],
  [
    "an unknown default model",
    withModels({ churn: own() }, { defaultModel: "fraud" }),
    ["plinth:inference.defaultModel: expected one of the models: churn"],
  ],
  [
    "both shapes at once",
    stagingWith({ inference: { ...singleModelOverride().inference, models: { churn: own() } } }),
    [
      "plinth:inference.modelName: not used with plinth:inference.models: a model's name is its key there",
      "plinth:inference.replicas: not used with plinth:inference.models: move it into each model's settings (plinth:inference.models.<name>.replicas)",
      "plinth:inference.targetCpuUtilization: not used with plinth:inference.models: move it into each model's settings (plinth:inference.models.<name>.targetCpuUtilization)",
      "plinth:inference.resources: not used with plinth:inference.models: move it into each model's settings (plinth:inference.models.<name>.resources)",
      "plinth:inference.rollout: not used with plinth:inference.models: move it into each model's settings (plinth:inference.models.<name>.rollout)",
      "plinth:inference.drift: not used with plinth:inference.models: move it into each model's settings (plinth:inference.models.<name>.drift)",
      "plinth:inference.retrain: not used with plinth:inference.models: move it into each model's settings (plinth:inference.models.<name>.retrain)",
    ],
  ],
  [
    "a single-model stack without its rollout",
    singleModelWith({ rollout: null }),
    [
      "plinth:inference.rollout: required in a single-model stack; or list the models under plinth:inference.models (docs/stack-configuration.md#models)",
    ],
  ],
  [
    "defaultModel in the single-model shape",
    singleModelWith({ defaultModel: "fashion-classifier" }),
    ["plinth:inference.defaultModel: only used with plinth:inference.models"],
  ],
  [
    "a typo in a model's settings",
    withModels({ churn: own({ replica: 2 }) }),
    ["plinth:inference.models.churn.replica: unknown key"],
  ],
  [
    "a model without its size",
    withModels({ churn: { rollout: SINGLE } }),
    [
      'plinth:inference.models.churn.replicas: required for a model with its own Deployment (deployment: "own")',
      'plinth:inference.models.churn.targetCpuUtilization: required for a model with its own Deployment (deployment: "own")',
      'plinth:inference.models.churn.resources: required for a model with its own Deployment (deployment: "own")',
    ],
  ],
  [
    "a model's drift thresholds out of order",
    withModels({ churn: own({ drift: { schedule: "*/15 * * * *", warnPsi: 0.3, alertPsi: 0.2 } }) }),
    ["plinth:inference.models.churn.drift.warnPsi: must be below alertPsi"],
  ],
  [
    "retraining a model the image carries",
    withModels({
      churn: own({
        source: "image",
        retrain: { schedule: "0 3 * * 1", resources: SIZE.resources },
      }),
    }),
    [
      "plinth:inference.models.churn.retrain: registers the retrained model in MLflow: only for a model whose source is mlflow",
    ],
  ],
  [
    "an unknown source",
    withModels({ churn: own({ source: "s3" }) }),
    ["plinth:inference.models.churn.source: expected mlflow or image"],
  ],
  [
    "a shared model without the shared Deployment's size",
    withModels({ big: own(), iris: shared() }),
    [
      "plinth:inference.shared: required: iris is in the shared Deployment (its replicas, targetCpuUtilization, resources)",
    ],
  ],
  [
    "the shared Deployment's size with no shared model",
    withModels({ big: own() }, { shared: SIZE }),
    ['plinth:inference.shared: no model is in the shared Deployment (deployment: "shared"); remove it'],
  ],
  [
    "a shared model released by canary, sized and watched on its own",
    withModels(
      {
        iris: shared({
          replicas: SIZE.replicas,
          drift: { schedule: "*/15 * * * *", warnPsi: 0.1, alertPsi: 0.2 },
          rollout: {
            strategy: "canary",
            stable: { modelVersion: "1" },
            candidate: { modelVersion: "2", weight: 10 },
          },
        }),
      },
      { shared: SIZE },
    ),
    [
      "plinth:inference.models.iris.replicas: not used by a model in the shared Deployment: the shared Deployment's are plinth:inference.shared",
      "plinth:inference.models.iris.drift: not used by a model in the shared Deployment: give the model its own Deployment for it",
      "plinth:inference.models.iris.rollout.strategy: canary: the shared Deployment serves one version of each model (strategy single); give the model its own Deployment to release it by canary, shadow or blue-green",
    ],
  ],
  [
    "shared models from two registries",
    withModels({ iris: shared(), wine: shared({ source: "image" }) }, { shared: SIZE }),
    [
      "plinth:inference.models.wine.source: image: the models of the shared Deployment come from one registry (iris's is mlflow)",
    ],
  ],
  [
    "a model named like the shared Deployment",
    withModels({ shared: own() }),
    [
      'plinth:inference.models.shared: "shared" is part of the names plinth gives its objects (plinth-inference-shared, plinth-inference-<model>-shared); choose another name',
    ],
  ],
  [
    "model names that would name another model's objects",
    withModels({ churn: own(), "churn-metrics": own(), "drift-check": own(), blue: own() }),
    [
      'plinth:inference.models.churn-metrics: "churn-metrics" ends in "-metrics", which is part of the names plinth gives its objects (plinth-inference-metrics, plinth-inference-<model>-metrics); choose another name',
      'plinth:inference.models.drift-check: "drift-check" is part of the names plinth gives its objects (plinth-inference-drift-check, plinth-inference-<model>-drift-check); choose another name',
      'plinth:inference.models.blue: "blue" is part of the names plinth gives its objects (plinth-inference-blue, plinth-inference-<model>-blue); choose another name',
    ],
  ],
  [
    "an HPA per model on a cluster without the metrics API",
    {
      ...withModels({ churn: own(), iris: shared() }, { shared: { ...SIZE, replicas: { min: 2, max: 2 } } }),
      cloud: "existing",
      kubeconfig: "apiVersion: v1",
      existingCluster: { metricsApi: "none" },
    },
    [
      "plinth:existingCluster.metricsApi: none: the inference HorizontalPodAutoscaler scales plinth:inference.models.churn.replicas between 1 and 2 on CPU from the metrics API (metrics.k8s.io), which this cluster does not serve; install metrics-server and set provided, or set plinth:inference.models.churn.replicas.min equal to max",
    ],
  ],
];

describe.each(cases)("%s", (_title, raw, expected) => {
  it("is refused, naming the config path", () => {
    expect(configProblems(raw)).toEqual(expected);
  });
});
