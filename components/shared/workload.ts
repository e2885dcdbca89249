/**
 * Secure defaults for the pods and containers plinth writes (the cdk8s-plus approach): every
 * container runs as non-root with a read-only root filesystem, no privilege escalation, all
 * capabilities dropped, seccomp RuntimeDefault, requests and limits. A caller weakens one only by
 * naming it in `weaken`, which the policy pack then reports.
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";

type Container = k8s.types.input.core.v1.Container;
type PodSpec = k8s.types.input.core.v1.PodSpec;
type Probe = k8s.types.input.core.v1.Probe;

/** A hardening a caller may switch off, by name. */
export type Weakening =
  "writable-root-filesystem" | "allow-privilege-escalation" | "keep-capabilities" | "unconfined-seccomp";

export interface ResourceAmounts {
  readonly cpu: string;
  readonly memory: string;
}

export interface Resources {
  readonly requests: ResourceAmounts;
  readonly limits: ResourceAmounts;
}

/** The three probes a long-running container gets; jobs have none. */
export interface Probes {
  readonly startup: Probe;
  readonly readiness: Probe;
  readonly liveness: Probe;
}

export interface ContainerOptions {
  readonly name: string;
  /** Image reference pinned by digest. */
  readonly image: pulumi.Input<string>;
  readonly command?: pulumi.Input<string>[];
  readonly args?: pulumi.Input<string>[];
  readonly env?: pulumi.Input<k8s.types.input.core.v1.EnvVar>[];
  readonly ports?: { name: string; containerPort: number }[];
  readonly resources: Resources;
  /** Required for long-running containers; omitted only for Job containers. */
  readonly probes?: Probes;
  readonly volumeMounts?: k8s.types.input.core.v1.VolumeMount[];
  /** Hardenings to switch off, each by name. @default [] */
  readonly weaken?: readonly Weakening[];
}

/** A container with plinth's secure defaults. */
export function hardenedContainer(options: ContainerOptions): Container {
  const weaken = new Set(options.weaken ?? []);
  return {
    name: options.name,
    image: options.image,
    imagePullPolicy: "IfNotPresent",
    ...(options.command ? { command: options.command } : {}),
    ...(options.args ? { args: options.args } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.ports ? { ports: options.ports.map((port) => ({ ...port, protocol: "TCP" })) } : {}),
    resources: { requests: { ...options.resources.requests }, limits: { ...options.resources.limits } },
    ...(options.probes
      ? {
          startupProbe: options.probes.startup,
          readinessProbe: options.probes.readiness,
          livenessProbe: options.probes.liveness,
        }
      : {}),
    ...(options.volumeMounts ? { volumeMounts: options.volumeMounts } : {}),
    securityContext: {
      runAsNonRoot: true,
      readOnlyRootFilesystem: !weaken.has("writable-root-filesystem"),
      allowPrivilegeEscalation: weaken.has("allow-privilege-escalation"),
      privileged: false,
      capabilities: weaken.has("keep-capabilities") ? {} : { drop: ["ALL"] },
      seccompProfile: { type: weaken.has("unconfined-seccomp") ? "Unconfined" : "RuntimeDefault" },
    },
  };
}

export interface PodOptions {
  readonly containers: Container[];
  readonly serviceAccountName?: pulumi.Input<string>;
  readonly volumes?: k8s.types.input.core.v1.Volume[];
  /** UID/GID the pod runs as; images that ship their own user (postgres: 999) say so. @default 10001 */
  readonly runAsUser?: number;
  /** Mount the ServiceAccount token (only workloads that call the Kubernetes API or use IRSA). @default false */
  readonly mountServiceAccountToken?: boolean;
  /** Spread replicas over zones and nodes by these pod labels. */
  readonly spreadBy?: Record<string, string>;
  readonly restartPolicy?: "Always" | "OnFailure" | "Never";
  readonly terminationGracePeriodSeconds?: number;
}

/** A pod spec with plinth's secure pod-level defaults. */
export function hardenedPodSpec(options: PodOptions): PodSpec {
  const uid = options.runAsUser ?? 10001;
  const spread = options.spreadBy;
  return {
    ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
    automountServiceAccountToken: options.mountServiceAccountToken ?? false,
    enableServiceLinks: false,
    hostNetwork: false,
    hostPID: false,
    hostIPC: false,
    ...(options.restartPolicy ? { restartPolicy: options.restartPolicy } : {}),
    ...(options.terminationGracePeriodSeconds !== undefined
      ? { terminationGracePeriodSeconds: options.terminationGracePeriodSeconds }
      : {}),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: uid,
      fsGroup: uid,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: options.containers,
    ...(options.volumes ? { volumes: options.volumes } : {}),
    ...(spread
      ? {
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "topology.kubernetes.io/zone",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: spread },
            },
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: spread },
            },
          ],
        }
      : {}),
  };
}

/** Startup and readiness on one HTTP path, liveness on another: a slow start never kills the pod. */
export function httpProbes(port: string | number, readyPath: string, livePath: string): Probes {
  const get = (path: string) => ({ httpGet: { path, port, scheme: "HTTP" } });
  return {
    startup: { ...get(readyPath), periodSeconds: 5, failureThreshold: 60, timeoutSeconds: 2 },
    readiness: { ...get(readyPath), periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 2 },
    liveness: { ...get(livePath), periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 2 },
  };
}

/** A writable scratch directory (emptyDir) for a container with a read-only root filesystem. */
export function scratchVolume(name: string, mountPath: string, sizeLimit = "64Mi") {
  return {
    volume: { name, emptyDir: { sizeLimit } } satisfies k8s.types.input.core.v1.Volume,
    mount: { name, mountPath } satisfies k8s.types.input.core.v1.VolumeMount,
  };
}
