/**
 * The Gateway path of the edge (issue #23, plinth:edge: gateway, the default): Traefik from its
 * pinned chart, cert-manager with its Gateway API support, the ClusterIssuer's Gateway solver,
 * plinth's Gateway and its listeners, and the reuse of a cluster's own Traefik. The stack suites
 * (test/support/stack-suite.ts) check the routes and Middlewares on every stack x cloud; this file
 * checks the values and the options, and that `plinth:edge: ingress-nginx` still renders Ingresses.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../infra/config/load.js";
import { renderStack } from "../../infra/render/index.js";
import { deepMerge, readStackFile, RENDER_SECRETS } from "../../infra/render/stack-config.js";
import { validateManifest } from "../support/k8s-models.js";
import { admits } from "../support/network-policies.js";
import { at, CLUSTER_PROMETHEUS, PROMETHEUS_PEER, routeMiddlewares, StackView } from "../support/stack.js";

const TRAEFIK_REUSED = {
  implementation: "traefik",
  gatewayClassName: "shared-traefik",
  namespace: "edge-system",
  podLabels: { "app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "edge" },
};
const DOMAIN = "staging.ml.plinth.example.com";

let aws: StackView;
let reused: StackView;
let nginx: StackView;
let ownPrometheus: StackView;
beforeAll(async () => {
  [aws, reused, nginx, ownPrometheus] = await Promise.all([
    renderStack({ stack: "staging", cloud: "aws" }).then((s) => new StackView(s)),
    renderStack({
      stack: "staging",
      cloud: "existing",
      config: { existingCluster: { gatewayController: TRAEFIK_REUSED } },
    }).then((s) => new StackView(s)),
    renderStack({ stack: "staging", cloud: "aws", config: { edge: "ingress-nginx" } }).then(
      (s) => new StackView(s),
    ),
    renderStack({
      stack: "staging",
      cloud: "existing",
      config: { existingCluster: { monitoring: CLUSTER_PROMETHEUS } },
    }).then((s) => new StackView(s)),
  ]);
});

/** Traefik's pods on their metrics port. */
const TRAEFIK_METRICS_PORT = {
  namespace: "traefik",
  podLabels: { "app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "traefik-traefik" },
  port: 9100,
};

const traefikValues = (view: StackView) =>
  view.one("kubernetes:helm.sh/v3:Release", "ingress-traefik").inputs.values as Record<string, unknown>;

describe("Traefik, installed from its pinned chart", () => {
  it("runs v3.6.12 with the Gateway API and CRD providers, no Ingress provider, no chart Gateway", () => {
    const release = aws.one("kubernetes:helm.sh/v3:Release", "ingress-traefik");
    expect(release.inputs).toMatchObject({
      name: "traefik",
      chart: "traefik",
      version: "39.0.7",
      namespace: "traefik",
      repositoryOpts: { repo: "https://traefik.github.io/charts" },
    });
    // The chart's own CRDs (Gateway API standard channel and traefik.io) come with the release.
    expect(release.inputs.skipCrds).not.toBe(true);
    const values = traefikValues(aws);
    expect(at(values, "image.tag")).toBe("v3.6.12");
    // Both providers read plinth's namespaces only: another namespace's IngressRoute, Gateway or
    // TLSOption is never served by this Traefik.
    const namespaces = ["plinth-edge", "plinth", "auth", "mlflow", "monitoring"];
    expect(at(values, "providers")).toEqual({
      kubernetesGateway: { enabled: true, experimentalChannel: false, namespaces },
      kubernetesCRD: {
        enabled: true,
        namespaces,
        allowCrossNamespace: true,
        allowExternalNameServices: false,
      },
      kubernetesIngress: { enabled: false },
    });
    expect(at(values, "logs.access")).toEqual({ enabled: true, format: "json" });
    expect(at(values, "gateway.enabled")).toBe(false);
    expect(at(values, "gatewayClass.enabled")).toBe(false);
    expect(at(values, "ingressRoute.dashboard.enabled")).toBe(false);
  });

  it("listens on the entry points the listeners name, behind an NLB on aws, two replicas and a PDB", () => {
    const values = traefikValues(aws);
    expect(at(values, "ports.web")).toMatchObject({ port: 8000, exposedPort: 80 });
    expect(at(values, "ports.websecure")).toMatchObject({ port: 8443, exposedPort: 443 });
    // Client X-Forwarded-* headers are never believed.
    expect(at(values, "ports.websecure.forwardedHeaders")).toEqual({ insecure: false, trustedIPs: [] });
    expect(at(values, "service")).toEqual({
      type: "LoadBalancer",
      annotations: {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
      },
      spec: { externalTrafficPolicy: "Local" },
    });
    expect(at(values, "deployment.replicas")).toBe(2);
    expect(at(values, "podDisruptionBudget")).toEqual({ enabled: true, minAvailable: 1 });
    expect(at(values, "resources.limits")).toEqual({ cpu: "1", memory: "512Mi" });
    expect(at(values, "metrics.prometheus.entryPoint")).toBe("metrics");
  });

  it("runs in a restricted namespace whose pods admit 8000 and 8443 from anyone, 9100 from Prometheus, nothing else", () => {
    expect(aws.manifest("Namespace", "traefik").metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
    });
    expect(at(aws.manifest("NetworkPolicy", "ingress-traefik-deny-ingress-netpol"), "spec")).toEqual({
      podSelector: {},
      policyTypes: ["Ingress"],
    });
    const anyone = [{ ipBlock: { cidr: "0.0.0.0/0" } }, { namespaceSelector: {} }];
    expect(at(aws.manifest("NetworkPolicy", "ingress-traefik-proxy-netpol"), "spec")).toEqual({
      podSelector: { matchLabels: { "app.kubernetes.io/name": "traefik" } },
      policyTypes: ["Ingress"],
      ingress: [
        { from: anyone, ports: [{ protocol: "TCP", port: 8000 }] },
        { from: anyone, ports: [{ protocol: "TCP", port: 8443 }] },
        { from: [PROMETHEUS_PEER], ports: [{ protocol: "TCP", port: 9100 }] },
      ],
    });
  });

  it("gets the GatewayClass traefik, written by plinth for Traefik's controller", () => {
    const gatewayClass = aws.manifest("GatewayClass", "traefik");
    expect(at(gatewayClass, "spec.controllerName")).toBe("traefik.io/gateway-controller");
    expect(
      aws.one("kubernetes:gateway.networking.k8s.io/v1:GatewayClass", "ingress-gateway-class").dependencies,
    ).toContain(aws.one("kubernetes:helm.sh/v3:Release", "ingress-traefik").urn);
  });
});

