/**
 * Reading Kubernetes objects as the policies see them (resource inputs, already unwrapped): where a
 * workload keeps its pod template, which containers it runs, and whether a label selector selects it.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";
import type { Unwrap } from "@pulumi/pulumi";

export type PodSpec = Unwrap<k8s.types.input.core.v1.PodSpec>;
export type Container = Unwrap<k8s.types.input.core.v1.Container>;
export type LabelSelector = Unwrap<k8s.types.input.meta.v1.LabelSelector>;
type ObjectMeta = Unwrap<k8s.types.input.meta.v1.ObjectMeta>;

/** Where each workload kind keeps its pod template, as a property path from the resource's inputs. */
const POD_TEMPLATE_PATHS: Record<string, string[]> = {
  "kubernetes:apps/v1:Deployment": ["spec", "template"],
  "kubernetes:apps/v1:StatefulSet": ["spec", "template"],
  "kubernetes:apps/v1:DaemonSet": ["spec", "template"],
  "kubernetes:apps/v1:ReplicaSet": ["spec", "template"],
  "kubernetes:batch/v1:Job": ["spec", "template"],
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template"],
};
const POD_TYPE = "kubernetes:core/v1:Pod";

/** Kinds that run continuously and so need readiness/liveness probes (Jobs and CronJobs run to completion). */
export const LONG_RUNNING_TYPES = new Set([
  "kubernetes:apps/v1:Deployment",
  "kubernetes:apps/v1:StatefulSet",
  "kubernetes:apps/v1:DaemonSet",
]);

export const WORKLOAD_TYPES = [...Object.keys(POD_TEMPLATE_PATHS), POD_TYPE];

/** A workload's pod: its spec, labels, and the path of `spec` written the way a user edits it. */
export interface PodView {
  kind: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  spec: PodSpec;
  specPath: string;
}

export interface ContainerView {
  container: Container;
  /** e.g. `spec.template.spec.containers[0]` */
  path: string;
  init: boolean;
}

function at(value: unknown, path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export function kindOf(type: string): string {
  return type.split(":").pop() ?? type;
}

export function metadataOf(props: Record<string, unknown>): ObjectMeta {
  return (props.metadata ?? {}) as ObjectMeta;
}

/** The object's Kubernetes name, falling back to the Pulumi resource name (auto-naming). */
export function objectName(props: Record<string, unknown>, resourceName: string): string {
  return metadataOf(props).name ?? resourceName;
}

export function namespaceOf(props: Record<string, unknown>): string {
  return metadataOf(props).namespace ?? "default";
}

export function podOf(
  type: string,
  props: Record<string, unknown>,
  resourceName: string,
): PodView | undefined {
  const name = objectName(props, resourceName);
  const namespace = namespaceOf(props);
  if (type === POD_TYPE) {
    const spec = props.spec as PodSpec | undefined;
    if (!spec) return undefined;
    return { kind: "Pod", name, namespace, labels: metadataOf(props).labels ?? {}, spec, specPath: "spec" };
  }
  const templatePath = POD_TEMPLATE_PATHS[type];
  if (!templatePath) return undefined;
  const template = at(props, templatePath) as { metadata?: ObjectMeta; spec?: PodSpec } | undefined;
  if (!template?.spec) return undefined;
  return {
    kind: kindOf(type),
    name,
    namespace,
    labels: template.metadata?.labels ?? {},
    spec: template.spec,
    specPath: [...templatePath, "spec"].join("."),
  };
}

/** Init containers first, then the main containers, each with the path a fix must edit. */
export function containersOf(pod: PodView): ContainerView[] {
  const init = (pod.spec.initContainers ?? []).map((container, i) => ({
    container,
    path: `${pod.specPath}.initContainers[${i}]`,
    init: true,
  }));
  const main = (pod.spec.containers ?? []).map((container, i) => ({
    container,
    path: `${pod.specPath}.containers[${i}]`,
    init: false,
  }));
  return [...init, ...main];
}

/** `Deployment "inference" container "server"`: how a finding names what it is about. */
export function describeContainer(pod: PodView, view: ContainerView): string {
  const role = view.init ? "init container" : "container";
  return `${pod.kind} "${pod.name}" ${role} "${view.container.name}"`;
}

/** Kubernetes label-selector semantics: matchLabels AND every matchExpression; an empty selector selects all. */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expression of selector.matchExpressions ?? []) {
    const present = Object.prototype.hasOwnProperty.call(labels, expression.key);
    const values = expression.values ?? [];
    const value = labels[expression.key];
    switch (expression.operator) {
      case "In":
        if (!present || value === undefined || !values.includes(value)) return false;
        break;
      case "NotIn":
        if (present && value !== undefined && values.includes(value)) return false;
        break;
      case "Exists":
        if (!present) return false;
        break;
      case "DoesNotExist":
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A service's (or PDB's) plain `key=value` selector applies to pods carrying every pair. */
export function matchesLabels(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** A resource validation over every pod-bearing kind; other resources are reported not applicable. */
export function validatePods(
  check: (pod: PodView, args: ResourceValidationArgs, reportViolation: ReportViolation) => void,
): ResourceValidation {
  return (args, reportViolation) => {
    const pod = podOf(args.type, args.props, args.name);
    if (!pod) return args.notApplicable("Policy only applies to workloads with a pod template");
    check(pod, args, reportViolation);
  };
}

/** The same check for each container (init containers included), with its description and path. */
export function validateContainers(
  check: (view: ContainerView, describe: string, pod: PodView, report: ReportViolation) => void,
): ResourceValidation {
  return validatePods((pod, _args, report) => {
    for (const view of containersOf(pod)) check(view, describeContainer(pod, view), pod, report);
  });
}
