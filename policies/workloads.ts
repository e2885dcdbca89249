/**
 * Workload policies: how pods and containers run (Pod Security Standards "restricted" and the
 * NSA/CISA hardening guidance), what images they run, and how they survive disruption and load.
 * Each applies to every pod-bearing kind: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
 * CronJob and bare Pods.
 */
import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import type { PolicyResource } from "@pulumi/policy";
import {
  isLongRunning,
  leftOut,
  containersOf,
  describeContainer,
  namespaceOf,
  objectName,
  podOf,
  selects,
  validateContainers,
  validatePods,
} from "./lib/kubernetes.js";
import type { LabelSelector, PodView } from "./lib/kubernetes.js";
import { configOf, literal } from "./lib/policy.js";
import type { PlinthPolicy, PlinthResourcePolicy, PlinthStackPolicy } from "./lib/policy.js";

const PSS_RESTRICTED = 'Kubernetes Pod Security Standards, profile "restricted"';
const PSS_BASELINE = 'Kubernetes Pod Security Standards, profile "baseline"';
const NSA_CISA = "NSA/CISA Kubernetes Hardening Guidance (pod security)";
const CIS_K8S_POLICIES = 'CIS Kubernetes Benchmark, "Policies" section (pod security)';

export const podRunAsNonRoot: PlinthResourcePolicy = {
  name: "pod-run-as-non-root",
  description: "Containers must run as a non-root user (runAsNonRoot true, never UID 0).",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "A process escaping its container as root, or writing to root-owned host paths mounted into it; root in the container is root on the node's kernel.",
    answers: [PSS_RESTRICTED, NSA_CISA, CIS_K8S_POLICIES],
  },
  validateResource: validateContainers(({ container, path }, describe, pod, report) => {
    const podContext = pod.spec.securityContext ?? {};
    const nonRoot = container.securityContext?.runAsNonRoot ?? podContext.runAsNonRoot;
    if (nonRoot !== true && !leftOut(pod, nonRoot)) {
      report(
        `${describe} may run as root. Set ${pod.specPath}.securityContext.runAsNonRoot (or ${path}.securityContext.runAsNonRoot) to true.`,
      );
    }
    const user = container.securityContext?.runAsUser ?? podContext.runAsUser;
    if (user === 0) {
      report(
        `${describe} runs as UID 0. Set ${path}.securityContext.runAsUser to a non-zero UID (e.g. 10001).`,
      );
    }
  }),
};

export const containerNotPrivileged: PlinthResourcePolicy = {
  name: "container-not-privileged",
  description: "Containers must not run privileged.",
  enforcementLevel: "mandatory",
  severity: "critical",
  metadata: {
    protectsAgainst:
      "A privileged container has every device and capability of the node: one compromise is a node compromise.",
    answers: [PSS_BASELINE, NSA_CISA, CIS_K8S_POLICIES],
  },
  validateResource: validateContainers(({ container, path }, describe, _pod, report) => {
    if (container.securityContext?.privileged === true) {
      report(`${describe} is privileged. Set ${path}.securityContext.privileged to false.`);
    }
  }),
};

export const containerNoPrivilegeEscalation: PlinthResourcePolicy = {
  name: "container-no-privilege-escalation",
  description: "Containers must set allowPrivilegeEscalation to false.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "setuid binaries or file capabilities letting a process gain more privileges than its parent (no_new_privs unset).",
    answers: [PSS_RESTRICTED, CIS_K8S_POLICIES],
  },
  validateResource: validateContainers(({ container, path }, describe, pod, report) => {
    const allowed = container.securityContext?.allowPrivilegeEscalation;
    if (allowed !== false && !leftOut(pod, allowed)) {
      report(
        `${describe} allows privilege escalation. Set ${path}.securityContext.allowPrivilegeEscalation to false.`,
      );
    }
  }),
};

/** The one capability the restricted profile lets a container add back. */
const ADDABLE_CAPABILITIES = new Set(["NET_BIND_SERVICE"]);

