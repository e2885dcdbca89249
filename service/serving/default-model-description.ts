/**
 * What `GET /metadata` tells about the default model (MODEL_NAME) and how it is served: its
 * identity, plinth metadata, model configuration and graph contract, capabilities, warm-up
 * timings, deployment colour, rollout, batching and request limits.
 */
import type { ServiceConfig } from "../config.js";
import type { RolloutEngine } from "../rollout/engine.js";
import { notReady } from "./availability.js";
import { capabilitiesOf } from "./capabilities.js";

/** The description of the default model's stable version; 503 while none is loaded. */
export function describeDefaultModel(config: ServiceConfig, engine: RolloutEngine) {
  const { variants } = engine;
  const model = variants.current;
  if (model === undefined) throw notReady();
  return {
    model: {
      name: model.name,
      version: model.version,
      sha256: model.sha256,
      reference: config.model.stable,
    },
    // A model without plinth metadata has only its graph's contract (and no warm-up report when
    // an input declares no shape); /predict, /predict-image, explain and drift then refuse it.
    metadata: model.kind === "plinth" ? model.metadata : null,
    // What /predict and /predict-image do with this model (model-config.json, MLmodel, or
    // the metadata); null: the Open Inference Protocol only.
    configuration: model.kind === "plinth" ? model.config : (model.io?.config ?? null),
    contract: model.contract,
    // What the endpoints, explain, drift and shadow agreement can do with it, and why not.
    capabilities: capabilitiesOf(model),
    warmup: model.warmup ?? null,
    deployment: { color: config.deploymentColor },
    rollout: {
      strategy: config.rollout.strategy,
      candidateWeight: config.rollout.candidateWeight,
      shadowPercent: config.rollout.shadowPercent,
      candidate:
        variants.candidate === undefined
          ? null
          : { reference: variants.candidate.ref, version: variants.candidate.current?.version ?? null },
    },
    // A graph model's own batching (its configuration's delay, whether its requests are joined and
    // why not); plinth's models batch by the service's BATCH_* settings.
    batching: model.kind === "graph" ? model.batching : config.batching,
    limits: {
      maxRowsPerRequest: config.limits.maxRowsPerRequest,
      bodyLimitBytes: config.limits.bodyLimitBytes,
    },
  };
}
