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

/**
 * What counts as a pod template, for every policy: each kind the Kubernetes API serves that carries
 * one (in any of its API groups and versions: apps/v1, apps/v1beta2, extensions/v1beta1, batch/v1,
 * batch/v1beta1, core/v1), where it keeps it as a property path from the resource's inputs, and
 * whether it runs continuously. A kind's server-side-apply `<Kind>Patch` carries the same template,
 * partially: see {@link PodView.patch}.
 */
const TEMPLATE_KINDS: Readonly<
  Record<string, { readonly path: readonly string[]; readonly longRunning: boolean }>
> = {
  Deployment: { path: ["spec", "template"], longRunning: true },
  StatefulSet: { path: ["spec", "template"], longRunning: true },
  DaemonSet: { path: ["spec", "template"], longRunning: true },
  ReplicaSet: { path: ["spec", "template"], longRunning: true },
  ReplicationController: { path: ["spec", "template"], longRunning: true },
  Job: { path: ["spec", "template"], longRunning: false },
  CronJob: { path: ["spec", "jobTemplate", "spec", "template"], longRunning: false },
  PodTemplate: { path: ["template"], longRunning: false },
};
/** The API groups that serve those kinds (core is the Pulumi provider's name for the "" group). */
const WORKLOAD_GROUPS = new Set(["apps", "extensions", "batch", "core"]);
/** `kubernetes:<group>/<version>:<Kind>[Patch]`. */
const RESOURCE_TYPE = /^kubernetes:([^/:]+)\/([^:]+):([A-Za-z]+?)(Patch)?$/;

/** The workload kind a resource type names, and whether it is a server-side-apply patch; undefined otherwise. */
export function workloadKind(type: string): { kind: string; patch: boolean } | undefined {
  const match = RESOURCE_TYPE.exec(type);
  if (!match || !WORKLOAD_GROUPS.has(match[1]!)) return undefined;
  const kind = match[3]!;
  const known = kind === "Pod" ? match[1] === "core" : Object.hasOwn(TEMPLATE_KINDS, kind);
  return known ? { kind, patch: match[4] !== undefined } : undefined;
}

/** A resource type that carries a pod (a pod template, or a Pod), patches included. */
export function isWorkloadType(type: string): boolean {
  return workloadKind(type) !== undefined;
}

/** Kinds that run continuously and so need readiness/liveness probes (Jobs and CronJobs run to completion). */
export function isLongRunning(type: string): boolean {
  const workload = workloadKind(type);
  return workload !== undefined && TEMPLATE_KINDS[workload.kind]?.longRunning === true;
}

const KIND_NAMES = Object.keys(TEMPLATE_KINDS);
const GROUP_NAMES = [...WORKLOAD_GROUPS].join(", ");

/**
 * The pod-bearing resources every pod policy reads, as a policy's catalog entry names them (its
 * `covers`): built from the tables above, so it cannot drift.
 */
export const POD_RESOURCES = `Pod and ${KIND_NAMES.join(", ")} (any API version of the ${GROUP_NAMES} groups), each with its server-side-apply \`<Kind>Patch\``;
/** The containers every container policy reads. */
export const EVERY_CONTAINER = `Every container (initContainers, containers, ephemeralContainers) of ${POD_RESOURCES}`;
/** The kinds that must have probes (see {@link isLongRunning}). */
export const LONG_RUNNING_KINDS = KIND_NAMES.filter((kind) => TEMPLATE_KINDS[kind]!.longRunning).join(", ");

const EMBEDDED_POD_SPECS =
  "pod specs that custom resources embed under their own shape (Argo Rollouts, Knative Services) are not read";
/** A policy's `limits`, shared: pod specs the pack does not find. */
export const POD_SPECS_NOT_READ = `${EMBEDDED_POD_SPECS[0]!.toUpperCase()}${EMBEDDED_POD_SPECS.slice(1)}.`;
/** The same, for a rule that skips a field a patch leaves out (see {@link leftOut}). */
export const PATCH_JUDGED_ON_WHAT_IT_SETS = `A \`<Kind>Patch\` is judged only on the fields it sets; ${EMBEDDED_POD_SPECS}.`;
/** The same, for a rule that requires fields no patch has to set. */
export const PATCH_NOT_JUDGED = `A \`<Kind>Patch\` is never judged by this rule, even for a container it adds; ${EMBEDDED_POD_SPECS}.`;
/** A policy's `limits`, shared: Pod Security Standards controls that exempt Windows pods. */
export const WINDOWS_PODS_JUDGED_ALIKE =
  "spec.os.name is not read: Windows pods, which the Pod Security Standards exempt from this control, are judged alike.";