describe("Traefik's metrics, scraped by Prometheus alone", () => {
  it("serves them on the pods' metrics port 9100, not on the LoadBalancer Service, with entry-point and router series", () => {
    const values = traefikValues(aws);
    expect(at(values, "ports.metrics")).toEqual({
      port: 9100,
      expose: { default: false },
      exposedPort: 9100,
      protocol: "TCP",
    });
    expect(at(values, "metrics.prometheus")).toEqual({
      entryPoint: "metrics",
      addEntryPointsLabels: true,
      addRoutersLabels: true,
    });
  });

  it("admits the Prometheus pods to the metrics port and no one else: not the internet, not Grafana, not plinth's pods", () => {
    const manifests = aws.manifests();
    const prometheus = {
      namespace: "monitoring",
      podLabels: { "app.kubernetes.io/name": "prometheus", prometheus: "kps-prometheus" },
    };
    expect(admits(manifests, prometheus, TRAEFIK_METRICS_PORT)).toBe(true);
    for (const origin of [
      { ip: "203.0.113.7" },
      { namespace: "monitoring", podLabels: { "app.kubernetes.io/name": "grafana" } },
      { namespace: "plinth", podLabels: { "app.kubernetes.io/name": "prometheus" } },
      { namespace: "plinth", podLabels: { "app.kubernetes.io/name": "inference" } },
      { namespace: "traefik", podLabels: { "app.kubernetes.io/name": "traefik" } },
    ])
      expect(admits(manifests, origin, TRAEFIK_METRICS_PORT), JSON.stringify(origin)).toBe(false);
    // Prometheus reaches only the metrics port: the entry points are everyone's, nothing else is open.
    expect(admits(manifests, prometheus, { ...TRAEFIK_METRICS_PORT, port: 8080 })).toBe(false);
  });

  it("is selected by the PodMonitor plinth-edge in the monitoring namespace: Traefik's pods, port metrics, after the operator's CRDs", () => {
    const monitor = aws.manifest("PodMonitor", "plinth-edge");
    expect(monitor.metadata.namespace).toBe("monitoring");
    expect(at(monitor, "spec")).toEqual({
      selector: { matchLabels: { "app.kubernetes.io/name": "traefik" } },
      namespaceSelector: { matchNames: ["traefik"] },
      podMetricsEndpoints: [
        { port: "metrics", path: "/metrics", scheme: "http", interval: "15s", scrapeTimeout: "10s" },
      ],
    });
    // Labelled as the inference ServiceMonitor is, for whichever Prometheus selects that one.
    expect(monitor.metadata.labels).toEqual(
      aws.manifest("ServiceMonitor", "plinth-inference").metadata.labels,
    );
    const kps = aws.one("kubernetes:helm.sh/v3:Release", "monitoring-kube-prometheus-stack");
    for (const [type, name] of [
      ["kubernetes:monitoring.coreos.com/v1:PodMonitor", "monitoring-edge-pod-monitor"],
      ["kubernetes:monitoring.coreos.com/v1:PrometheusRule", "monitoring-edge-rules"],
    ] as const)
      expect(aws.one(type, name).dependencies, name).toContain(kps.urn);
  });

  it("has the edge's alerts in a PrometheusRule of its own, on the PodMonitor's scrape job", () => {
    const rule = aws.manifest("PrometheusRule", "plinth-edge");
    expect(rule.metadata.namespace).toBe("monitoring");
    const groups = at(rule, "spec.groups") as { name: string; rules: { alert: string; expr: string }[] }[];
    expect(groups.map((g) => g.name)).toEqual(["plinth-edge-alerts"]);
    expect(groups[0]!.rules.map((r) => r.alert)).toEqual(["PlinthEdgeErrorsHigh", "PlinthEdgeDown"]);
    for (const { expr } of groups[0]!.rules) expect(expr).toContain('job="monitoring/plinth-edge"');
    // The inference rules carry no edge alert: they render alike on either edge.
    expect(JSON.stringify(aws.manifest("PrometheusRule", "plinth-inference"))).not.toContain("PlinthEdge");
  });

  it("on a cluster's own Prometheus: admits its pods to 9100, and labels the PodMonitor and rule for it", () => {
    const manifests = ownPrometheus.manifests();
    const prometheus = { namespace: "observability", podLabels: CLUSTER_PROMETHEUS.podLabels };
    expect(admits(manifests, prometheus, TRAEFIK_METRICS_PORT)).toBe(true);
    // The installed chart's Prometheus labels, in the namespace plinth would have installed it in.
    expect(
      admits(
        manifests,
        { namespace: "monitoring", podLabels: { "app.kubernetes.io/name": "prometheus" } },
        TRAEFIK_METRICS_PORT,
      ),
    ).toBe(false);
    for (const kind of ["PodMonitor", "PrometheusRule"]) {
      const object = ownPrometheus.manifest(kind, "plinth-edge");
      expect(object.metadata.namespace, kind).toBe("observability");
      expect(object.metadata.labels, kind).toMatchObject({ release: "cluster-kps" });
      expect(object.metadata.annotations, kind).toEqual({ "plinth.dev/crds-from": "cluster" });
    }
    expect(JSON.stringify(at(ownPrometheus.manifest("PrometheusRule", "plinth-edge"), "spec"))).toContain(
      'job=\\"observability/plinth-edge\\"',
    );
    for (const manifest of manifests.filter((m) => m.metadata.name === "plinth-edge"))
      expect(() => validateManifest(manifest), manifest.kind).not.toThrow();
  });

  it("is not scraped where plinth does not install Traefik: a reused Traefik, the Ingress path", () => {
    for (const view of [reused, nginx]) {
      // cert-manager's, which plinth installs on both, remain (test/infra/cert-manager-metrics.test.ts).
      const named = (kind: string) =>
        view
          .manifests()
          .filter((m) => m.kind === kind)
          .map((m) => m.metadata.name)
          .sort();
      expect(named("PodMonitor")).toEqual(["plinth-cert-manager"]);
      expect(named("PrometheusRule")).toEqual(["plinth-cert-manager", "plinth-inference"]);
      expect(JSON.stringify(view.manifests())).not.toContain("PlinthEdge");
    }
  });
});

