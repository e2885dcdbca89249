/**
 * kwok's Stage configuration (kwok.x-k8s.io/v1alpha1, as kwok v0.8.0 reads it from `--config`):
 * the lifecycle kwok plays on the cluster's fake nodes and on the pods bound to them, standing in
 * for a kubelet. kwok v0.8.0 has no built-in stages: without these it refuses to start.
 *
 *   node   node-ready      not Ready           -> Ready, phase Running (conditions a kubelet reports)
 *          node-heartbeat  Ready, every ~20 s  -> conditions' lastHeartbeatTime refreshed
 *   pod    pod-running     bound, Pending      -> Running, every container started and ready, pod IP
 *          pod-succeeded   Running, of a Job   -> Succeeded, containers terminated with exit code 0
 *          pod-deleted     deletionTimestamp   -> deleted with no grace period (finalizers still hold it)
 *
 * The templates are Go templates over the object as JSON; their output is patched into `status`.
 * Besides sprig's functions, kwok provides Now, Quote, NodeConditions, NodeIPsWith and PodIPsWith.
 */
import { stringify } from "yaml";

interface MatchExpression {
  /** A jq expression over the object. */
  readonly key: string;
  readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  readonly values?: readonly string[];
}

export interface Stage {
  readonly apiVersion: "kwok.x-k8s.io/v1alpha1";
  readonly kind: "Stage";
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly resourceRef: { readonly apiGroup: "v1"; readonly kind: "Node" | "Pod" };
    readonly selector: { readonly matchExpressions: readonly MatchExpression[] };
    readonly delay?: { readonly durationMilliseconds: number; readonly jitterDurationMilliseconds: number };
    readonly next: { readonly statusTemplate?: string; readonly delete?: boolean };
  };
}

const READY_STATUS = '.status.conditions.[] | select( .type == "Ready" ) | .status';
const NOT_DELETED: MatchExpression = { key: ".metadata.deletionTimestamp", operator: "DoesNotExist" };

function stage(
  name: string,
  kind: "Node" | "Pod",
  matchExpressions: readonly MatchExpression[],
  next: Stage["spec"]["next"],
  delay?: Stage["spec"]["delay"],
): Stage {
  return {
    apiVersion: "kwok.x-k8s.io/v1alpha1",
    kind: "Stage",
    metadata: { name },
    spec: {
      resourceRef: { apiGroup: "v1", kind },
      selector: { matchExpressions },
      ...(delay === undefined ? {} : { delay }),
      next,
    },
  };
}

/** The conditions a healthy kubelet reports, all observed now. */
const NODE_READY = `{{ $now := Now }}
conditions:
{{ range NodeConditions }}
- type: {{ .type | Quote }}
  status: {{ .status | Quote }}
  reason: {{ .reason | Quote }}
  message: {{ .message | Quote }}
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
phase: Running
`;

/** The node's current conditions, heard from again now (transition times kept). */
const NODE_HEARTBEAT = `{{ $now := Now }}
conditions:
{{ range .status.conditions }}
- type: {{ .type | Quote }}
  status: {{ .status | Quote }}
  reason: {{ .reason | Quote }}
  message: {{ .message | Quote }}
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ .lastTransitionTime | Quote }}
{{ end }}
`;

/**
 * Every container running and ready (sidecar init containers too; the others ran to completion),
 * the pod's IP from its node's podCIDR, host IP from the node's addresses.
 */
const POD_RUNNING = `{{ $now := Now }}
conditions:
- type: PodReadyToStartContainers
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
- type: Initialized
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
- type: ContainersReady
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
- type: Ready
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
{{ range .spec.readinessGates }}
- type: {{ .conditionType | Quote }}
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  ready: true
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
initContainerStatuses:
{{ range .spec.initContainers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  restartCount: 0
  {{ if eq .restartPolicy "Always" }}
  ready: true
  started: true
  state:
    running:
      startedAt: {{ $now | Quote }}
  {{ else }}
  ready: true
  started: false
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
  {{ end }}
{{ end }}
{{ with NodeIPsWith .spec.nodeName }}
hostIP: {{ index . 0 | Quote }}
hostIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
{{ with PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
podIP: {{ index . 0 | Quote }}
podIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
phase: Running
startTime: {{ $now | Quote }}
`;

/** Every container exited 0: what the Job controller counts as a success. */
const POD_SUCCEEDED = `{{ $now := Now }}
conditions:
- type: ContainersReady
  status: "False"
  reason: PodCompleted
  lastTransitionTime: {{ $now | Quote }}
- type: Ready
  status: "False"
  reason: PodCompleted
  lastTransitionTime: {{ $now | Quote }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  ready: false
  started: false
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
phase: Succeeded
`;

export const KWOK_STAGES: readonly Stage[] = [
  stage("node-ready", "Node", [{ key: READY_STATUS, operator: "NotIn", values: ["True"] }], {
    statusTemplate: NODE_READY,
  }),
  stage(
    "node-heartbeat",
    "Node",
    [
      { key: ".status.phase", operator: "In", values: ["Running"] },
      { key: READY_STATUS, operator: "In", values: ["True"] },
    ],
    { statusTemplate: NODE_HEARTBEAT },
    // Well inside the node lifecycle controller's grace period (50 s), even without the Lease.
    { durationMilliseconds: 20_000, jitterDurationMilliseconds: 25_000 },
  ),
  stage(
    "pod-running",
    "Pod",
    [
      NOT_DELETED,
      { key: ".status.phase", operator: "In", values: ["Pending"] },
      { key: READY_STATUS, operator: "NotIn", values: ["True"] },
    ],
    { statusTemplate: POD_RUNNING },
  ),
  stage(
    "pod-succeeded",
    "Pod",
    [
      NOT_DELETED,
      { key: ".status.phase", operator: "In", values: ["Running"] },
      { key: ".metadata.ownerReferences.[].kind", operator: "In", values: ["Job"] },
    ],
    { statusTemplate: POD_SUCCEEDED },
  ),
  // What a kubelet does once the containers have stopped: confirm the deletion with no grace period.
  stage("pod-deleted", "Pod", [{ key: ".metadata.deletionTimestamp", operator: "Exists" }], { delete: true }),
];

/** The Stages as one multi-document YAML file, kwok's `--config`. */
export function renderKwokConfig(stages: readonly Stage[] = KWOK_STAGES): string {
  return stages.map((s) => stringify(s, { lineWidth: 0 })).join("---\n");
}
