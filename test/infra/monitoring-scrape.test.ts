/**
 * What Prometheus scrapes, and whether it can (#18). On a managed control plane kube-prometheus-stack
 * must not scrape what the cloud hides (controller-manager, scheduler, etcd; kube-proxy where its
 * metrics are on 127.0.0.1 or absent; CoreDNS where the cluster runs kube-dns), or its alerts fire
 * for as long as the cluster runs. And every ServiceMonitor target the stack renders, plinth's own
 * and the chart's, must have a NetworkPolicy path from the Prometheus pods to its port.
 *
 * The chart is a helm.v3.Release, whose objects the mock runtime does not render: its scrape targets
 * are read from its values with the table below, written from kube-prometheus-stack 77.12.0's
 * templates and its subcharts' default labels and ports. node-exporter is not in it: it runs on
 * the host network (:9100 on each node), where NetworkPolicy does not apply.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../infra/render/index.js";
import { deepMerge, RENDER_SECRETS } from "../../infra/render/stack-config.js";
import { BROWNFIELD, LOCAL_BASE_STACK, LOCAL_STACK_OVERRIDES } from "../../stack/engine/local-config.js";
import type { KubernetesObject } from "../../infra/render/objects.js";
import { configProblems, stagingWith } from "../support/stack-config-problems.js";
import { admits } from "../support/network-policies.js";
import { at, EDGE_PROXY_PEER, StackView } from "../support/stack.js";

type Labels = Readonly<Record<string, string>>;

interface ScrapeTarget {
  readonly name: string;
  readonly namespace: string;
  readonly podLabels: Labels;
  readonly port: number;
}

interface PrometheusPods {
  readonly namespace: string;
  readonly podLabels: Labels;
}

/** The chart's ServiceMonitor targets that run as pods (the kubelet and the API server do not). */
const CHART_TARGETS: readonly {
  readonly name: string;
  /** Values paths that must not be false for the chart to render the ServiceMonitor. */
  readonly enabledBy: readonly string[];
  /** undefined: the release's namespace. */
  readonly namespace?: string;
  readonly podLabels: Labels;
  readonly ports: readonly number[];
}[] = [
  {
    name: "grafana",
    enabledBy: ["grafana.enabled", "grafana.serviceMonitor.enabled"],
    podLabels: { "app.kubernetes.io/name": "grafana" },
    ports: [3000],
  },
  {
    name: "kube-state-metrics",
    enabledBy: ["kubeStateMetrics.enabled"],
    podLabels: { "app.kubernetes.io/name": "kube-state-metrics" },
    ports: [8080],
  },
  {
    name: "prometheus-operator",
    enabledBy: ["prometheusOperator.enabled", "prometheusOperator.serviceMonitor.selfMonitor"],
    podLabels: { app: "kube-prometheus-stack-operator" },
    ports: [10250],
  },
  {
    name: "prometheus",
    enabledBy: ["prometheus.enabled", "prometheus.serviceMonitor.selfMonitor"],
    podLabels: { "app.kubernetes.io/name": "prometheus" },
    ports: [9090, 8080],
  },
  {
    name: "alertmanager",
    enabledBy: ["alertmanager.enabled", "alertmanager.serviceMonitor.selfMonitor"],
    podLabels: { "app.kubernetes.io/name": "alertmanager" },
    ports: [9093, 8080],
  },
  {
    name: "coredns",
    enabledBy: ["coreDns.enabled"],
    namespace: "kube-system",
    podLabels: { "k8s-app": "kube-dns" },
    ports: [9153],
  },
  {
    name: "kube-proxy",
    enabledBy: ["kubeProxy.enabled"],
    namespace: "kube-system",
    podLabels: { "k8s-app": "kube-proxy" },
    ports: [10249],
  },
  {
    name: "kube-controller-manager",
    enabledBy: ["kubeControllerManager.enabled"],
    namespace: "kube-system",
    podLabels: { component: "kube-controller-manager" },
    ports: [10257],
  },
  {
    name: "kube-scheduler",
    enabledBy: ["kubeScheduler.enabled"],
    namespace: "kube-system",
    podLabels: { component: "kube-scheduler" },
    ports: [10259],
  },
  {
    name: "etcd",
    enabledBy: ["kubeEtcd.enabled"],
    namespace: "kube-system",
    podLabels: { component: "etcd" },
    ports: [2381],
  },
];

function kpsRelease(view: StackView) {
  return view.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "kube-prometheus-stack");
}

function chartTargets(view: StackView): ScrapeTarget[] {
  const release = kpsRelease(view);
  if (!release) return [];
  const values = release.inputs.values;
  const namespace = String(release.inputs.namespace);
  return CHART_TARGETS.filter((t) => t.enabledBy.every((path) => at(values, path) !== false)).flatMap((t) =>
    t.ports.map((port) => ({
      name: `${t.name}:${port}`,
      namespace: t.namespace ?? namespace,
      podLabels: t.podLabels,
      port,
    })),
  );
}

