import type { ServiceConfig } from "../config.js";
import type { RolloutEngine } from "../rollout/engine.js";
import type { ModelVariants } from "../rollout/variants.js";
import type { PredictionCounter } from "./predict-common.js";

/** What route modules need from the service. */
export interface RouteDeps {
  readonly config: ServiceConfig;
  readonly models: ModelVariants;
  readonly rollout: RolloutEngine;
  readonly predictions: PredictionCounter;
}
