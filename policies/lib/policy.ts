/**
 * What every plinth policy is: a plain @pulumi/policy value plus the metadata the catalog is generated
 * from. Policies are values so tests and the engine-free runner can call them without constructing the
 * PolicyPack (which starts a gRPC server); only policies/index.ts builds the pack.
 */
import type {
  PolicyConfigSchema,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { ChartReach } from "./helm-charts.js";

/** Why a policy exists, written for an auditor. Read by the catalog generator. */
export interface PolicyMetadata {
  /** The failure or attack this invariant prevents, in one or two sentences. */
  protectsAgainst: string;
  /**
   * The standards or anti-patterns this answers, named as their authors name them. No section numbers
   * unless they are quoted from the source; "anti-pattern: ..." names a failure we have seen.
   */
  answers: string[];
  /** Required when enforcementLevel is not "mandatory": why this rule may not block a deployment. */
  levelReason?: string;
  /** Settings taken from the pack config (per stack), shown in the catalog. */
  configured?: string;
  /**
   * The resource shapes the rule reads, exactly: Pulumi types or Kubernetes kinds and API versions,
   * the fields it judges, and the spellings it understands. True of the code, one to four sentences.
   * Shared wording (the same pods for every workload rule) comes from one constant in policies/lib.
   */
  covers: string;
  /**
   * What the rule does not see or judge (its known false negatives) and its deliberate exemptions,
   * specifically; never "none" unless that was verified. One to four sentences.
   */
  limits: string;
  /**
   * What the rule can check inside Helm charts: a helm.sh/v3 Release's inputs only (its objects are
   * rendered inside the provider), the objects a helm.sh/v3 or v4 Chart registers, or nothing
   * (cloud resources). Built from the helpers in policies/lib/helm-charts.ts where the wording is shared.
   */
  charts: string;
  /** The same, as the group the catalog lists the rule under (CHART_REACH in policies/lib/helm-charts.ts). */
  chartReach: ChartReach;
}

export type PlinthResourcePolicy = ResourceValidationPolicy & { metadata: PolicyMetadata };
export type PlinthStackPolicy = StackValidationPolicy & { metadata: PolicyMetadata };
export type PlinthPolicy = PlinthResourcePolicy | PlinthStackPolicy;

/**
 * A policy's config with the schema's defaults filled in. The Pulumi CLI validates pack config against
 * configSchema; defaults are applied here as well so a policy behaves the same with no config at all.
 */
export function configOf<T extends object>(
  schema: PolicyConfigSchema,
  args: Pick<ResourceValidationArgs | StackValidationArgs, "getConfig">,
): T {
  const defaults: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(schema.properties)) {
    if (typeof property === "object" && property.default !== undefined) defaults[key] = property.default;
  }
  return { ...defaults, ...args.getConfig<Partial<T>>() } as T;
}

/** Renders a value for a fix hint exactly as it would be written in the resource's inputs. */
export function literal(value: unknown): string {
  return JSON.stringify(value);
}
