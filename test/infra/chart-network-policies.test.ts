/**
 * The pods the third-party charts run (ingress-nginx, cert-manager, kube-prometheus-stack) are
 * isolated like plinth's own (#19): each chart's namespace denies ingress by default, and only the
 * connections each pod exists for get through. Judged on the rendered NetworkPolicies by an
 * independent reading of the API's semantics (test/support/network-policies.ts), with pod labels
 * as the pinned charts write them (the helm.v3.Release objects themselves are not rendered here),
 * and with each cloud's CNI: on GKE Dataplane V2 an ipBlock never matches a pod.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../infra/render/index.js";
import { admits, type Destination, type Origin, type Semantics } from "../support/network-policies.js";
import { configProblems, stagingWith } from "../support/stack-config-problems.js";
import { deepMerge, RENDER_SECRETS } from "../../infra/render/stack-config.js";
import { at, StackView } from "../support/stack.js";

/** These renders are of the Ingress path (plinth:edge: ingress-nginx); test/infra/gateway-edge.test.ts covers Traefik's. */
const INGRESS_PATH = { edge: "ingress-nginx" };
const INTERNET: Origin = { ip: "203.0.113.9" };
/** Any pod of the cluster, outside the charts (no address: judged by selectors only). */
const ANY_POD: Origin = { namespace: "default", podLabels: { app: "compromised" } };

const CONTROLLER_LABELS = {
  "app.kubernetes.io/name": "ingress-nginx",
  "app.kubernetes.io/instance": "ingress-nginx",
  "app.kubernetes.io/component": "controller",
  "app.kubernetes.io/part-of": "ingress-nginx",
};
const CONTROLLER: Origin = { namespace: "ingress-nginx", podLabels: CONTROLLER_LABELS };
const MONITORING = "monitoring";
/** Pods as kube-prometheus-stack 77.12.0 (and its operator) label them, release "kps". */
const PROMETHEUS: Origin = {
  namespace: MONITORING,
  podLabels: {
    "app.kubernetes.io/name": "prometheus",
    "app.kubernetes.io/instance": "kps-prometheus",
    "app.kubernetes.io/managed-by": "prometheus-operator",
    prometheus: "kps-prometheus",
  },
};
const GRAFANA: Origin = {
  namespace: MONITORING,
  podLabels: { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "kube-prometheus-stack" },
};
const pod = (origin: Origin, port: number): Destination => {
  if (!("namespace" in origin)) throw new Error("a destination is a pod");
  return { namespace: origin.namespace, podLabels: origin.podLabels, port };
};
const ALERTMANAGER = {
  namespace: MONITORING,
  podLabels: {
    "app.kubernetes.io/name": "alertmanager",
    "app.kubernetes.io/instance": "kps-alertmanager",
    alertmanager: "kps-alertmanager",
  },
};
const KUBE_STATE_METRICS = {
  namespace: MONITORING,
  podLabels: {
    "app.kubernetes.io/name": "kube-state-metrics",
    "app.kubernetes.io/instance": "kube-prometheus-stack",
  },
};
const OPERATOR = {
  namespace: MONITORING,
  podLabels: {
    app: "kube-prometheus-stack-operator",
    "app.kubernetes.io/name": "kube-prometheus-stack-prometheus-operator",
    "app.kubernetes.io/component": "prometheus-operator",
  },
};
const CERT_MANAGER_WEBHOOK = {
  namespace: "cert-manager",
  podLabels: {
    app: "webhook",
    "app.kubernetes.io/name": "webhook",
    "app.kubernetes.io/instance": "cert-manager",
    "app.kubernetes.io/component": "webhook",
  },
};
const CERT_MANAGER_CONTROLLER = {
  namespace: "cert-manager",
  podLabels: {
    app: "cert-manager",
    "app.kubernetes.io/name": "cert-manager",
    "app.kubernetes.io/component": "controller",
  },
};
const CERT_MANAGER_CAINJECTOR = {
  namespace: "cert-manager",
  podLabels: {
    app: "cainjector",
    "app.kubernetes.io/name": "cainjector",
    "app.kubernetes.io/instance": "cert-manager",
    "app.kubernetes.io/component": "cainjector",
  },
};
const ACME_SOLVER = {
  namespace: MONITORING,
  podLabels: { "acme.cert-manager.io/http01-solver": "true", "acme.cert-manager.io/http-domain": "1234" },
};

const KONNECTIVITY = (podLabels: Record<string, string>): Origin => ({ namespace: "kube-system", podLabels });
const GKE_KONNECTIVITY = KONNECTIVITY({ "k8s-app": "konnectivity-agent" });
const AKS_KONNECTIVITY = KONNECTIVITY({ app: "konnectivity-agent" });
const CERT_MANAGER: Origin = { namespace: "cert-manager", podLabels: CERT_MANAGER_CONTROLLER.podLabels };