const subset = (wanted: Labels | undefined, labels: Labels) =>
  Object.entries(wanted ?? {}).every(([k, v]) => labels[k] === v);

type Container = { ports?: { name?: string; containerPort: number }[] };

/** Pods of the rendered workloads: namespace, template labels, containers. */
function workloads(view: StackView) {
  return view.manifests().flatMap((o) => {
    if (o.kind !== "Deployment" && o.kind !== "StatefulSet") return [];
    return [
      {
        name: `${o.kind}/${o.metadata.name}`,
        namespace: o.metadata.namespace ?? "default",
        podLabels: at(o, "spec.template.metadata.labels") as Labels,
        containers: at(o, "spec.template.spec.containers") as Container[],
      },
    ];
  });
}

/**
 * The pods of the Traefik release plinth installs, which the mock runtime does not render: the
 * chart (39.0.7) labels them `app.kubernetes.io/name: traefik` and `app.kubernetes.io/instance:
 * <release>-<namespace>`, and names each container port after its key under `ports` in the values.
 */
function traefikPods(view: StackView) {
  return view
    .ofType("kubernetes:helm.sh/v3:Release")
    .filter((r) => r.inputs.chart === "traefik")
    .map((release) => {
      const namespace = String(release.inputs.namespace);
      const ports = at(release.inputs.values, "ports") as Record<string, { port: number }>;
      return {
        name: `Deployment/${String(release.inputs.name)}`,
        namespace,
        podLabels: {
          "app.kubernetes.io/name": "traefik",
          "app.kubernetes.io/instance": `${String(release.inputs.name)}-${namespace}`,
        } as Labels,
        containers: [
          { ports: Object.entries(ports).map(([name, { port }]) => ({ name, containerPort: port })) },
        ] as Container[],
      };
    });
}

/**
 * The controller pods of the cert-manager release plinth installs, which the mock runtime does not
 * render either: the chart (v1.21.1) labels them `app.kubernetes.io/name: cert-manager`,
 * `app.kubernetes.io/instance: <release>` and `app.kubernetes.io/component: controller`, and with
 * `prometheus.enabled` serves their metrics on container port `http-metrics` (9402).
 */
function certManagerPods(view: StackView) {
  return view
    .ofType("kubernetes:helm.sh/v3:Release")
    .filter((r) => r.inputs.chart === "cert-manager")
    .map((release) => {
      expect(at(release.inputs.values, "prometheus.enabled")).toBe(true);
      return {
        name: `Deployment/${String(release.inputs.name)}`,
        namespace: String(release.inputs.namespace),
        podLabels: {
          app: "cert-manager",
          "app.kubernetes.io/name": "cert-manager",
          "app.kubernetes.io/instance": String(release.inputs.name),
          "app.kubernetes.io/component": "controller",
        } as Labels,
        containers: [{ ports: [{ name: "http-metrics", containerPort: 9402 }] }] as Container[],
      };
    });
}

/** Every pod port plinth's own ServiceMonitors and PodMonitors point Prometheus at. */
function plinthTargets(view: StackView): ScrapeTarget[] {
  const manifests = view.manifests();
  const pods = [...workloads(view), ...traefikPods(view), ...certManagerPods(view)];
  const portOf = (containers: Container[], port: number | string) =>
    typeof port === "number"
      ? port
      : containers.flatMap((c) => c.ports ?? []).find((p) => p.name === port)?.containerPort;
  const targets: ScrapeTarget[] = [];
  for (const monitor of manifests.filter((o) => o.kind === "ServiceMonitor" || o.kind === "PodMonitor")) {
    const namespaces = (at(monitor, "spec.namespaceSelector.matchNames") as string[] | undefined) ?? [
      monitor.metadata.namespace!,
    ];
    const selector = at(monitor, "spec.selector.matchLabels") as Labels;
    const endpoints = (at(
      monitor,
      monitor.kind === "PodMonitor" ? "spec.podMetricsEndpoints" : "spec.endpoints",
    ) ?? []) as { port: string }[];
    const found: ScrapeTarget[] = [];
    if (monitor.kind === "PodMonitor") {
      for (const pod of pods.filter((p) => namespaces.includes(p.namespace) && subset(selector, p.podLabels)))
        for (const endpoint of endpoints) {
          const port = portOf(pod.containers, endpoint.port);
          if (port !== undefined) found.push({ ...pod, name: `${pod.name}:${port}`, port });
        }
    } else {
      const services = manifests.filter(
        (o: KubernetesObject) =>
          o.kind === "Service" &&
          namespaces.includes(o.metadata.namespace ?? "default") &&
          subset(selector, o.metadata.labels ?? {}),
      );
      for (const service of services) {
        const ports = at(service, "spec.ports") as {
          name?: string;
          port: number;
          targetPort?: number | string;
        }[];
        const podSelector = at(service, "spec.selector") as Labels;
        for (const pod of pods.filter(
          (p) => p.namespace === service.metadata.namespace && subset(podSelector, p.podLabels),
        ))
          for (const endpoint of endpoints) {
            const servicePort = ports.find((p) => p.name === endpoint.port);
            const port = servicePort && portOf(pod.containers, servicePort.targetPort ?? servicePort.port);
            if (port !== undefined) found.push({ ...pod, name: `${pod.name}:${port}`, port });
          }
      }
    }
    // A monitor that resolves to nothing would scrape nothing: a broken selector, not a pass.
    expect(found.length, `${monitor.kind} ${monitor.metadata.name} selects no pod port`).toBeGreaterThan(0);
    targets.push(...found);
  }
  return targets;
}