export const containerDropAllCapabilities: PlinthResourcePolicy = {
  name: "container-drop-all-capabilities",
  description: "Containers must drop ALL Linux capabilities and add back none but NET_BIND_SERVICE.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "The container runtime's default capability set (NET_RAW, CHOWN, SETUID, ...) enabling ARP/DNS spoofing and privilege changes inside the pod.",
    answers: [PSS_RESTRICTED, NSA_CISA, CIS_K8S_POLICIES],
  },
  validateResource: validateContainers(({ container, path }, describe, pod, report) => {
    const capabilities = container.securityContext?.capabilities;
    if (!(capabilities?.drop ?? []).includes("ALL") && !leftOut(pod, capabilities?.drop)) {
      report(
        `${describe} does not drop all capabilities. Set ${path}.securityContext.capabilities.drop to ["ALL"].`,
      );
    }
    const added = (capabilities?.add ?? []).filter((capability) => !ADDABLE_CAPABILITIES.has(capability));
    if (added.length > 0) {
      report(
        `${describe} adds capabilities ${literal(added)}. Remove them from ${path}.securityContext.capabilities.add (only NET_BIND_SERVICE is allowed).`,
      );
    }
  }),
};

export const containerReadOnlyRootFilesystem: PlinthResourcePolicy = {
  name: "container-read-only-root-filesystem",
  description: "Containers must mount their root filesystem read-only.",
  enforcementLevel: "mandatory",
  severity: "medium",
  metadata: {
    protectsAgainst:
      "An attacker persisting tools or modifying binaries inside a running container; writable paths must be explicit emptyDir volumes.",
    answers: [NSA_CISA, "anti-pattern: containers mutated at runtime (not immutable)"],
  },
  validateResource: validateContainers(({ container, path }, describe, pod, report) => {
    const readOnly = container.securityContext?.readOnlyRootFilesystem;
    if (readOnly !== true && !leftOut(pod, readOnly)) {
      report(
        `${describe} has a writable root filesystem. Set ${path}.securityContext.readOnlyRootFilesystem to true and mount an emptyDir where it must write.`,
      );
    }
  }),
};

const ALLOWED_SECCOMP = new Set(["RuntimeDefault", "Localhost"]);

export const podSeccompRuntimeDefault: PlinthResourcePolicy = {
  name: "pod-seccomp-runtime-default",
  description: "Pods must run under the RuntimeDefault (or a Localhost) seccomp profile.",
  enforcementLevel: "mandatory",
  severity: "medium",
  metadata: {
    protectsAgainst:
      "Unfiltered system calls from a compromised container reaching kernel attack surface (Unconfined is the kubelet default).",
    answers: [PSS_RESTRICTED, CIS_K8S_POLICIES],
  },
  validateResource: validateContainers(({ container, path }, describe, pod, report) => {
    const type =
      container.securityContext?.seccompProfile?.type ?? pod.spec.securityContext?.seccompProfile?.type;
    if ((!type || !ALLOWED_SECCOMP.has(type)) && !leftOut(pod, type)) {
      const where = container.securityContext?.seccompProfile
        ? `${path}.securityContext`
        : `${pod.specPath}.securityContext`;
      report(
        `${describe} runs with seccomp profile ${type ?? "unset"}. Set ${where}.seccompProfile.type to "RuntimeDefault".`,
      );
    }
  }),
};

export const podNoHostNamespaces: PlinthResourcePolicy = {
  name: "pod-no-host-namespaces",
  description: "Pods must not share the node's network, PID or IPC namespace.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "A pod seeing and signalling node processes, sniffing node traffic, or reaching node-local services bound to localhost.",
    answers: [PSS_BASELINE, NSA_CISA, CIS_K8S_POLICIES],
  },
  validateResource: validatePods((pod, _args, report) => {
    for (const field of ["hostNetwork", "hostPID", "hostIPC"] as const) {
      if (pod.spec[field] === true) {
        report(
          `${pod.kind} "${pod.name}" shares the node's ${field.slice(4)} namespace. Set ${pod.specPath}.${field} to false.`,
        );
      }
    }
  }),
};

