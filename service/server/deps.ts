import type { ServiceConfig } from "../config.js";
import type { RolloutEngine } from "../rollout/engine.js";
import type { ModelVariants } from "../rollout/variants.js";
import type { DataPlane } from "../serving/data-plane.js";
import type { PredictionCounter } from "../serving/prediction-counter.js";

/** What route modules need from the service. */
export interface RouteDeps {
  readonly config: ServiceConfig;
  /** Every served model: the v2 protocol, readiness, metadata, the repository. */
  readonly dataPlane: DataPlane;
  /** The default model's variants (MODEL_NAME). */
  readonly models: ModelVariants;
  /** The default model's rollout engine (/predict, /predict-image, explain, ops). */
  readonly rollout: RolloutEngine;
  readonly predictions: PredictionCounter;
}
