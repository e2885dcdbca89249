/**
 * Workload policies: how pods and containers run (Pod Security Standards "restricted" and the
 * NSA/CISA hardening guidance), what images they run, and how they survive disruption and load.
 * Each applies to every pod-bearing kind: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
 * CronJob and bare Pods.
 */
import type { PolicyResource } from "@pulumi/policy";
import { chartObjectsChecked } from "./lib/helm-charts.js";
import {
  EVERY_CONTAINER,
  isLongRunning,
  LONG_RUNNING_KINDS,
  leftOut,
  containersOf,
  describeContainer,
  namespaceOf,
  objectName,
  PATCH_JUDGED_ON_WHAT_IT_SETS,
  PATCH_NOT_JUDGED,
  POD_RESOURCES,
  POD_SPECS_NOT_READ,
  podOf,
  selects,
  validateContainers,
  validatePods,
  WINDOWS_PODS_JUDGED_ALIKE,
} from "./lib/kubernetes.js";
import type { LabelSelector, PodView } from "./lib/kubernetes.js";
import { configOf, literal } from "./lib/policy.js";
import type { PlinthPolicy, PlinthResourcePolicy, PlinthStackPolicy } from "./lib/policy.js";

const PSS_RESTRICTED = 'Kubernetes Pod Security Standards, profile "restricted"';
const PSS_BASELINE = 'Kubernetes Pod Security Standards, profile "baseline"';
const NSA_CISA = "NSA/CISA Kubernetes Hardening Guidance (pod security)";
const CIS_K8S_POLICIES = 'CIS Kubernetes Benchmark, "Policies" section (pod security)';
/** What every pod and container rule here can check inside Helm charts. */
const PODS_IN_CHARTS = chartObjectsChecked("pods");