export const podNoHostPathVolumes: PlinthResourcePolicy = {
  name: "pod-no-host-path-volumes",
  description: "Pods must not mount hostPath volumes.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Reading node credentials (kubelet keys, container runtime socket) or writing to the node's filesystem from a pod.",
    answers: [PSS_BASELINE, NSA_CISA],
  },
  validateResource: validatePods((pod, _args, report) => {
    (pod.spec.volumes ?? []).forEach((volume, i) => {
      if (volume.hostPath) {
        report(
          `${pod.kind} "${pod.name}" mounts hostPath ${literal(volume.hostPath.path)} as volume "${volume.name}". Replace ${pod.specPath}.volumes[${i}].hostPath with an emptyDir, configMap, secret or persistentVolumeClaim.`,
        );
      }
    });
  }),
};

const RESOURCE_FIELDS = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"] as const;

export const containerResources: PlinthResourcePolicy = {
  name: "container-resources",
  description: "Containers must declare CPU and memory requests and limits.",
  enforcementLevel: "mandatory",
  severity: "medium",
  metadata: {
    protectsAgainst:
      "One workload starving its neighbours or the node (noisy neighbour, OOM of unrelated pods) and the scheduler placing pods blindly.",
    answers: [NSA_CISA, "anti-pattern: BestEffort pods in production"],
  },
  validateResource: validateContainers(({ container, path, list }, describe, pod, report) => {
    // The API refuses resources on ephemeral (debug) containers: they take the pod's.
    if (list === "ephemeralContainers") return;
    for (const field of RESOURCE_FIELDS) {
      const [bound, resource] = field.split(".") as ["requests" | "limits", "cpu" | "memory"];
      if (container.resources?.[bound]?.[resource] === undefined && !pod.patch) {
        report(`${describe} has no ${field}. Set ${path}.resources.${field}.`);
      }
    }
  }),
};

export const containerHealthProbes: PlinthResourcePolicy = {
  name: "container-health-probes",
  description:
    "Long-running containers (Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers) must have readiness and liveness probes.",
  enforcementLevel: "mandatory",
  severity: "medium",
  metadata: {
    protectsAgainst:
      "Traffic routed to a pod that is not ready (model still loading) and hung processes never restarted; rollouts that complete while broken.",
    answers: [
      "Kubernetes documentation: configure liveness, readiness and startup probes",
      "anti-pattern: rollouts without readiness gates",
    ],
  },
  validateResource: validatePods((pod, args, report) => {
    if (!isLongRunning(args.type))
      return args.notApplicable("Jobs, CronJobs and bare Pods run to completion");
    // Main containers only: init containers run to completion, and the API refuses probes on
    // ephemeral ones.
    for (const view of containersOf(pod).filter((v) => v.list === "containers")) {
      for (const probe of ["readinessProbe", "livenessProbe"] as const) {
        if (!view.container[probe] && !pod.patch) {
          report(`${describeContainer(pod, view)} has no ${probe}. Set ${view.path}.${probe}.`);
        }
      }
    }
  }),
};

