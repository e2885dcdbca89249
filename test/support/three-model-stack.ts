/**
 * A stack serving three models (issue #21): the bundled Fashion-MNIST classifier on canary, a
 * tabular model on a single version, and a 3-channel image model on shadow. A config override for
 * renderStack (Pulumi.staging.yaml's models replaced by exactly these) and the same settings for a
 * stack file.
 */
import { readStackFile } from "../../infra/render/stack-config.js";

const SMALL = {
  requests: { cpu: "100m", memory: "256Mi" },
  limits: { cpu: "1", memory: "512Mi" },
};

/** plinth:inference.models of the three-model stack. */
export const THREE_MODELS = {
  "fashion-classifier": {
    replicas: { min: 2, max: 4 },
    targetCpuUtilization: 70,
    resources: { requests: { cpu: "250m", memory: "384Mi" }, limits: { cpu: "1", memory: "768Mi" } },
    rollout: {
      strategy: "canary",
      stable: { modelVersion: "champion" },
      candidate: { modelVersion: "challenger", weight: 20 },
    },
    drift: { schedule: "*/15 * * * *", warnPsi: 0.1, alertPsi: 0.25 },
  },
  churn: {
    replicas: { min: 2, max: 3 },
    targetCpuUtilization: 60,
    resources: SMALL,
    rollout: { strategy: "single", stable: { modelVersion: "3" } },
  },
  defects: {
    replicas: { min: 2, max: 2 },
    targetCpuUtilization: 75,
    resources: SMALL,
    rollout: {
      strategy: "shadow",
      stable: { modelVersion: "champion" },
      candidate: { modelVersion: "challenger", shadowPercent: 50 },
    },
  },
} as const;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The override that deep-merges `base` into exactly `wanted`: every key of `base` that `wanted`
 * lacks set to null (renderStack's deepMerge deletes a key set to null), at every depth.
 */
function replacing(base: unknown, wanted: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(wanted)) return wanted;
  const override: Record<string, unknown> = {};
  for (const key of Object.keys(base)) if (!(key in wanted)) override[key] = null;
  for (const [key, value] of Object.entries(wanted)) override[key] = replacing(base[key], value);
  return override;
}

/** Pulumi.staging.yaml's plinth:inference.models as written. */
const stagingModels = () =>
  (readStackFile("staging").values.inference as { models: Record<string, unknown> }).models;

/**
 * A renderStack (or stagingWith) override whose plinth:inference.models is exactly `models`: the
 * staging file's own models deleted unless listed, and a listed one's keys the listing leaves out
 * (fashion-classifier's retrain and gates) deleted too. `extra` goes beside models (`shared`,
 * `defaultModel`). A `models` that is not a map (a test of the schema) replaces the map as it is.
 */
export function modelsOverride(
  models: unknown,
  extra: Record<string, unknown> = {},
): { inference: Record<string, unknown> } {
  return { inference: { models: replacing(stagingModels(), models), ...extra } };
}

/** The renderStack config override that turns the staging stack file into the three-model stack. */
export const THREE_MODEL_OVERRIDE = modelsOverride(THREE_MODELS);