export const podRunAsNonRoot: PlinthResourcePolicy = {
  name: "pod-run-as-non-root",
  description: "Containers must run as a non-root user (runAsNonRoot true, never UID 0).",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "A process escaping its container as root, or writing to root-owned host paths mounted into it; root in the container is root on the node's kernel.",
    answers: [PSS_RESTRICTED, NSA_CISA, CIS_K8S_POLICIES],
    covers: `${EVERY_CONTAINER}: the container's securityContext.runAsNonRoot must be true and its runAsUser must not be 0, each falling back to the pod's spec.securityContext when the container leaves it unset.`,
    limits: `The image's own USER is not read: with runAsNonRoot true and no runAsUser, it is the kubelet that refuses a root image at start. runAsGroup 0, supplementalGroups and windowsOptions.runAsUserName are not judged. ${PATCH_JUDGED_ON_WHAT_IT_SETS}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
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
    covers: `${EVERY_CONTAINER}: securityContext.privileged must not be true (unset is not privileged).`,
    limits: `Only the privileged flag is read: added capabilities and host namespaces are judged by their own rules, and windowsOptions.hostProcess (a Windows host-process container) is not read. ${POD_SPECS_NOT_READ}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
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
    covers: `${EVERY_CONTAINER}: the container's securityContext.allowPrivilegeEscalation must be false; unset counts as allowed, as it does for the kubelet (there is no pod-level field).`,
    limits: `${WINDOWS_PODS_JUDGED_ALIKE} ${PATCH_JUDGED_ON_WHAT_IT_SETS}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
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
    covers: `${EVERY_CONTAINER}: securityContext.capabilities.drop must contain "ALL", and capabilities.add may contain only NET_BIND_SERVICE.`,
    limits: `Capability names are compared exactly as written: "all" does not count as dropping ALL, and "CAP_NET_BIND_SERVICE" counts as an added capability. ${WINDOWS_PODS_JUDGED_ALIKE} ${PATCH_JUDGED_ON_WHAT_IT_SETS}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
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
    covers: `${EVERY_CONTAINER}: securityContext.readOnlyRootFilesystem must be true.`,
    limits: `Volumes are not judged: what a container may write through its mounted volumes (emptyDir, persistent volumes, a writable volume mounted over its binaries) is not checked. ${PATCH_JUDGED_ON_WHAT_IT_SETS}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
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
    covers: `${EVERY_CONTAINER}: the container's securityContext.seccompProfile.type, or the pod's spec.securityContext.seccompProfile.type when the container sets none, must be RuntimeDefault or Localhost.`,
    limits: `The deprecated seccomp annotations (seccomp.security.alpha.kubernetes.io/...) are not read, so a pod relying on them is reported; a Localhost profile's content is not seen. ${WINDOWS_PODS_JUDGED_ALIKE} ${PATCH_JUDGED_ON_WHAT_IT_SETS}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
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
    covers: `The pod spec of ${POD_RESOURCES}: spec.hostNetwork, spec.hostPID and spec.hostIPC must not be true.`,
    limits: `Host ports are judged by container-no-host-ports, not here; spec.hostUsers (user namespaces) is not required to be false. ${POD_SPECS_NOT_READ}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
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
    covers: `The pod spec of ${POD_RESOURCES}: no entry of spec.volumes may have a hostPath.`,
    limits: `Node paths reached another way are not seen: a PersistentVolume of type hostPath or local claimed through a PersistentVolumeClaim, or a CSI driver that mounts node directories. ${POD_SPECS_NOT_READ}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
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
    covers: `Every init and main container of ${POD_RESOURCES}: resources.requests.cpu, requests.memory, limits.cpu and limits.memory must each be set, a request left out counting as set when its limit is (the API server defaults it to the limit). Ephemeral containers are skipped (the API refuses resources on them).`,
    limits: `Only presence is judged, not the values. Defaults a namespace LimitRange would fill in are not seen, so such a container is reported, and pod-level spec.resources is not read. ${PATCH_NOT_JUDGED}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
  },
  validateResource: validateContainers(({ container, path, list }, describe, pod, report) => {
    // The API refuses resources on ephemeral (debug) containers: they take the pod's.
    if (list === "ephemeralContainers") return;
    for (const field of RESOURCE_FIELDS) {
      const [bound, resource] = field.split(".") as ["requests" | "limits", "cpu" | "memory"];
      // A request left out while its limit is set defaults to the limit (the API server fills it in).
      const set =
        container.resources?.[bound]?.[resource] !== undefined ||
        (bound === "requests" && container.resources?.limits?.[resource] !== undefined);
      if (!set && !pod.patch) {
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
    covers: `The main containers (spec.containers) of ${LONG_RUNNING_KINDS}, in any API version: each must have a readinessProbe and a livenessProbe.`,
    limits: `Jobs, CronJobs, PodTemplates and bare Pods are exempt, and so are init containers (native sidecars with restartPolicy Always included, although they run for the pod's life) and ephemeral containers. A startupProbe does not stand in for either probe, and a probe's settings are not judged. ${PATCH_NOT_JUDGED}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
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

/**
 * Docker Hub's registry under each name an image may give it: docker.io (what runtimes write),
 * index.docker.io (its legacy name, which runtimes rewrite to docker.io) and registry-1.docker.io (the
 * host that serves its registry API).
 */
const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/**
 * An image name (no tag or digest) as the repository a container runtime pulls, normalised as
 * distribution/reference does for containerd, CRI-O and Docker: the first path component is a registry
 * host only if the name has another component and it contains "." or ":", is "localhost", or is not
 * all lower case; anything else is on Docker Hub. Docker Hub's hosts all become docker.io, and a
 * one-component Docker Hub path is an official image under library/. A host that merely begins with
 * docker.io (docker.io.evil.com) is a host of its own.
 */
function normaliseRepository(name: string): string {
  const slash = name.indexOf("/");
  const first = slash === -1 ? "" : name.slice(0, slash);
  const isHost =
    slash !== -1 &&
    (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase());
  const host = isHost ? first : "docker.io";
  const path = isHost ? name.slice(slash + 1) : name;
  if (!DOCKER_HUB_HOSTS.has(host)) return `${host}/${path}`;
  return `docker.io/${path.includes("/") ? path : `library/${path}`}`;
}

/** An allowedRegistries prefix with a Docker Hub host spelt docker.io, as repositories are. */
function normaliseRegistryPrefix(prefix: string): string {
  const [first = "", ...rest] = prefix.split("/");
  return DOCKER_HUB_HOSTS.has(first) ? ["docker.io", ...rest].join("/") : prefix;
}

/** `registry/name[:tag][@sha256:digest]` split into its parts, the repository normalised as a runtime pulls it. */
export function parseImage(image: string): { repository: string; tag?: string; digest?: string } {
  const [withoutDigest = "", digest] = image.split("@", 2);
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  const name = colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
  const tag = colon === -1 ? undefined : withoutDigest.slice(colon + 1);
  const repository = normaliseRepository(name);
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
    covers: `${EVERY_CONTAINER}: image must end in @sha256: and 64 lowercase hex digits; a tag may stand before the digest.`,
    limits: `The digest is not checked against the registry, the tag or a signature, and other digest algorithms (sha512) are reported. ${PATCH_JUDGED_ON_WHAT_IT_SETS}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
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
    covers: `${EVERY_CONTAINER}: an image whose tag is latest, or that has neither a tag nor a digest, is reported.`,
    limits: `Other moving tags (stable, main, a bare major version) are not recognised; an image with a digest and no tag passes (image-pinned-by-digest judges digests). ${PATCH_JUDGED_ON_WHAT_IT_SETS}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
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
    covers: `${EVERY_CONTAINER}: the image's repository, normalised as container runtimes do (a name with no registry host is on Docker Hub; Docker Hub's hosts docker.io, index.docker.io and registry-1.docker.io are all docker.io; a one-component Docker Hub name is under library/), must equal a prefix in allowedRegistries (its Docker Hub host spelt docker.io likewise) or start with that prefix and a slash.`,
    limits: `Hosts are compared exactly as written: another spelling of an allowed host (upper case, an explicit :443, a registry mirror or pull-through cache) is reported. A prefix that is a bare host (the defaults ghcr.io and quay.io) admits every organisation on it, and the image's content and signature are not checked. ${PATCH_JUDGED_ON_WHAT_IT_SETS}`,
    charts: PODS_IN_CHARTS,
    chartReach: "objects",
  },
  validateResource: validatePods((pod, args, report) => {
    const { allowedRegistries } = configOf<{ allowedRegistries: string[] }>(registryConfig, args);
    const prefixes = allowedRegistries.map(normaliseRegistryPrefix);
    for (const view of containersOf(pod)) {
      if (leftOut(pod, view.container.image)) continue;
      const image = view.container.image ?? "";
      const { repository } = parseImage(image);
      if (!prefixes.some((prefix) => repository === prefix || repository.startsWith(`${prefix}/`))) {
        report(
          `${describeContainer(pod, view)} image ${literal(image)} is not from an allowed registry (${allowedRegistries.join(", ")}). Set ${view.path}.image to an image from one of them, or add its registry to allowedRegistries in the pack config.`,
        );
      }
    }
  }),
};

/**
 * The PodDisruptionBudget types every budget rule reads, with what an empty selector ({}) selects in
 * each: every pod of the budget's namespace in policy/v1, none in policy/v1beta1. A missing selector
 * selects nothing in either.
 */
const PDB_EMPTY_SELECTOR_SELECTS_ALL: Readonly<Record<string, boolean>> = {
  "kubernetes:policy/v1:PodDisruptionBudget": true,
  "kubernetes:policy/v1beta1:PodDisruptionBudget": false,
};

/** For the catalog: the budgets read, said the same way by every budget rule. */
const PDBS_READ =
  "PodDisruptionBudget of policy/v1 or policy/v1beta1 (an empty selector selects every pod of its namespace in v1 and none in v1beta1, as the API does)";

/** The budgets among `resources`, of the types in {@link PDB_EMPTY_SELECTOR_SELECTS_ALL}. */
function podDisruptionBudgets(resources: PolicyResource[]): PolicyResource[] {
  return resources.filter((r) => Object.hasOwn(PDB_EMPTY_SELECTOR_SELECTS_ALL, r.type));
}

/** Whether budget `pdb` selects pods labelled `labels` (in its namespace; the caller compares namespaces). */
function budgetSelects(pdb: PolicyResource, labels: Record<string, string>): boolean {
  const selector = pdb.props.spec?.selector as LabelSelector | undefined;
  const empty =
    selector !== undefined &&
    selector !== null &&
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0;
  if (empty) return PDB_EMPTY_SELECTOR_SELECTS_ALL[pdb.type] === true;
  return selects(selector ?? undefined, labels);
}

/** Kinds whose replica count a PodDisruptionBudget weighs (the scale subresource's kinds). */
const REPLICATED_KINDS = new Set(["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"]);

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
    covers: `Stack-wide: every ${PDBS_READ}. maxUnavailable 0 or "0%" and a minAvailable percentage of 100 or more are always reported; otherwise the budget is weighed against the workloads of kinds ${[...REPLICATED_KINDS].join(", ")} (any API version, patches excluded) in its namespace whose pod-template labels its selector selects, each counted at its HorizontalPodAutoscaler's minReplicas (an HPA of any autoscaling version targeting it by kind and name, or depending on it) or else spec.replicas (default 1).`,
    limits: `Pods of other kinds (bare Pods, Jobs, DaemonSets) and of \`<Kind>Patch\` resources are not counted, so a budget that selects only those is judged on maxUnavailable 0 and minAvailable 100% alone. Replicas are counted at the autoscaler's minimum, not at what it may scale to. A PodDisruptionBudgetPatch is not read.`,
    charts: chartObjectsChecked("PodDisruptionBudgets and workloads"),
    chartReach: "objects",
  },
  validateStack: (args, report) => {
    const workloads = replicatedWorkloads(args.resources);
    for (const pdb of podDisruptionBudgets(args.resources)) {
      const name = objectName(pdb.props, pdb.name);
      const spec = (pdb.props.spec ?? {}) as { minAvailable?: unknown; maxUnavailable?: unknown };
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
        ({ pod }) => namespaceOf(pdb.props) === pod.namespace && budgetSelects(pdb, pod.labels),
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

/**
 * The HorizontalPodAutoscaler versions whose spec.metrics can name what to scale on, with the CPU
 * metric each spells (v2beta1 gives its target as targetAverageUtilization). autoscaling/v1 has no
 * metrics: it scales on CPU alone.
 */
const HPA_CPU_METRIC: Readonly<Record<string, string>> = {
  "kubernetes:autoscaling/v2:HorizontalPodAutoscaler":
    '{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: <percent> } } }',
  "kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler":
    '{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: <percent> } } }',
  "kubernetes:autoscaling/v2beta1:HorizontalPodAutoscaler":
    '{ type: "Resource", resource: { name: "cpu", targetAverageUtilization: <percent> } }',
};

/** One spec.metrics entry, as autoscaling/v2, v2beta2 and v2beta1 all spell its type and resource name. */
interface HpaMetric {
  type?: string;
  resource?: { name?: string };
  containerResource?: { name?: string };
}

export const hpaCpuOnly: PlinthResourcePolicy = {
  name: "hpa-cpu-only",
  description: "HorizontalPodAutoscalers scale on CPU utilisation only.",
  enforcementLevel: "mandatory",
  severity: "low",
  metadata: {
    protectsAgainst:
      "Scaling on memory for a Node.js/ONNX service whose heap and model memory never shrink: replicas scale up and never scale down.",
    answers: ["anti-pattern: autoscaling on memory for runtimes that do not return memory"],
    covers:
      "HorizontalPodAutoscaler of autoscaling/v2, v2beta2 or v2beta1 (`kubernetes:autoscaling/<version>:HorizontalPodAutoscaler`): every entry of spec.metrics must be of type Resource or ContainerResource with the resource name cpu. autoscaling/v1 passes: it can only scale on CPU.",
    limits:
      "HorizontalPodAutoscalerPatch is not read, nor scalers outside the HPA API (KEDA ScaledObject, VerticalPodAutoscaler). An HPA with no metrics passes (the API then scales on 80% CPU), and the target's type and value are not judged.",
    charts: chartObjectsChecked("HorizontalPodAutoscalers"),
    chartReach: "objects",
  },
  validateResource: (args, report) => {
    const cpuMetric = HPA_CPU_METRIC[args.type];
    if (!cpuMetric)
      return args.notApplicable("Policy only applies to autoscaling/v2, v2beta2 and v2beta1 HPAs");
    const name = objectName(args.props, args.name);
    const metrics = (args.props.spec?.metrics ?? []) as HpaMetric[];
    metrics.forEach((metric, i) => {
      // CPU of the pod (Resource) or of one of its containers (ContainerResource): both CPU.
      const resource = metric.type === "ContainerResource" ? metric.containerResource : metric.resource;
      const isResource = metric.type === "Resource" || metric.type === "ContainerResource";
      if (!isResource || resource?.name !== "cpu") {
        const what = isResource ? `resource ${resource?.name}` : `${metric.type} metric`;
        report(
          `HorizontalPodAutoscaler "${name}" scales on ${what}. Set spec.metrics[${i}] to ${cpuMetric}.`,
        );
      }
    });
  },
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
    covers: `Stack-wide: every Deployment (any API version, not a DeploymentPatch) whose HorizontalPodAutoscaler minReplicas, or else spec.replicas (default 1), is above 1 must have its pod-template labels selected by a ${PDBS_READ} in its namespace.`,
    limits:
      "StatefulSets, ReplicaSets and ReplicationControllers with several replicas are not required to have a budget. A PodDisruptionBudgetPatch does not count, and a budget that allows no eviction still counts here (pdb-allows-eviction reports it).",
    charts: chartObjectsChecked("Deployments and PodDisruptionBudgets"),
    chartReach: "objects",
  },
  validateStack: (args, report) => {
    const pdbs = podDisruptionBudgets(args.resources);
    for (const { resource, pod, minReplicas } of deploymentsWithReplicas(args.resources)) {
      if (minReplicas <= 1) continue;
      const covered = pdbs.some(
        (pdb) => namespaceOf(pdb.props) === pod.namespace && budgetSelects(pdb, pod.labels),
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
    covers:
      "Stack-wide: every Deployment (any API version, not a DeploymentPatch): the spec.minReplicas of a HorizontalPodAutoscaler targeting it (by scaleTargetRef kind and name in its namespace, or by depending on it), or else its spec.replicas (default 1), must be at least minReplicas.",
    limits:
      "StatefulSets and other replicated kinds are not judged. Where the replicas run is not judged: without topologySpreadConstraints or anti-affinity, two replicas may share one node.",
    charts: chartObjectsChecked("Deployments"),
    chartReach: "objects",
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