/** `registry/name[:tag][@sha256:digest]` split into its parts; Docker Hub names get their implicit registry. */
export function parseImage(image: string): { repository: string; tag?: string; digest?: string } {
  const [withoutDigest = "", digest] = image.split("@", 2);
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  const name = colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
  const tag = colon === -1 ? undefined : withoutDigest.slice(colon + 1);
  const first = name.split("/")[0] ?? "";
  const hasRegistry =
    name.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  const repository = hasRegistry ? name : `docker.io/${name.includes("/") ? name : `library/${name}`}`;
  return { repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export const imagePinnedByDigest: PlinthResourcePolicy = {
  name: "image-pinned-by-digest",
  description: "Container images must be pinned by sha256 digest.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "A tag being moved (by mistake or by an attacker with registry access) so that a restart silently runs different code than was reviewed.",
    answers: [
      "NSA/CISA Kubernetes Hardening Guidance (supply chain: trusted, verified images)",
      "anti-pattern: mutable image tags",
    ],
  },
  validateResource: validateContainers(({ container, path }, describe, pod, report) => {
    if (leftOut(pod, container.image)) return;
    const image = container.image ?? "";
    if (!DIGEST.test(parseImage(image).digest ?? "")) {
      report(
        `${describe} image ${literal(image)} is not pinned by digest. Set ${path}.image to "<registry>/<name>@sha256:<digest>".`,
      );
    }
  }),
};

export const imageNoLatestTag: PlinthResourcePolicy = {
  name: "image-no-latest-tag",
  description: "Container images must not use the :latest tag, explicitly or by omitting the tag and digest.",
  enforcementLevel: "mandatory",
  severity: "medium",
  metadata: {
    protectsAgainst:
      "Reviewers and incident responders misreading which version runs; :latest next to a digest misleads the reader.",
    answers: [
      "Kubernetes documentation, configuration best practices: avoid the :latest tag in production",
      "anti-pattern: :latest",
    ],
  },
  validateResource: validateContainers(({ container, path }, describe, pod, report) => {
    if (leftOut(pod, container.image)) return;
    const image = container.image ?? "";
    const { tag, digest } = parseImage(image);
    if (tag === "latest" || (!tag && !digest)) {
      report(
        `${describe} image ${literal(image)} uses :latest. Set ${path}.image to a versioned tag pinned by digest.`,
      );
    }
  }),
};

const registryConfig = {
  properties: {
    allowedRegistries: {
      type: "array" as const,
      items: { type: "string" as const },
      description: "Image repository prefixes that may be run, e.g. ghcr.io/mlflow or quay.io/oauth2-proxy.",
      default: ["ghcr.io", "quay.io", "registry.k8s.io", "docker.io/library"],
    },
  },
};

export const imageFromAllowedRegistry: PlinthResourcePolicy = {
  name: "image-from-allowed-registry",
  description: "Container images must come from the registries allowed by the pack config.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: registryConfig,
  metadata: {
    protectsAgainst:
      "Typo-squatted or unvetted images from arbitrary registries and Docker Hub user namespaces.",
    answers: [
      "NSA/CISA Kubernetes Hardening Guidance (supply chain: trusted registries)",
      "anti-pattern: images from personal Docker Hub accounts",
    ],
    configured: "allowedRegistries: repository prefixes (registry host, optionally with an organisation)",
  },
  validateResource: validatePods((pod, args, report) => {
    const { allowedRegistries } = configOf<{ allowedRegistries: string[] }>(registryConfig, args);
    for (const view of containersOf(pod)) {
      if (leftOut(pod, view.container.image)) continue;
      const image = view.container.image ?? "";
      const { repository } = parseImage(image);
      if (!allowedRegistries.some((prefix) => repository === prefix || repository.startsWith(`${prefix}/`))) {
        report(
          `${describeContainer(pod, view)} image ${literal(image)} is not from an allowed registry (${allowedRegistries.join(", ")}). Set ${view.path}.image to an image from one of them, or add its registry to allowedRegistries in the pack config.`,
        );
      }
    }
  }),
};

/** `"30%"` as 30; undefined for an integer or anything else. */
function percentOf(value: unknown): number | undefined {
  const match = typeof value === "string" ? /^(\d+)%$/.exec(value) : null;
  return match ? Number(match[1]) : undefined;
}

/**
 * Pods a budget keeps available out of `replicas` (the eviction API rounds percentages up); for
 * maxUnavailable, replicas minus what may go (a percentage above 0% always lets one go).
 */
function keptAvailable(
  spec: { minAvailable?: unknown; maxUnavailable?: unknown },
  replicas: number,
): number | undefined {
  const { minAvailable, maxUnavailable } = spec;
  if (typeof minAvailable === "number") return minAvailable;
  const minPercent = percentOf(minAvailable);
  if (minPercent !== undefined) return Math.ceil((minPercent * replicas) / 100);
  if (typeof maxUnavailable === "number") return replicas - maxUnavailable;
  const maxPercent = percentOf(maxUnavailable);
  if (maxPercent !== undefined) return replicas - Math.ceil((maxPercent * replicas) / 100);
  return undefined;
}

export const pdbAllowsEviction: PlinthStackPolicy = {
  name: "pdb-allows-eviction",
  description:
    "PodDisruptionBudgets must allow at least one pod to be evicted, judged against the replicas of the workloads they select.",
  enforcementLevel: "mandatory",
  severity: "medium",
  metadata: {
    protectsAgainst:
      "Node drains and cluster upgrades blocked forever by a budget that never permits an eviction: maxUnavailable 0, minAvailable 100%, or a minAvailable that equals the replicas it selects.",
    answers: ["Kubernetes documentation: specifying a disruption budget", "anti-pattern: maxUnavailable 0"],
  },
  validateStack: (args, report) => {
    const workloads = replicatedWorkloads(args.resources);
    for (const pdb of args.resources.filter((r) =>
      /^kubernetes:policy\/v1\w*:PodDisruptionBudget$/.test(r.type),
    )) {
      const name = objectName(pdb.props, pdb.name);
      const spec = (pdb.props.spec ?? {}) as {
        minAvailable?: unknown;
        maxUnavailable?: unknown;
        selector?: LabelSelector;
      };
      if (spec.maxUnavailable === 0 || percentOf(spec.maxUnavailable) === 0) {
        report(
          `PodDisruptionBudget "${name}" allows no evictions. Set spec.maxUnavailable to 1 (or a percentage above 0%).`,
          pdb.urn,
        );
        continue;
      }
      if ((percentOf(spec.minAvailable) ?? 0) >= 100) {
        report(
          `PodDisruptionBudget "${name}" allows no evictions. Set spec.minAvailable below 100% or use spec.maxUnavailable: 1.`,
          pdb.urn,
        );
        continue;
      }
      // One budget counts every pod it selects: blue and green of 2 replicas each are 4 pods.
      const selected = workloads.filter(
        ({ pod }) => namespaceOf(pdb.props) === pod.namespace && selects(spec.selector, pod.labels),
      );
      const replicas = selected.reduce((sum, workload) => sum + workload.minReplicas, 0);
      const kept = selected.length === 0 ? undefined : keptAvailable(spec, replicas);
      if (kept !== undefined && kept >= replicas) {
        const what = selected.map(({ pod, source }) => `${pod.kind} "${pod.name}" (${source})`).join(", ");
        report(
          `PodDisruptionBudget "${name}" keeps ${kept} of the ${replicas} pods of ${what} available: no eviction is ever allowed. Set spec.maxUnavailable to 1 instead.`,
          pdb.urn,
        );
      }
    }
  },
};

export const hpaCpuOnly: PlinthResourcePolicy = {
  name: "hpa-cpu-only",
  description: "HorizontalPodAutoscalers scale on CPU utilisation only.",
  enforcementLevel: "mandatory",
  severity: "low",
  metadata: {
    protectsAgainst:
      "Scaling on memory for a Node.js/ONNX service whose heap and model memory never shrink: replicas scale up and never scale down.",
    answers: ["anti-pattern: autoscaling on memory for runtimes that do not return memory"],
  },
  validateResource: validateResourceOfType(
    k8s.autoscaling.v2.HorizontalPodAutoscaler,
    (hpa, args, report) => {
      const name = objectName(args.props, args.name);
      (hpa.spec?.metrics ?? []).forEach((metric, i) => {
        // CPU of the pod (Resource) or of one of its containers (ContainerResource): both CPU.
        const resource = metric.type === "ContainerResource" ? metric.containerResource : metric.resource;
        const isResource = metric.type === "Resource" || metric.type === "ContainerResource";
        if (!isResource || resource?.name !== "cpu") {
          const what = isResource ? `resource ${resource?.name}` : `${metric.type} metric`;
          report(
            `HorizontalPodAutoscaler "${name}" scales on ${what}. Set spec.metrics[${i}] to { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: <percent> } } }.`,
          );
        }
      });
    },
  ),
};

/** The Deployments among {@link replicatedWorkloads}. */
const deploymentsWithReplicas = (resources: PolicyResource[]) =>
  replicatedWorkloads(resources).filter((workload) => workload.pod.kind === "Deployment");

interface ReplicatedDeployment {
  resource: PolicyResource;
  pod: PodView;
  minReplicas: number;
  source: string;
}

/** Kinds whose replica count a PodDisruptionBudget weighs (the scale subresource's kinds). */
const REPLICATED_KINDS = new Set(["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"]);

/**
 * Each replicated workload (not a patch) with its minimum replica count: its HPA's minReplicas
 * when one scales it, else spec.replicas.
 */
function replicatedWorkloads(resources: PolicyResource[]): ReplicatedDeployment[] {
  const hpas = resources.filter((r) =>
    /^kubernetes:autoscaling\/v\d+\w*:HorizontalPodAutoscaler$/.test(r.type),
  );
  return resources.flatMap((resource) => {
    const pod = podOf(resource.type, resource.props, resource.name);
    if (!pod || pod.patch || !REPLICATED_KINDS.has(pod.kind)) return [];
    const hpa = hpas.find((candidate) => {
      const target = candidate.props.spec?.scaleTargetRef;
      const sameNamespace = namespaceOf(candidate.props) === pod.namespace;
      const byName = target?.kind === pod.kind && target?.name === pod.name;
      return sameNamespace && (byName || candidate.dependencies.includes(resource));
    });
    if (hpa) {
      const min = hpa.props.spec?.minReplicas ?? 1;
      return [
        {
          resource,
          pod,
          minReplicas: min,
          source: `HorizontalPodAutoscaler "${objectName(hpa.props, hpa.name)}" spec.minReplicas`,
        },
      ];
    }
    return [{ resource, pod, minReplicas: resource.props.spec?.replicas ?? 1, source: "spec.replicas" }];
  });
}

export const pdbForReplicatedDeployments: PlinthStackPolicy = {
  name: "pdb-for-replicated-deployments",
  description: "Every Deployment with more than one replica has a PodDisruptionBudget selecting its pods.",
  enforcementLevel: "mandatory",
  severity: "medium",
  metadata: {
    protectsAgainst:
      "A node drain or cluster upgrade evicting every replica at once, taking the service down although it runs several copies.",
    answers: [
      "Kubernetes documentation: disruptions and PodDisruptionBudgets",
      "anti-pattern: replicas without a disruption budget",
    ],
  },
  validateStack: (args, report) => {
    const pdbs = args.resources.filter((r) => r.type === "kubernetes:policy/v1:PodDisruptionBudget");
    for (const { resource, pod, minReplicas } of deploymentsWithReplicas(args.resources)) {
      if (minReplicas <= 1) continue;
      const covered = pdbs.some(
        (pdb) =>
          namespaceOf(pdb.props) === pod.namespace &&
          selects(pdb.props.spec?.selector as LabelSelector, pod.labels),
      );
      if (!covered) {
        report(
          `Deployment "${pod.name}" runs ${minReplicas} replicas but no PodDisruptionBudget selects its pods. Add a PodDisruptionBudget in namespace "${pod.namespace}" with spec.selector.matchLabels ${literal(pod.labels)} and spec.maxUnavailable 1.`,
          resource.urn,
        );
      }
    }
  },
};

const replicasConfig = {
  properties: {
    minReplicas: {
      type: "integer" as const,
      minimum: 1,
      default: 1,
      description:
        "Fewest replicas a Deployment (or its autoscaler's minReplicas) may have; 2 in production.",
    },
  },
};

export const workloadMinReplicas: PlinthStackPolicy = {
  name: "workload-min-replicas",
  description:
    "Deployments run at least the stack's minimum number of replicas (pack config; 2 in production).",
  enforcementLevel: "mandatory",
  severity: "medium",
  configSchema: replicasConfig,
  metadata: {
    protectsAgainst: "A single replica in production: every restart, eviction or node failure is an outage.",
    answers: ["anti-pattern: single points of failure in production"],
    configured: "minReplicas: 1 by default, 2 in policies/config/production.json",
  },
  validateStack: (args, report) => {
    const { minReplicas } = configOf<{ minReplicas: number }>(replicasConfig, args);
    for (const { resource, pod, minReplicas: actual, source } of deploymentsWithReplicas(args.resources)) {
      if (actual < minReplicas) {
        report(
          `Deployment "${pod.name}" runs ${actual} replica(s); this stack requires ${minReplicas}. Set ${source} to at least ${minReplicas}.`,
          resource.urn,
        );
      }
    }
  },
};

export const workloadPolicies: PlinthPolicy[] = [
  podRunAsNonRoot,
  containerNotPrivileged,
  containerNoPrivilegeEscalation,
  containerDropAllCapabilities,
  containerReadOnlyRootFilesystem,
  podSeccompRuntimeDefault,
  podNoHostNamespaces,
  podNoHostPathVolumes,
  containerResources,
  containerHealthProbes,
  imagePinnedByDigest,
  imageNoLatestTag,
  imageFromAllowedRegistry,
  pdbAllowsEviction,
  hpaCpuOnly,
  pdbForReplicatedDeployments,
  workloadMinReplicas,
];
