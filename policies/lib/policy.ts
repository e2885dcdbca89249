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