/** The pods of the Prometheus that scrapes this stack, with the labels its operator gives them. */
function prometheusPods(view: StackView): PrometheusPods {
  const release = kpsRelease(view);
  if (release)
    return {
      namespace: String(release.inputs.namespace),
      podLabels: {
        "app.kubernetes.io/name": "prometheus",
        "app.kubernetes.io/instance": "kps-prometheus",
        "app.kubernetes.io/managed-by": "prometheus-operator",
        prometheus: "kps-prometheus",
      },
    };
  return { namespace: BROWNFIELD.monitoring.namespace, podLabels: BROWNFIELD.monitoring.podLabels };
}

const SELF_MANAGED = { existingCluster: { controlPlane: "self-managed" } };

const views: Record<string, StackView> = {};
beforeAll(async () => {
  const renders = {
    "staging on aws": renderStack({ stack: "staging", cloud: "aws" }),
    "production on gcp": renderStack({ stack: "production", cloud: "gcp" }),
    "staging on an existing cluster": renderStack({ stack: "staging", cloud: "existing" }),
    "staging on a self-managed existing cluster": renderStack({
      stack: "staging",
      cloud: "existing",
      config: { existingCluster: { ...SELF_MANAGED.existingCluster, storageClass: "local-ssd" } },
    }),
    "an existing cluster's own Prometheus": renderStack({
      stack: LOCAL_BASE_STACK,
      config: LOCAL_STACK_OVERRIDES,
    }),
    // The cluster's Prometheus, and the Traefik plinth installs: the edge's PodMonitor is theirs to run.
    "an existing cluster's own Prometheus and plinth's Traefik": renderStack({
      stack: "staging",
      cloud: "existing",
      config: { existingCluster: { monitoring: BROWNFIELD.monitoring } },
    }),
  };
  for (const [name, render] of Object.entries(renders)) views[name] = new StackView(await render);
});

const values = (name: string) => kpsRelease(views[name]!)!.inputs.values;

describe("kube-prometheus-stack scrapes only what the cluster exposes", () => {
  it.each([
    ["staging on aws", false, false, true],
    ["production on gcp", false, false, false],
    ["staging on an existing cluster", false, false, true],
    ["staging on a self-managed existing cluster", true, true, true],
  ] as const)("%s: control plane %s, kube-proxy %s, CoreDNS %s", (name, controlPlane, kubeProxy, coreDns) => {
    const v = values(name);
    expect({
      kubeControllerManager: at(v, "kubeControllerManager.enabled"),
      kubeScheduler: at(v, "kubeScheduler.enabled"),
      kubeEtcd: at(v, "kubeEtcd.enabled"),
      kubeProxy: at(v, "kubeProxy.enabled"),
      coreDns: at(v, "coreDns.enabled"),
    }).toEqual({
      kubeControllerManager: controlPlane,
      kubeScheduler: controlPlane,
      kubeEtcd: controlPlane,
      kubeProxy,
      coreDns,
    });
    // The rules about what is not scraped go with it (else *Down / absent() alerts fire forever).
    expect(at(v, "defaultRules.rules")).toEqual({
      etcd: controlPlane,
      kubeControllerManager: controlPlane,
      kubeSchedulerAlerting: controlPlane,
      kubeSchedulerRecording: controlPlane,
      kubeProxy,
    });
    // The kubelet, the API server and kube-state-metrics stay scraped everywhere.
    for (const kept of ["kubelet.enabled", "kubeApiServer.enabled", "kubeStateMetrics.enabled"])
      expect(at(v, kept), kept).not.toBe(false);
  });
});

