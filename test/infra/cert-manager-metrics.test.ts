/**
 * cert-manager observed where plinth installs it (aws, gcp, and existing clusters without
 * `existingCluster.certManager`), on either edge: its controller's metrics port (9402) admits
 * plinth's Prometheus alone, the PodMonitor `plinth-cert-manager` scrapes it, and the
 * PrometheusRule `plinth-cert-manager` beside it carries the certificate alerts. A cluster's own
 * cert-manager, reused, gets none of them. The alerts themselves are evaluated with promtool in
 * test/components/monitoring-rules.test.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../infra/render/index.js";
import { validateManifest } from "../support/k8s-models.js";
import { admits, type Origin } from "../support/network-policies.js";
import { at, CLUSTER_PROMETHEUS, PROMETHEUS_PEER, StackView } from "../support/stack.js";

/** cert-manager's controller pods as its chart labels them (its templates of recent v1 releases), on their metrics port. */
const CONTROLLER_METRICS = {
  namespace: "cert-manager",
  podLabels: {
    app: "cert-manager",
    "app.kubernetes.io/name": "cert-manager",
    "app.kubernetes.io/instance": "cert-manager",
    "app.kubernetes.io/component": "controller",
  },
  port: 9402,
};
/** What plinth selects the controller pods by (NetworkPolicy and PodMonitor). */
const CONTROLLER_SELECTOR = {
  "app.kubernetes.io/name": "cert-manager",
  "app.kubernetes.io/component": "controller",
};
/** The installed kube-prometheus-stack's Prometheus pods. */
const PROMETHEUS = {
  namespace: "monitoring",
  podLabels: { "app.kubernetes.io/name": "prometheus", prometheus: "kps-prometheus" },
};
const REUSED_CERT_MANAGER = { certManager: { clusterIssuer: "cluster-ca" } };
const INGRESS_PATH = { edge: "ingress-nginx" };
const ALERTS = ["PlinthCertificateNotReady", "PlinthCertificateRenewalOverdue", "PlinthCertManagerDown"];

const INSTALLING = {
  "staging on aws": () => renderStack({ stack: "staging", cloud: "aws" }),
  "production on gcp": () => renderStack({ stack: "production", cloud: "gcp" }),
  "staging on an existing cluster": () => renderStack({ stack: "staging", cloud: "existing" }),
  "production on aws, Ingress path": () =>
    renderStack({ stack: "production", cloud: "aws", config: INGRESS_PATH }),
  "staging on an existing cluster, Ingress path": () =>
    renderStack({ stack: "staging", cloud: "existing", config: INGRESS_PATH }),
};
const REUSING = {
  "an existing cluster's own cert-manager": () =>
    renderStack({ stack: "staging", cloud: "existing", config: { existingCluster: REUSED_CERT_MANAGER } }),
  "an existing cluster's own cert-manager, Ingress path": () =>
    renderStack({
      stack: "staging",
      cloud: "existing",
      config: { ...INGRESS_PATH, existingCluster: REUSED_CERT_MANAGER },
    }),
};

const views: Record<string, StackView> = {};
let ownPrometheus: StackView;
beforeAll(async () => {
  const renders = Object.entries({ ...INSTALLING, ...REUSING });
  const rendered = await Promise.all(renders.map(([, render]) => render()));
  renders.forEach(([name], i) => (views[name] = new StackView(rendered[i]!)));
  ownPrometheus = new StackView(
    await renderStack({
      stack: "staging",
      cloud: "existing",
      config: { existingCluster: { monitoring: CLUSTER_PROMETHEUS } },
    }),
  );
});

