/**
 * The engine-free twin of the Pulumi policy analyzer: runs resource policies once per resource and
 * stack policies once over all resources, with the same enforcement-level, config and not-applicable
 * semantics as @pulumi/policy's server (which only `new PolicyPack` starts).
 */
import type {
  EnforcementLevel,
  Policies,
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";

/** One resource as a stack renders it: inputs, options and graph edges. */
export interface PolicyTarget {
  urn: string;
  type: string;
  name: string;
  props: Record<string, unknown>;
  protect: boolean;
  parent?: string;
  dependencies: string[];
}

export interface Violation {
  policy: string;
  level: Exclude<EnforcementLevel, "disabled" | "remediate">;
  /** The resource the finding is about; absent when the stack as a whole violates the policy. */
  urn?: string;
  message: string;
}

/** The `--policy-pack-config` file format: per policy, a level or an object of settings. */
export type PackConfig = Record<
  string,
  EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)
>;

/** The pack's default level, as PolicyPackArgs.enforcementLevel would set it (the SDK's default). */
const PACK_LEVEL: EnforcementLevel = "advisory";

class NotApplicable extends Error {}

function notApplicable(reason?: string): never {
  throw new NotApplicable(reason);
}

function levelOf(
  policy: { name: string; enforcementLevel?: EnforcementLevel },
  config: PackConfig,
): Violation["level"] | "disabled" {
  const entry = config[policy.name];
  const configured = typeof entry === "string" ? entry : entry?.enforcementLevel;
  const level = configured ?? policy.enforcementLevel ?? PACK_LEVEL;
  // As in the analyzer: a remediation that still leaves a violation is reported as mandatory.
  return level === "remediate" ? "mandatory" : level;
}

function settingsOf(policyName: string, config: PackConfig): Record<string, unknown> {
  const entry = config[policyName];
  if (!entry || typeof entry === "string") return {};
  const { enforcementLevel: _level, ...settings } = entry;
  return settings;
}

function pulumiTypeOf(value: unknown): string | undefined {
  const type = (value as { __pulumiType?: unknown } | undefined)?.__pulumiType;
  return typeof type === "string" && type.length > 0 ? type : undefined;
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
  const classType = pulumiTypeOf(resourceClass);
  if (classType) return classType === type;
  const isInstance = (resourceClass as { isInstance?: (o: unknown) => boolean }).isInstance;
  return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

function isStackPolicy(policy: Policies[number]): policy is StackValidationPolicy {
  return typeof (policy as StackValidationPolicy).validateStack === "function";
}

function resourceArgs(target: PolicyTarget, getConfig: () => object): ResourceValidationArgs {
  const { type, props } = target;
  return {
    type,
    props,
    urn: target.urn,
    name: target.name,
    opts: {
      protect: target.protect,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
      ...(target.parent ? { parent: target.parent } : {}),
    },
    stackTags: new Map(),
    isType: (resourceClass) => isTypeOf(type, resourceClass),
    asType: ((resourceClass: unknown) =>
      isTypeOf(type, resourceClass) ? props : undefined) as ResourceValidationArgs["asType"],
    getConfig: getConfig as ResourceValidationArgs["getConfig"],
    notApplicable,
  };
}

/** Builds the stack view with parent and dependency links resolved to resource objects, as the engine does. */
function stackResources(targets: PolicyTarget[], getConfig: () => object): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const resources = targets.map((target) => {
    const args = resourceArgs(target, getConfig);
    const resource: PolicyResource = {
      type: target.type,
      props: target.props,
      urn: target.urn,
      name: target.name,
      opts: args.opts,
      dependencies: [],
      propertyDependencies: {},
      isType: args.isType,
      asType: args.asType as PolicyResource["asType"],
    };
    byUrn.set(target.urn, resource);
    return resource;
  });
  targets.forEach((target, i) => {
    const resource = resources[i]!;
    const parent = target.parent ? byUrn.get(target.parent) : undefined;
    if (parent) resource.parent = parent;
    resource.dependencies = target.dependencies.flatMap((urn) => byUrn.get(urn) ?? []);
  });
  return resources;
}

async function guarded(run: () => unknown): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof NotApplicable)) throw error;
  }
}

/** Runs every enabled policy over the resources; returns the violations in policy, then resource, order. */
export async function evaluatePolicies(
  policies: Policies,
  targets: PolicyTarget[],
  config: PackConfig = {},
): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const policy of policies) {
    const level = levelOf(policy, config);
    if (level === "disabled") continue;
    const getConfig = () => settingsOf(policy.name, config);
    const report = (urn: string | undefined) => (message: string, reportedUrn?: string) => {
      const subject = urn ?? reportedUrn;
      violations.push({ policy: policy.name, level, ...(subject ? { urn: subject } : {}), message });
    };
    if (isStackPolicy(policy)) {
      const args: StackValidationArgs = {
        resources: stackResources(targets, getConfig),
        stackTags: new Map(),
        getConfig: getConfig as StackValidationArgs["getConfig"],
        notApplicable,
      };
      await guarded(() => policy.validateStack(args, report(undefined)));
      continue;
    }
    const validations = (policy as ResourceValidationPolicy).validateResource;
    if (!validations) continue;
    for (const target of targets) {
      for (const validate of Array.isArray(validations) ? validations : [validations]) {
        const only = pulumiTypeOf(validate);
        if (only && only !== target.type) continue;
        await guarded(() => validate(resourceArgs(target, getConfig), report(target.urn)));
      }
    }
  }
  return violations;
}