describe("cert-manager and the ACME issuer on the Gateway", () => {
  it("turns on cert-manager's Gateway API support", () => {
    const values = aws.one("kubernetes:helm.sh/v3:Release", "ingress-cert-manager").inputs.values;
    expect(at(values, "config")).toEqual({
      apiVersion: "controller.config.cert-manager.io/v1alpha1",
      kind: "ControllerConfiguration",
      enableGatewayAPI: true,
    });
    expect(at(values, "crds")).toEqual({ enabled: true, keep: true });
  });

  it("solves HTTP-01 through the Gateway's http listener", () => {
    expect(at(aws.manifest("ClusterIssuer", "letsencrypt"), "spec.acme.solvers")).toEqual([
      {
        http01: {
          gatewayHTTPRoute: {
            parentRefs: [
              {
                group: "gateway.networking.k8s.io",
                kind: "Gateway",
                name: "plinth",
                namespace: "plinth-edge",
                sectionName: "http",
              },
            ],
          },
        },
      },
    ]);
  });

  it("admits the ACME solver pods of plinth-edge from Traefik alone", () => {
    expect(aws.manifest("Namespace", "plinth-edge").metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
    });
    expect(at(aws.manifest("NetworkPolicy", "ingress-acme-solver-netpol"), "spec")).toEqual({
      podSelector: { matchLabels: { "acme.cert-manager.io/http01-solver": "true" } },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "traefik" } },
              podSelector: { matchLabels: { "app.kubernetes.io/name": "traefik" } },
            },
          ],
          ports: [{ protocol: "TCP", port: 8089 }],
        },
      ],
    });
  });
});