describe.each(Object.keys(INSTALLING))("%s: the cert-manager plinth installs is observed", (name) => {
  const view = () => views[name]!;

  it("admits Prometheus alone to the controller's metrics port (9402)", () => {
    const policy = view().manifest("NetworkPolicy", "ingress-cert-manager-controller-netpol");
    expect(at(policy, "spec.podSelector.matchLabels")).toEqual(CONTROLLER_SELECTOR);
    // One rule: the installed Prometheus's pods, to 9402.
    expect(at(policy, "spec.ingress")).toEqual([
      { from: [PROMETHEUS_PEER], ports: [{ protocol: "TCP", port: 9402 }] },
    ]);
    const manifests = view().manifests();
    expect(admits(manifests, PROMETHEUS, CONTROLLER_METRICS)).toBe(true);
    const others: Origin[] = [
      { namespace: "default", podLabels: { app: "compromised" } },
      { namespace: "monitoring", podLabels: { "app.kubernetes.io/name": "grafana" } },
      { namespace: "traefik", podLabels: { "app.kubernetes.io/name": "traefik" } },
      { namespace: "cert-manager", podLabels: { "app.kubernetes.io/name": "webhook" } },
    ];
    for (const origin of others)
      expect(admits(manifests, origin, CONTROLLER_METRICS), JSON.stringify(origin)).toBe(false);
  });

  it("scrapes it with the PodMonitor plinth-cert-manager, after the operator's CRDs", () => {
    const monitor = view().manifest("PodMonitor", "plinth-cert-manager");
    expect(monitor.metadata.namespace).toBe("monitoring");
    expect(at(monitor, "spec")).toEqual({
      selector: { matchLabels: CONTROLLER_SELECTOR },
      namespaceSelector: { matchNames: ["cert-manager"] },
      podMetricsEndpoints: [
        {
          port: "http-metrics",
          path: "/metrics",
          scheme: "http",
          interval: "15s",
          scrapeTimeout: "10s",
        },
      ],
    });
    expect(monitor.metadata.labels).toEqual(
      view().manifest("ServiceMonitor", "plinth-inference").metadata.labels,
    );
    const release = view().one("kubernetes:helm.sh/v3:Release", "ingress-cert-manager");
    expect(at(release.inputs.values, "prometheus.enabled")).toBe(true);
    const kps = view().one("kubernetes:helm.sh/v3:Release", "monitoring-kube-prometheus-stack");
    for (const [type, resource] of [
      ["kubernetes:monitoring.coreos.com/v1:PodMonitor", "monitoring-cert-manager-pod-monitor"],
      ["kubernetes:monitoring.coreos.com/v1:PrometheusRule", "monitoring-cert-manager-rules"],
    ] as const)
      expect(view().one(type, resource).dependencies, resource).toContain(kps.urn);
  });

  it("has the certificate alerts in the PrometheusRule plinth-cert-manager, on that scrape job", () => {
    const rule = view().manifest("PrometheusRule", "plinth-cert-manager");
    expect(rule.metadata.namespace).toBe("monitoring");
    const groups = at(rule, "spec.groups") as { name: string; rules: { alert: string; expr: string }[] }[];
    expect(groups.map((g) => g.name)).toEqual(["plinth-certificate-alerts"]);
    expect(groups[0]!.rules.map((r) => r.alert)).toEqual(ALERTS);
    for (const { expr } of groups[0]!.rules) expect(expr).toContain('job="monitoring/plinth-cert-manager"');
    // The inference rules carry none of them: they render alike with or without cert-manager.
    expect(JSON.stringify(view().manifest("PrometheusRule", "plinth-inference"))).not.toContain(
      "PlinthCertificate",
    );
    for (const kind of ["PodMonitor", "PrometheusRule"])
      expect(() => validateManifest(view().manifest(kind, "plinth-cert-manager")), kind).not.toThrow();
  });
});

describe.each(Object.keys(REUSING))("%s: not plinth's to observe", (name) => {
  it("writes no PodMonitor, alerts or NetworkPolicy for it", () => {
    const manifests = views[name]!.manifests();
    expect(manifests.filter((m) => m.metadata.name === "plinth-cert-manager")).toEqual([]);
    expect(manifests.filter((m) => m.metadata.namespace === "cert-manager")).toEqual([]);
    expect(JSON.stringify(manifests)).not.toContain("PlinthCert");
    expect(views[name]!.ofType("kubernetes:helm.sh/v3:Release").map((r) => r.inputs.chart)).not.toContain(
      "cert-manager",
    );
  });
});

describe("on a cluster's own Prometheus, with the cert-manager plinth installs", () => {
  it("admits its pods to 9402, and labels the PodMonitor and rule for it", () => {
    const manifests = ownPrometheus.manifests();
    const prometheus = { namespace: "observability", podLabels: CLUSTER_PROMETHEUS.podLabels };
    expect(admits(manifests, prometheus, CONTROLLER_METRICS)).toBe(true);
    // The installed chart's Prometheus labels, in the namespace plinth would have installed it in.
    expect(admits(manifests, PROMETHEUS, CONTROLLER_METRICS)).toBe(false);
    for (const kind of ["PodMonitor", "PrometheusRule"]) {
      const object = ownPrometheus.manifest(kind, "plinth-cert-manager");
      expect(object.metadata.namespace, kind).toBe("observability");
      expect(object.metadata.labels, kind).toMatchObject({ release: "cluster-kps" });
      expect(object.metadata.annotations, kind).toEqual({ "plinth.dev/crds-from": "cluster" });
    }
    expect(
      JSON.stringify(at(ownPrometheus.manifest("PrometheusRule", "plinth-cert-manager"), "spec")),
    ).toContain('job=\\"observability/plinth-cert-manager\\"');
  });
});