describe("Prometheus's volume names the cluster's StorageClass", () => {
  it.each([
    ["staging on aws", "gp3-encrypted"],
    ["production on gcp", "standard-rwo"],
    ["staging on a self-managed existing cluster", "local-ssd"],
    ["staging on an existing cluster", undefined],
  ] as const)("%s: %s", (name, storageClass) => {
    expect(
      at(values(name), "prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName"),
    ).toBe(storageClass);
  });
});

describe("every ServiceMonitor target has a NetworkPolicy path from the Prometheus pods to its port", () => {
  it.each([
    "staging on aws",
    "production on gcp",
    "staging on an existing cluster",
    "staging on a self-managed existing cluster",
    "an existing cluster's own Prometheus",
    "an existing cluster's own Prometheus and plinth's Traefik",
  ])("%s", (name) => {
    const view = views[name]!;
    const prometheus = prometheusPods(view);
    const targets = [...plinthTargets(view), ...chartTargets(view)];
    // The inference metrics port (every colour in blue-green) is among them.
    expect(targets.some((t) => /^Deployment\/plinth-inference(-blue|-green)?:9464$/.test(t.name))).toBe(true);
    // And the edge's metrics port wherever plinth installs Traefik (not on the brownfield cluster,
    // whose Traefik is reused).
    const traefikInstalled = traefikPods(view).length > 0;
    expect(targets.some((t) => t.name === "Deployment/traefik:9100")).toBe(traefikInstalled);
    // And cert-manager's controller wherever plinth installs cert-manager (not where the cluster's
    // own is reused).
    const certManagerInstalled = certManagerPods(view).length > 0;
    expect(targets.some((t) => t.name === "Deployment/cert-manager:9402")).toBe(certManagerInstalled);
    if (kpsRelease(view)) expect(targets.map((t) => t.name)).toContain("grafana:3000");
    const blocked = targets.filter((t) => !admits(view.manifests(), prometheus, t)).map((t) => t.name);
    expect(blocked).toEqual([]);
  });

  it("admits the Grafana UI from the edge proxy (Traefik) and /metrics from Prometheus, on Grafana's port only", () => {
    const policy = views["staging on aws"]!.manifest("NetworkPolicy", "monitoring-grafana-netpol");
    expect(at(policy, "spec.ingress")).toEqual([
      {
        from: [
          EDGE_PROXY_PEER,
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
            podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
          },
        ],
        ports: [{ protocol: "TCP", port: 3000 }],
      },
    ]);
  });
});

/** The staging config on an existing cluster, with `override`: every problem the schema reports. */
const problems = (override: Record<string, unknown>) =>
  configProblems(
    stagingWith(
      deepMerge({ cloud: "existing", kubeconfig: RENDER_SECRETS.kubeconfig }, override) as Record<
        string,
        unknown
      >,
    ),
  );

describe("plinth:existingCluster.controlPlane and metricsApi errors name their config path", () => {
  it("accepts managed, self-managed, and a cluster without a metrics API at a fixed replica count", () => {
    expect(problems({ existingCluster: { controlPlane: "managed" } })).toEqual([]);
    expect(problems(SELF_MANAGED)).toEqual([]);
    expect(problems({ existingCluster: { metricsApi: "provided" } })).toEqual([]);
    expect(
      problems({
        existingCluster: { metricsApi: "none" },
        inference: { models: { "fashion-classifier": { replicas: { min: 3, max: 3 } } } },
      }),
    ).toEqual([]);
  });

  it("refuses an unknown control plane, and one set beside a reused Prometheus", () => {
    expect(problems({ existingCluster: { controlPlane: "hosted" } })).toEqual([
      "plinth:existingCluster.controlPlane: expected managed or self-managed",
    ]);
    // BROWNFIELD's monitoring alone: its edge keys belong to the edge's own tests.
    expect(
      problems({ existingCluster: { monitoring: BROWNFIELD.monitoring, controlPlane: "managed" } }),
    ).toEqual([
      "plinth:existingCluster.controlPlane: chooses what the kube-prometheus-stack plinth installs scrapes, and monitoring reuses the cluster's instead; remove one",
    ]);
  });

  it("refuses an autoscaled service on a cluster that declares no metrics API", () => {
    expect(problems({ existingCluster: { metricsApi: "none" } })).toEqual([
      "plinth:existingCluster.metricsApi: none: the inference HorizontalPodAutoscaler scales plinth:inference.models.fashion-classifier.replicas between 2 and 4 on CPU from the metrics API (metrics.k8s.io), which this cluster does not serve; install metrics-server and set provided, or set plinth:inference.models.fashion-classifier.replicas.min equal to max",
    ]);
    expect(problems({ existingCluster: { metricsApi: "metrics-server" } })).toEqual([
      "plinth:existingCluster.metricsApi: expected provided or none",
    ]);
  });
});
