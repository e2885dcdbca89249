/**
 * Which service processes the local stack runs for a stack file: one per InferenceService the
 * program would create, i.e. one per model with its own Deployment, plus one for the models of the
 * shared Deployment (its first model the process's MODEL_NAME, the others in MODEL_REPOSITORY at
 * their stable version). Each process gets the rollout environment the cluster gives its pods
 * (`deploymentPlans` and `variantEnvironment`, the functions components/inference uses), and the
 * names the cluster gives its Services. Blue-green runs only the active colour's plan: the idle
 * colour takes no traffic through the Ingress, and one process per model keeps the stack small.
 * Without a stack file, one process serves the bundled model with the service's own defaults.
 */
import { deploymentPlans } from "../../components/inference/deployment-plans.js";
import { servingInferenceService } from "../../infra/config/model-services.js";
import { variantEnvironment, type VariantSettings } from "../../components/inference/env.js";
import { inferenceServiceName, metricsServiceName } from "../../components/inference/names.js";
import { COLOUR_METRIC_LABEL } from "../../components/shared/labels.js";
import type { ParsedStackConfig } from "../../infra/config/schema.js";
import { modelRepositoryValue } from "../../service/contract/model-repository.js";
import { ENV } from "../../service/contract/service-env.js";

/** The model the service serves without MODEL_NAME (service/config.ts), the bundled one. */
export const BUNDLED_MODEL = "fashion-classifier";

/** One service process of the local stack. */
export interface LocalServicePlan {
  /** Its InferenceService's name in the cluster (plinth-inference, plinth-inference-<model>, ...). */
  readonly serviceName: string;
  /** Its metrics Service in the cluster: the `service` label of its series in Prometheus. */
  readonly metricsService: string;
  /** The models it serves, its MODEL_NAME first. */
  readonly models: readonly string[];
  /** Whether it serves the stack's default model (the bare routes and the protected paths). */
  readonly servesDefault: boolean;
  /** What it serves of its MODEL_NAME; undefined for the bundled model without a stack file. */
  readonly variant?: VariantSettings;
  /** The registry references it resolves at start, by model (stable, then any candidate). */
  readonly references: Readonly<Record<string, readonly string[]>>;
  /** Its environment beyond the local stack's common one (rollout, models, drift thresholds). */
  readonly env: Readonly<Record<string, string>>;
  /** Extra target labels of its series (a blue-green colour, as the ServiceMonitor copies it). */
  readonly targetLabels: Readonly<Record<string, string>>;
}

/** The one process of the stack without a stack file: the bundled model, the service's defaults. */
export function bundledModelPlan(): LocalServicePlan {
  const serviceName = inferenceServiceName(BUNDLED_MODEL, BUNDLED_MODEL);
  return {
    serviceName,
    metricsService: metricsServiceName(serviceName),
    models: [BUNDLED_MODEL],
    servesDefault: true,
    references: {},
    env: {},
    targetLabels: {},
  };
}

/**
 * The processes for `config`'s models: the default model's first, then the others in the stack
 * file's order (the order the program creates them in). Throws what deploymentPlans finds
 * inconsistent.
 */
export function localServicePlans(config: ParsedStackConfig): LocalServicePlan[] {
  const { defaultModel, models, image } = config.inference;
  const order = [defaultModel, ...Object.keys(models).filter((name) => name !== defaultModel)];
  const groups = new Map<string, string[]>();
  for (const model of order) {
    const name = servingInferenceService(config.inference, model);
    groups.set(name, [...(groups.get(name) ?? []), model]);
  }
  return [...groups].map(([serviceName, group]) => {
    const [lead, ...others] = group as [string, ...string[]];
    const settings = models[lead]!;
    const plans = deploymentPlans(settings.rollout, settings.image ?? image);
    const active = settings.rollout.blueGreen?.active;
    const plan = active === undefined ? plans[0] : plans.find(({ role }) => role === active);
    if (plan === undefined) throw new Error(`model ${lead}: no Deployment plan for its rollout`);
    const { variant } = plan;
    const repository = others.map((name) => ({
      name,
      reference: models[name]!.rollout.stable.modelVersion,
    }));
    return {
      serviceName,
      metricsService: metricsServiceName(serviceName),
      models: group,
      servesDefault: group.includes(defaultModel),
      variant,
      references: {
        [lead]: [variant.stable, ...(variant.candidate ? [variant.candidate.modelVersion] : [])],
        ...Object.fromEntries(repository.map(({ name, reference }) => [name, [reference]])),
      },
      env: {
        ...variantEnvironment(lead, variant),
        ...(repository.length > 0 ? { [ENV.MODEL_REPOSITORY]: modelRepositoryValue(repository) } : {}),
        // As serviceEnvironment sets them for a model with drift checks.
        ...(settings.drift
          ? {
              [ENV.DRIFT_WARN_PSI]: String(settings.drift.warnPsi),
              [ENV.DRIFT_ALERT_PSI]: String(settings.drift.alertPsi),
            }
          : {}),
      },
      targetLabels: variant.colour === "none" ? {} : { [COLOUR_METRIC_LABEL]: variant.colour },
    };
  });
}