interface Case {
  readonly render: () => ReturnType<typeof renderStack>;
  readonly semantics: Semantics;
  /** Where the API server's webhook calls come from on that cluster. */
  readonly apiServer: readonly Origin[];
  /** An address that is not the API server's. */
  readonly outsideIp: string;
  /** A pod's address on that cluster's pod network. */
  readonly podIp: string;
  /** Whether any pod reaches the webhook ports (the address rule admits the pod network too). */
  readonly podsReachWebhooks: boolean;
}

const CASES: Record<string, Case> = {
  // EKS: the control plane's interfaces sit in the VPC (staging's 10.40.0.0/16), and so do the pods.
  "staging on aws": {
    render: () => renderStack({ stack: "staging", cloud: "aws", config: INGRESS_PATH }),
    semantics: "ipblock-matches-pods",
    apiServer: [{ ip: "10.40.7.12" }],
    outsideIp: "10.41.0.5",
    podIp: "10.40.33.8",
    podsReachWebhooks: true,
  },
  // GKE Dataplane V2 (Cilium): the control plane's /28 (production's 172.16.0.16/28), or the
  // konnectivity agents it tunnels through; an ipBlock never matches a pod.
  "production on gcp": {
    render: () => renderStack({ stack: "production", cloud: "gcp", config: INGRESS_PATH }),
    semantics: "cilium",
    apiServer: [{ ip: "172.16.0.20" }, GKE_KONNECTIVITY],
    outsideIp: "172.16.0.5",
    podIp: "10.8.3.14",
    podsReachWebhooks: false,
  },
  // An existing cluster: the private ranges unless its config narrows them, and the konnectivity
  // agents of GKE and AKS.
  "staging on an existing cluster": {
    render: () => renderStack({ stack: "staging", cloud: "existing", config: INGRESS_PATH }),
    semantics: "ipblock-matches-pods",
    apiServer: [{ ip: "192.168.10.4" }, GKE_KONNECTIVITY, AKS_KONNECTIVITY],
    outsideIp: "198.51.100.4",
    podIp: "10.244.1.9",
    podsReachWebhooks: true,
  },
  "staging on an existing cluster with apiServerCidrs": {
    render: () =>
      renderStack({
        stack: "staging",
        cloud: "existing",
        config: { ...INGRESS_PATH, existingCluster: { apiServerCidrs: ["192.0.2.0/28"] } },
      }),
    semantics: "ipblock-matches-pods",
    apiServer: [{ ip: "192.0.2.9" }, GKE_KONNECTIVITY, AKS_KONNECTIVITY],
    outsideIp: "10.1.2.3",
    podIp: "10.244.1.9",
    podsReachWebhooks: false,
  },
};

const views: Record<string, StackView> = {};
beforeAll(async () => {
  for (const [name, { render }] of Object.entries(CASES)) views[name] = new StackView(await render());
});