describe("plinth's Gateway", () => {
  it("has an HTTP listener for its own namespace and one HTTPS listener per host, certificate by cert-manager", () => {
    const gateway = aws.manifest("Gateway", "plinth");
    expect(gateway.metadata.namespace).toBe("plinth-edge");
    expect(gateway.metadata.annotations).toEqual({
      "cert-manager.io/cluster-issuer": "letsencrypt",
      "pulumi.com/waitFor": "condition=Accepted",
    });
    expect(at(gateway, "spec.gatewayClassName")).toBe("traefik");
    const kinds = [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }];
    // Each host admits the routes of its own service's namespace and oauth2-proxy's, no other: a
    // route in monitoring cannot take a path of the api host (and see its session cookie).
    const routeNamespaces = (namespace: string) => ({
      from: "Selector",
      selector: {
        matchExpressions: [
          { key: "kubernetes.io/metadata.name", operator: "In", values: [namespace, "auth"] },
        ],
      },
    });
    const serviceNamespace: Record<string, string> = {
      api: "plinth",
      mlflow: "mlflow",
      grafana: "monitoring",
    };
    expect(at(gateway, "spec.listeners")).toEqual([
      { name: "http", port: 8000, protocol: "HTTP", allowedRoutes: { namespaces: { from: "Same" }, kinds } },
      ...["api", "mlflow", "grafana"].map((label) => ({
        name: `https-${label}`,
        port: 8443,
        protocol: "HTTPS",
        hostname: `${label}.${DOMAIN}`,
        tls: { mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: `${label}-tls` }] },
        allowedRoutes: { namespaces: routeNamespaces(serviceNamespace[label]!), kinds },
      })),
    ]);
  });

  it("redirects HTTP to HTTPS with a 301 on the http listener", () => {
    const redirect = aws.manifest("HTTPRoute", "plinth-https-redirect");
    expect(redirect.metadata.namespace).toBe("plinth-edge");
    expect(at(redirect, "spec.rules[0].filters")).toEqual([
      { type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } },
    ]);
    expect(at(redirect, "spec.parentRefs[0].sectionName")).toBe("http");
  });

  it("publishes each route on its own host's listener; the protected ones carry the chain, /oauth2 its limit, the public API nothing", () => {
    const routes = aws
      .manifests()
      .filter((m) => m.kind === "HTTPRoute" && m.metadata.namespace !== "plinth-edge");
    const chained = Object.fromEntries(routes.map((r) => [r.metadata.name, routeMiddlewares(r)]));
    expect(chained).toEqual({
      "plinth-inference-public-ingress": [],
      "plinth-inference-admin-ingress": ["plinth-inference-admin-ingress-protect"],
      "mlflow-ingress": ["mlflow-ingress-protect"],
      "monitoring-grafana-ingress": ["monitoring-grafana-ingress-protect"],
      "oauth2-proxy-ingress-api": ["oauth2-proxy-ingress-api-rate-limit"],
      "oauth2-proxy-ingress-mlflow": ["oauth2-proxy-ingress-mlflow-rate-limit"],
      "oauth2-proxy-ingress-grafana": ["oauth2-proxy-ingress-grafana-rate-limit"],
    });
    for (const route of routes) {
      const host = at(route, "spec.hostnames[0]") as string;
      expect(at(route, "spec.parentRefs[0].sectionName"), route.metadata.name).toBe(
        `https-${host.split(".")[0]}`,
      );
    }
    // Grafana's route names the chart's Service port (80), as a backendRef must.
    expect(at(aws.manifest("HTTPRoute", "monitoring-grafana-ingress"), "spec.rules[0].backendRefs")).toEqual([
      { group: "", kind: "Service", name: "grafana", port: 80 },
    ]);
  });

  it("writes no Ingress and no ingress-nginx", () => {
    expect(aws.manifests().filter((m) => m.kind === "Ingress")).toEqual([]);
    expect(aws.ofType("kubernetes:helm.sh/v3:Release").map((r) => r.inputs.chart)).not.toContain(
      "ingress-nginx",
    );
  });
});