/** What the workload policies read, for the catalog: built from the tables above, so it cannot drift. */
export function workloadCoverage(): string {
  return [
    `Workload policies read every pod: ${POD_RESOURCES}.`,
    "They judge every container of the three lists (initContainers, containers, ephemeralContainers); the API refuses resources and probes on ephemeral containers, so those two rules skip them.",
    `Probes are asked of the main containers of long-running kinds only (${LONG_RUNNING_KINDS}).`,
    "A patch is judged on the fields it sets: a field it leaves out keeps the live object's value, which the pack cannot see.",
    `Known limits: ${POD_SPECS_NOT_READ} Nor are the pods a helm.sh/v3 Release creates: the pack sees its inputs, not its objects (a v3 or v4 Chart registers each object, and those are read).`,
  ].join(" ");
}

/** A workload's pod: its spec, labels, and the path of `spec` written the way a user edits it. */
export interface PodView {
  kind: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  spec: PodSpec;
  specPath: string;
  /**
   * A server-side-apply patch (`DeploymentPatch`, ...): it sets only some fields of an object
   * managed elsewhere, so a field it leaves out keeps whatever value the object has. Policies judge
   * what a patch sets, never what it leaves out (see {@link leftOut}).
   */
  patch: boolean;
}

/** Which list of the pod spec a container is in. */
export type ContainerList = "initContainers" | "containers" | "ephemeralContainers";

export interface ContainerView {
  container: Container;
  /** e.g. `spec.template.spec.containers[0]` */
  path: string;
  list: ContainerList;
  init: boolean;
}

/**
 * A field a patch leaves out: not judged, since the object keeps its current value there. For a
 * whole object, any field left unset is judged (the API's default applies).
 */
export function leftOut(pod: PodView, value: unknown): boolean {
  return pod.patch && value === undefined;
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
  const workload = workloadKind(type);
  if (!workload) return undefined;
  const base = {
    kind: workload.patch ? `${workload.kind}Patch` : workload.kind,
    name: objectName(props, resourceName),
    namespace: namespaceOf(props),
    patch: workload.patch,
  };
  if (workload.kind === "Pod") {
    const spec = props.spec as PodSpec | undefined;
    if (!spec) return undefined;
    return { ...base, labels: metadataOf(props).labels ?? {}, spec, specPath: "spec" };
  }
  const templatePath = TEMPLATE_KINDS[workload.kind]!.path;
  const template = at(props, [...templatePath]) as { metadata?: ObjectMeta; spec?: PodSpec } | undefined;
  if (!template?.spec) return undefined;
  return {
    ...base,
    labels: template.metadata?.labels ?? {},
    spec: template.spec,
    specPath: [...templatePath, "spec"].join("."),
  };
}

/**
 * What counts as a container, for every policy: every entry of the pod's three container lists,
 * init containers first, then the main ones, then ephemeral (debug) containers, each with the path
 * a fix must edit.
 */
export function containersOf(pod: PodView): ContainerView[] {
  const lists: ContainerList[] = ["initContainers", "containers", "ephemeralContainers"];
  return lists.flatMap((list) =>
    ((pod.spec[list] ?? []) as Container[]).map((container, i) => ({
      container,
      path: `${pod.specPath}.${list}[${i}]`,
      list,
      init: list === "initContainers",
    })),
  );
}

/** `Deployment "inference" container "server"`: how a finding names what it is about. */
export function describeContainer(pod: PodView, view: ContainerView): string {
  const role = {
    initContainers: "init container",
    containers: "container",
    ephemeralContainers: "ephemeral container",
  }[view.list];
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

/** The label every namespace carries: its name (set by the API server, not by its writer). */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/**
 * A namespace created tomorrow carries only its name label: a selector that matches it (empty,
 * `NotIn`, `Exists` on the name label, `DoesNotExist` on another) admits every namespace.
 */
const UNNAMED_NAMESPACE = { [NAMESPACE_NAME_LABEL]: "\u0000any-namespace" };

/** Whether a namespace selector (NetworkPolicy peer, Gateway allowedRoutes) admits every namespace. */
export function admitsEveryNamespace(selector: LabelSelector | undefined): boolean {
  return selector !== undefined && selects(selector, UNNAMED_NAMESPACE);
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
