/**
 * A stack serving three models (issue #21): the bundled Fashion-MNIST classifier on canary, a
 * tabular model on a single version, and a 3-channel image model on shadow. A config override for
 * renderStack (the single-model keys of the stack files deleted, `models` added) and the same
 * settings for a stack file.
 */

const SMALL = {
  requests: { cpu: "100m", memory: "256Mi" },
  limits: { cpu: "1", memory: "512Mi" },
};

/** plinth:inference.models of the three-model stack. */
export const THREE_MODELS = {
  "fashion-mnist": {
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

/** The single-model keys a stack file has today, deleted (deepMerge deletes a key set to null). */
const SINGLE_MODEL_KEYS_REMOVED = {
  modelName: null,
  replicas: null,
  targetCpuUtilization: null,
  resources: null,
  rollout: null,
  drift: null,
  retrain: null,
};

/** The renderStack config override that turns a stack file into the three-model stack. */
export const THREE_MODEL_OVERRIDE = {
  inference: { ...SINGLE_MODEL_KEYS_REMOVED, models: THREE_MODELS },
};