describe("a cluster's own Traefik, reused (existingCluster.gatewayController)", () => {
  it("installs no Traefik and no GatewayClass; plinth's Gateway names the cluster's class", () => {
    expect(reused.ofType("kubernetes:helm.sh/v3:Release").map((r) => r.inputs.chart)).not.toContain(
      "traefik",
    );
    expect(
      reused.manifests().filter((m) => m.kind === "GatewayClass" || m.metadata.namespace === "traefik"),
    ).toEqual([]);
    expect(at(reused.manifest("Gateway", "plinth"), "spec.gatewayClassName")).toBe("shared-traefik");
  });

  it("admits the cluster's Traefik pods, by namespace and labels, wherever the edge is a peer", () => {
    const peer = {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "edge-system" } },
      podSelector: { matchLabels: TRAEFIK_REUSED.podLabels },
    };
    for (const name of [
      "plinth-inference-netpol",
      "oauth2-proxy-netpol",
      "mlflow-netpol",
      "monitoring-grafana-netpol",
      "ingress-acme-solver-netpol",
    ]) {
      const froms = (
        at(reused.manifest("NetworkPolicy", name), "spec.ingress") as { from: unknown[] }[]
      ).flatMap((rule) => rule.from);
      expect(froms, name).toContainEqual(peer);
    }
  });

  it("marks its Gateway API and traefik.io objects as using the cluster's CRDs (no release installs them)", () => {
    const custom = reused
      .manifests()
      .filter((m) => /^(gateway\.networking\.k8s\.io|traefik\.io)\//.test(m.apiVersion));
    // The Gateway, 8 HTTPRoutes, 4 Middlewares per protected route and one per /oauth2 route.
    expect(custom.length).toBe(24);
    for (const object of custom)
      expect(object.metadata.annotations?.["plinth.dev/crds-from"], object.metadata.name).toBe("cluster");
    // Not on the installed path.
    expect(aws.manifest("HTTPRoute", "mlflow-ingress").metadata.annotations).toBeUndefined();
  });

  it("validates every object against its schema", () => {
    for (const manifest of reused.manifests())
      expect(() => validateManifest(manifest), `${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
  });
});

describe("plinth:edge: ingress-nginx (the retired controller, kept for clusters that run it)", () => {
  it("renders the Ingresses, ingress-nginx and no Gateway API object", () => {
    expect(nginx.manifests().filter((m) => m.kind === "Ingress").length).toBe(7);
    expect(
      nginx
        .ofType("kubernetes:helm.sh/v3:Release")
        .map((r) => r.inputs.chart)
        .sort(),
    ).toEqual(["cert-manager", "ingress-nginx", "kube-prometheus-stack"]);
    expect(nginx.manifests().filter((m) => /gateway\.networking|traefik\.io/.test(m.apiVersion))).toEqual([]);
    expect(at(nginx.manifest("Ingress", "mlflow-ingress"), "metadata.annotations")).toMatchObject({
      "nginx.ingress.kubernetes.io/auth-url":
        "http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth?allowed_groups=plinth-admins",
    });
    // cert-manager as before: no Gateway API support switched on.
    expect(
      at(nginx.one("kubernetes:helm.sh/v3:Release", "ingress-cert-manager").inputs, "values.config"),
    ).toBeUndefined();
  });
});

describe("plinth:edge config errors name their config path", () => {
  const parse = (override: Record<string, unknown>) => {
    const { values } = readStackFile("staging");
    const raw = deepMerge(
      { ...values, cloud: "existing", kubeconfig: RENDER_SECRETS.kubeconfig, oidcClientSecret: "x" },
      override,
    ) as Record<string, unknown>;
    raw.slackWebhookUrl = RENDER_SECRETS.slackWebhookUrl;
    return () => parseStackConfig(raw, () => true);
  };
  const NGINX = {
    implementation: "ingress-nginx",
    className: "nginx",
    namespace: "ingress-nginx",
    podLabels: { "app.kubernetes.io/name": "ingress-nginx" },
  };

  it("defaults to the Gateway", () => {
    expect(parse({})().edge).toBe("gateway");
  });

  it("refuses an unknown edge", () => {
    expect(parse({ edge: "istio" })).toThrow("plinth:edge: expected gateway or ingress-nginx");
  });

  it("refuses the Ingress path's keys on the Gateway path, saying to set plinth:edge: ingress-nginx", () => {
    expect(parse({ existingCluster: { ingressController: NGINX } })).toThrow(
      "plinth:existingCluster.ingressController: configures the Ingress path (ingress-nginx), and plinth:edge is gateway (the default): set plinth:edge: ingress-nginx to keep the Ingress path, or remove it",
    );
    expect(parse({ existingCluster: { ingressClass: { name: "ml-nginx" } } })).toThrow(
      "plinth:existingCluster.ingressClass: configures the Ingress path (ingress-nginx), and plinth:edge is gateway (the default)",
    );
    expect(parse({ edge: "ingress-nginx", existingCluster: { ingressController: NGINX } })).not.toThrow();
  });

  it("refuses a reused Gateway controller on the Ingress path, and a non-Traefik one anywhere", () => {
    expect(parse({ edge: "ingress-nginx", existingCluster: { gatewayController: TRAEFIK_REUSED } })).toThrow(
      "plinth:existingCluster.gatewayController: reuses a Gateway API controller, and plinth:edge is ingress-nginx: set plinth:edge: gateway, or remove it",
    );
    expect(
      parse({ existingCluster: { gatewayController: { ...TRAEFIK_REUSED, implementation: "envoy" } } }),
    ).toThrow('plinth:existingCluster.gatewayController.implementation: expected "traefik"');
    expect(parse({ existingCluster: { gatewayController: { ...TRAEFIK_REUSED, podLabels: {} } } })).toThrow(
      "plinth:existingCluster.gatewayController.podLabels: expected at least one pod label",
    );
  });
});