describe.each(Object.keys(CASES))("%s: chart pods admit only their clients", (name) => {
  const { semantics, apiServer, outsideIp, podIp, podsReachWebhooks } = CASES[name]!;
  const let_ = (origin: Origin, destination: Destination) =>
    admits(views[name]!.manifests(), origin, destination, semantics);
  /** Any pod of the cluster outside the charts, with its address. */
  const anyPod: Origin = { ...ANY_POD, ip: podIp };
  const webhooks: readonly Destination[] = [
    { namespace: "ingress-nginx", podLabels: CONTROLLER_LABELS, port: 8443 },
    pod(CERT_MANAGER_WEBHOOK, 10250),
    pod(OPERATOR, 10250),
  ];

  it("the three admission webhooks: from where the API server calls, and from no other address", () => {
    for (const webhook of webhooks) {
      for (const origin of apiServer) expect(let_(origin, webhook), JSON.stringify(origin)).toBe(true);
      expect(let_({ ip: outsideIp }, webhook)).toBe(false);
      expect(let_(INTERNET, webhook)).toBe(false);
      expect(let_(anyPod, webhook), "a pod on the pod network").toBe(podsReachWebhooks);
    }
  });

  it("ingress-nginx: 80 and 443 from the internet and from pods; nothing else from anyone", () => {
    const controller = { namespace: "ingress-nginx", podLabels: CONTROLLER_LABELS };
    for (const port of [80, 443]) {
      expect(let_(INTERNET, { ...controller, port })).toBe(true);
      // In-cluster clients of a public host, cert-manager's HTTP-01 self-check among them, arrive
      // from their pod address when the dataplane short-circuits the load balancer.
      expect(let_(anyPod, { ...controller, port })).toBe(true);
      expect(let_(CERT_MANAGER, { ...controller, port })).toBe(true);
    }
    expect(let_(INTERNET, { ...controller, port: 10254 })).toBe(false); // metrics, healthz
    expect(let_(anyPod, { ...controller, port: 10254 })).toBe(false);
    // The chart's admission Jobs, and any pod a later chart version adds, admit nothing.
    const jobs = {
      namespace: "ingress-nginx",
      podLabels: { "app.kubernetes.io/component": "admission-webhook" },
    };
    expect(let_(INTERNET, { ...jobs, port: 8443 })).toBe(false);
  });

  it("cert-manager: the controller admits Prometheus alone, to its metrics port; the cainjector no one", () => {
    for (const origin of [anyPod, INTERNET, ...apiServer, GRAFANA, CONTROLLER]) {
      expect(let_(origin, pod(CERT_MANAGER_CONTROLLER, 9402)), JSON.stringify(origin)).toBe(false);
    }
    expect(let_(PROMETHEUS, pod(CERT_MANAGER_CONTROLLER, 9402))).toBe(true);
    // Its health port and the cainjector's metrics are not scraped: no one's.
    expect(let_(PROMETHEUS, pod(CERT_MANAGER_CONTROLLER, 9403))).toBe(false);
    for (const origin of [PROMETHEUS, anyPod, ...apiServer])
      expect(let_(origin, pod(CERT_MANAGER_CAINJECTOR, 9402)), JSON.stringify(origin)).toBe(false);
  });

  it("kube-prometheus-stack: no pod outside it reaches Prometheus, Alertmanager, kube-state-metrics or Grafana", () => {
    for (const [destination, port] of [
      [PROMETHEUS, 9090],
      [ALERTMANAGER, 9093],
      [KUBE_STATE_METRICS, 8080],
      [GRAFANA, 3000],
    ] as const) {
      const where = `${JSON.stringify(destination.podLabels)}:${port}`;
      expect(let_(anyPod, pod(destination, port)), where).toBe(false);
      expect(let_(CONTROLLER, pod(destination, port)), `controller to ${where}`).toBe(port === 3000);
    }
    // The operator's port is its webhook's: only what reaches webhooks reaches it, and Prometheus.
    expect(let_(CONTROLLER, pod(OPERATOR, 10250))).toBe(false);
    // A pod of the namespace the chart does not declare (a later version's) admits no one.
    expect(let_(PROMETHEUS, pod({ namespace: MONITORING, podLabels: { app: "new" } }, 8080))).toBe(false);
  });

  it("kube-prometheus-stack: Prometheus scrapes and alerts, Grafana reads", () => {
    expect(let_(GRAFANA, pod(PROMETHEUS, 9090))).toBe(true);
    expect(let_(PROMETHEUS, pod(PROMETHEUS, 9090))).toBe(true);
    expect(let_(PROMETHEUS, pod(ALERTMANAGER, 9093))).toBe(true);
    expect(let_(GRAFANA, pod(ALERTMANAGER, 9093))).toBe(true);
    expect(let_(PROMETHEUS, pod(KUBE_STATE_METRICS, 8080))).toBe(true);
    expect(let_(PROMETHEUS, pod(OPERATOR, 10250))).toBe(true);
    // Grafana reads; it does not scrape.
    expect(let_(GRAFANA, pod(KUBE_STATE_METRICS, 8080))).toBe(false);
  });

  it("the ACME HTTP-01 solver of Grafana's certificate is reached through the ingress controller only", () => {
    expect(let_(CONTROLLER, pod(ACME_SOLVER, 8089))).toBe(true);
    expect(let_(INTERNET, pod(ACME_SOLVER, 8089))).toBe(false);
    expect(let_(anyPod, pod(ACME_SOLVER, 8089))).toBe(false);
  });
});

describe("the pinned settings the NetworkPolicies assume", () => {
  it.each(Object.keys(CASES))(
    "%s: one Alertmanager, the operator serving its own webhook, ClusterIP solvers",
    (name) => {
      const view = views[name]!;
      const kps = view
        .ofType("kubernetes:helm.sh/v3:Release")
        .find((r) => r.inputs.chart === "kube-prometheus-stack")!;
      expect(at(kps.inputs.values, "alertmanager.alertmanagerSpec.replicas")).toBe(1);
      expect(at(kps.inputs.values, "prometheusOperator.admissionWebhooks.deployment.enabled")).toBe(false);
      // A NodePort solver Service would open each solver on every node's address.
      expect(
        at(view.manifest("ClusterIssuer", "letsencrypt"), "spec.acme.solvers[0].http01.ingress.serviceType"),
      ).toBe("ClusterIP");
    },
  );
});

const existingProblems = (existingCluster: Record<string, unknown>) =>
  configProblems(
    stagingWith(
      deepMerge({ cloud: "existing", kubeconfig: RENDER_SECRETS.kubeconfig }, { existingCluster }) as Record<
        string,
        unknown
      >,
    ),
  );

describe("plinth:existingCluster.apiServerCidrs errors name their config path", () => {
  it("accepts a list of CIDRs", () => {
    expect(existingProblems({ apiServerCidrs: ["10.0.0.0/24", "192.0.2.16/28"] })).toEqual([]);
  });
  it.each([
    [["10.0.0.0"], "plinth:existingCluster.apiServerCidrs[0]: expected an IPv4 CIDR such as 10.0.0.0/16"],
    [[], "plinth:existingCluster.apiServerCidrs: expected at least one CIDR"],
    ["10.0.0.0/8", "plinth:existingCluster.apiServerCidrs: expected a list of IPv4 CIDRs"],
  ])("refuses %j", (value, message) => {
    expect(existingProblems({ apiServerCidrs: value })).toEqual([message]);
  });
});
