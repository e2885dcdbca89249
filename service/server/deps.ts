import type { ServiceConfig } from "../config.js";
import type { ModelHolder } from "../inference/model-holder.js";
import type { PredictionCounter } from "./predict-common.js";

/** What route modules need from the service. */
export interface RouteDeps {
  readonly config: ServiceConfig;
  readonly models: ModelHolder;
  readonly predictions: PredictionCounter;
}
