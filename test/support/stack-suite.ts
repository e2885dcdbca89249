/**
 * Assertions every rendered stack must satisfy, whatever its cloud: graph shape, explicit
 * providers, CRD ordering, secrets, hardening, exposure, pinned charts, schema validity and
 * protection. Each stack test file renders once (in its own process) and calls this suite.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { HARDENED_CONTAINER_CONTEXT } from "./hardening.js";
import { renderStackInProcess } from "../../infra/render/run.js";
import { hashApiKey, loadConfig } from "../../service/config.js";
import { modelOperatorPaths } from "../../service/contract/operator-paths.js";
import { PROBE_PATHS } from "../../service/contract/probe-paths.js";
import { RETRAIN_EXPERIMENT, RETRAIN_OUT_DIR } from "../../components/inference/retrain.js";
import { DEBIAN_FASHION_MNIST_DIR } from "../../service/data/fashion-mnist.js";
import { loadDriftCheckSettings } from "../../service/drift/check-settings.js";
import { extractMlflowTrainArgs } from "../../service/mlflow/train-cli.js";
import { parseTrainArgs } from "../../service/train/main.js";
import type { Cloud, StackName } from "../../infra/render/types.js";
import { validateManifest } from "./k8s-models.js";
import { expectClusterHosts } from "./mlflow-rendered.js";
import { describeRateLimitStore } from "./rate-limit-store-suite.js";
import { at, EDGE_PROXY_PEER, routeMiddlewares, routePaths, StackView } from "./stack.js";

export const COMPONENT_TYPES: Record<string, string> = {
  "plinth:cluster:Cluster": "plinth",
  // The Gateway edge, named as the IngressTls it replaces (components/gateway).
  "plinth:gateway:GatewayEdge": "ingress",
  "plinth:oauth2-proxy:OAuth2Proxy": "oauth2-proxy",
  "plinth:mlflow:Mlflow": "mlflow",
  "plinth:monitoring:Monitoring": "monitoring",
  "plinth:inference:InferenceService": "plinth-inference",
  "plinth:rate-limit-store:RateLimitStore": "rate-limit-store",
};

const PUBLIC_PATHS = [
  "/predict",
  "/predict-image",
  "/predict-image/explain",
  "/metadata",
  "/v2",
  "/health",
  "/ready",
  "/docs",
  "/openapi.json",
  // The default model's routes by name (every stack file serves fashion-classifier).
  "/models/fashion-classifier/predict",
  "/models/fashion-classifier/predict-image",
];
const AUTH_URL = "http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth";
/** Traefik's rateLimit body per client address (never X-Forwarded-For), an IPv6 client by its /64. */
const perClientLimit = (average: number, burst: number) => ({
  rateLimit: { average, period: "1s", burst, sourceCriterion: { ipStrategy: { ipv6Subnet: 64 } } },
});

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

type Container = Record<string, unknown> & { name: string; securityContext: Record<string, unknown> };
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };

/** The first container's env of a workload's pod template. */
function containerEnv(object: unknown, podSpecPath: string): EnvVar[] {
  return at(object, `${podSpecPath}.containers[0].env`) as EnvVar[];
}

/** An env list as the container sees it: every secretKeyRef read from the rendered Secret. */
function resolveEnv(view: StackView, env: readonly EnvVar[], namespace: string): Record<string, string> {
  return Object.fromEntries(
    env.map((e) => {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref === undefined) return [e.name, e.value ?? ""];
      const secret = view.manifest("Secret", ref.name);
      expect(secret.metadata.namespace, `Secret ${ref.name}`).toBe(namespace);
      const value = (secret.stringData as Record<string, string> | undefined)?.[ref.key];
      expect(value, `Secret ${ref.name} key ${ref.key}`).toBeTypeOf("string");
      return [e.name, value!];
    }),
  );
}

/** The first inference Deployment (namespace plinth). */
function servingDeployment(view: StackView) {
  return view.manifests().find((m) => m.kind === "Deployment" && m.metadata.namespace === "plinth")!;
}

/** The service's configuration as its own loader reads the serving Deployment's environment. */
function servingConfig(view: StackView) {
  return loadConfig(resolveEnv(view, containerEnv(servingDeployment(view), "spec.template.spec"), "plinth"));
}

/**
 * Whether a NetworkPolicy in `policyNamespace` has an ingress peer matching pods with `podLabels`
 * in `podNamespace` (a peer without namespaceSelector means the policy's own namespace).
 */
function ingressAdmits(
  view: StackView,
  policyNamespace: string,
  podNamespace: string,
  podLabels: Readonly<Record<string, string>>,
): boolean {
  type Peer = {
    namespaceSelector?: { matchLabels?: Record<string, string> };
    podSelector?: { matchLabels?: Record<string, string> };
  };
  return view
    .manifests()
    .filter((m) => m.kind === "NetworkPolicy" && m.metadata.namespace === policyNamespace)
    .flatMap((m) => (at(m, "spec.ingress") as { from?: Peer[] }[] | undefined) ?? [])
    .flatMap((rule) => rule.from ?? [])
    .some((peer) => {
      const namespaces = peer.namespaceSelector?.matchLabels;
      const inNamespace =
        namespaces === undefined
          ? policyNamespace === podNamespace
          : Object.keys(namespaces).length === 1 &&
            namespaces["kubernetes.io/metadata.name"] === podNamespace;
      return (
        inNamespace &&
        Object.entries(peer.podSelector?.matchLabels ?? {}).every(([k, v]) => podLabels[k] === v)
      );
    });
}

function podSpecs(view: StackView) {
  return view.manifests().flatMap((object) => {
    const spec =
      object.kind === "CronJob"
        ? at(object, "spec.jobTemplate.spec.template.spec")
        : object.kind === "Deployment" || object.kind === "StatefulSet"
          ? at(object, "spec.template.spec")
          : undefined;
    return spec ? [{ object, spec: spec as Record<string, unknown> & { containers: Container[] } }] : [];
  });
}

/** Renders the stack once for the file and returns a lazily filled view. */
export function renderOnce(stack: StackName, cloud: Cloud): { view: StackView } {
  const holder = {} as { view: StackView };
  beforeAll(async () => {
    holder.view = new StackView(await renderStackInProcess({ stack, cloud }));
  });
  return holder;
}

export function describeCommonInvariants(stack: StackName, cloud: Cloud, holder: { view: StackView }) {
  describeRateLimitStore(stack, cloud, holder);
  describe(`${stack} on ${cloud}: invariants of every stack`, () => {
    it("renders the requested stack and cloud", () => {
      expect(holder.view.stack.stack).toBe(stack);
      expect(holder.view.stack.cloud).toBe(cloud);
      expect(holder.view.stack.project).toBe("plinth");
    });

    it("has one top-level component of each type, named by role", () => {
      const view = holder.view;
      for (const [type, name] of Object.entries(COMPONENT_TYPES)) {
        const component = view.one(type, name);
        expect(component.parent).toBeUndefined();
      }
      const topLevel = view.resources
        .filter((resource) => !resource.parent)
        .map((resource) => `${resource.type}/${resource.name}`);
      expect(topLevel.sort()).toEqual(
        [
          ...Object.entries(COMPONENT_TYPES).map(([type, name]) => `${type}/${name}`),
          "kubernetes:core/v1:Namespace/plinth-ns",
        ].sort(),
      );
    });

    it("writes the expected number of Kubernetes objects of each kind", () => {
      const view = holder.view;
      const blueGreen = view.stack.outputs.rolloutStrategy === "blue-green";
      const existing = cloud === "existing";
      const inferenceDeployments = blueGreen ? 2 : 1;
      const mlflowReplicas = existing && stack === "staging" ? 1 : 2;
      const kinds: Record<string, number> = {};
      for (const manifest of view.manifests()) kinds[manifest.kind] = (kinds[manifest.kind] ?? 0) + 1;
      expect(kinds).toEqual({
        // traefik, plinth-edge and cert-manager; auth, mlflow, monitoring and plinth.
        Namespace: 7,
        ClusterIssuer: 1,
        Deployment: 2 + inferenceDeployments,
        HorizontalPodAutoscaler: inferenceDeployments,
        PodDisruptionBudget: 1 + (mlflowReplicas > 1 ? 1 : 0) + inferenceDeployments,
        // The rate-limit store: a Service of its own on an existing cluster.
        Service: 4 + (existing ? 2 : 0),
        ServiceAccount: 4,
        // The rate-limit store's URL everywhere, and its server's credentials on an existing cluster.
        Secret: 7 + (existing ? 2 : 0),
        // Memorystore's CA, for the inference pods to trust.
        ConfigMap: 1 + (cloud === "gcp" ? 1 : 0),
        // Public API, admin routes, MLflow, Grafana, and oauth2-proxy's /oauth2 on each of the three
        // protected hosts (sessions are per host); and the HTTP-to-HTTPS redirect.
        HTTPRoute: 8,
        Gateway: 1,
        GatewayClass: 1,
        // rate-limit, auth, sign-in and their chain for each of the three protected routes; a
        // rate-limit for each of the three /oauth2 routes.
        Middleware: 15,
        // Six of plinth's workloads; eleven for the three charts' namespaces (deny by default, then
        // per pod: cert-manager's controller for its metrics); two for plinth-edge (deny, then the
        // ACME solvers).
        NetworkPolicy: 19 + (existing ? 2 : 0),
        CronJob: 2,
        ServiceMonitor: 1,
        // The edge's (Traefik's pods) and cert-manager's controller's, each with its alerts beside
        // the inference rules.
        PodMonitor: 2,
        PrometheusRule: 3,
        ...(existing ? { StatefulSet: 2, PersistentVolumeClaim: 1 } : {}),
        // The in-cluster rate-limit store's private CA and server certificate.
        ...(existing ? { Issuer: 2, Certificate: 2 } : {}),
        // EKS has no default StorageClass: the Cluster writes an encrypted gp3 one.
        ...(cloud === "aws" ? { StorageClass: 1 } : {}),
      });
      expect(view.counts()["kubernetes:helm.sh/v3:Release"]).toBe(3);
      // Six of the other components (the inference rollout's bucket key among them), and the
      // rate-limit store's AUTH password, except on gcp where Memorystore generates it.
      const storePasswords = cloud === "gcp" ? 0 : 1;
      expect(view.counts()["random:index/randomPassword:RandomPassword"]).toBe(6 + storePasswords);
    });

    it("names every child after its component and parents it to that component", () => {
      const view = holder.view;
      const componentNames = new Set(Object.values(COMPONENT_TYPES));
      for (const resource of view.resources.filter((r) => r.parent)) {
        const parent = view.parentName(resource)!;
        expect(componentNames.has(parent), `${resource.name} parent ${parent}`).toBe(true);
        expect(resource.name.startsWith(`${parent}-`), `${resource.name} under ${parent}`).toBe(true);
      }
    });

    it("creates every Kubernetes resource with the cluster's explicit provider", () => {
      const view = holder.view;
      const provider = view.one("pulumi:providers:kubernetes", "plinth-k8s");
      const kubernetes = view.resources.filter((r) => r.type.startsWith("kubernetes:"));
      expect(kubernetes.length).toBeGreaterThan(30);
      for (const resource of kubernetes) expect(resource.provider, resource.name).toBe(provider.urn);
      expect(provider.secretInputs).toContain("kubeconfig");
    });

    it("makes custom resources depend on the Helm release that installs their CRDs", () => {
      const view = holder.view;
      const certManager = view.one("kubernetes:helm.sh/v3:Release", "ingress-cert-manager");
      const kps = view.one("kubernetes:helm.sh/v3:Release", "monitoring-kube-prometheus-stack");
      expect(
        view.one("kubernetes:cert-manager.io/v1:ClusterIssuer", "ingress-issuer").dependencies,
      ).toContain(certManager.urn);
      const traefik = view.one("kubernetes:helm.sh/v3:Release", "ingress-traefik");
      const gatewayApi = view.resources.filter(
        (r) =>
          r.type.startsWith("kubernetes:gateway.networking.k8s.io/") ||
          r.type.startsWith("kubernetes:traefik.io/"),
      );
      // GatewayClass, Gateway, 8 HTTPRoutes and 15 Middlewares (the six rate limits among them).
      expect(gatewayApi.length).toBe(25);
      for (const resource of gatewayApi) expect(resource.dependencies, resource.name).toContain(traefik.urn);
      // cert-manager reads the Gateway API CRDs as it starts (config.enableGatewayAPI).
      expect(certManager.dependencies).toContain(traefik.urn);
      expect(
        view.one("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "monitoring-service-monitor")
          .dependencies,
      ).toContain(kps.urn);
      for (const [type, name] of [
        ["PrometheusRule", "monitoring-rules"],
        ["PodMonitor", "monitoring-edge-pod-monitor"],
        ["PrometheusRule", "monitoring-edge-rules"],
        ["PodMonitor", "monitoring-cert-manager-pod-monitor"],
        ["PrometheusRule", "monitoring-cert-manager-rules"],
      ])
        expect(view.one(`kubernetes:monitoring.coreos.com/v1:${type}`, name!).dependencies, name).toContain(
          kps.urn,
        );
    });

    it("pins every Helm chart to an exact version", () => {
      const releases = holder.view.ofType("kubernetes:helm.sh/v3:Release");
      expect(releases.map((r) => [r.inputs.chart, r.inputs.version]).sort()).toEqual([
        ["cert-manager", "v1.21.1"],
        ["kube-prometheus-stack", "77.12.0"],
        ["traefik", "39.0.7"],
      ]);
    });

    it("validates every Kubernetes object, custom resources included, against its OpenAPI schema", () => {
      const manifests = holder.view.manifests();
      expect(manifests.map((m) => m.kind)).toEqual(
        expect.arrayContaining([
          "ClusterIssuer",
          "Gateway",
          "GatewayClass",
          "HTTPRoute",
          "Middleware",
          "ServiceMonitor",
          "PodMonitor",
          "PrometheusRule",
          "Deployment",
          "CronJob",
        ]),
      );
      for (const manifest of manifests)
        expect(() => validateManifest(manifest), `${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
    });

    it("keeps secrets secret: outputs, Kubernetes Secrets, generated values", () => {
      const view = holder.view;
      expect(view.stack.secretOutputs.sort()).toEqual([
        "grafanaAdminPassword",
        "kubeconfig",
        "platformApiKey",
      ]);
      expect(view.stack.outputs.kubeconfig).toBe("[secret]");
      for (const secret of view.ofType("kubernetes:core/v1:Secret"))
        expect(secret.secretInputs, secret.name).toContain("stringData");
      for (const password of view.ofType("random:index/randomPassword:RandomPassword"))
        expect(password.inputs.length as number).toBeGreaterThanOrEqual(32);
      for (const configMap of view.ofType("kubernetes:core/v1:ConfigMap"))
        expect(JSON.stringify(configMap.inputs)).not.toMatch(/placeholder|mock-/);
    });

    it("hardens every pod and container, with requests, limits and split probes on long-running ones", () => {
      const specs = podSpecs(holder.view);
      expect(specs.length).toBeGreaterThanOrEqual(5);
      for (const { object, spec } of specs) {
        const where = `${object.kind} ${object.metadata.name}`;
        expect(spec.securityContext, where).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: "RuntimeDefault" },
        });
        expect(spec.automountServiceAccountToken, where).toBe(false);
        for (const container of spec.containers) {
          expect(container.securityContext, where).toEqual(HARDENED_CONTAINER_CONTEXT);
          expect(at(container, "resources.requests.cpu"), where).toBeTypeOf("string");
          expect(at(container, "resources.limits.memory"), where).toBeTypeOf("string");
          expect(String(container.image), where).toMatch(/@sha256:[a-f0-9]{64}$/);
          if (object.kind !== "CronJob") {
            expect(container.startupProbe, where).toBeDefined();
            expect(container.readinessProbe, where).toBeDefined();
            expect(container.livenessProbe, where).toBeDefined();
          }
        }
      }
    });

    it("gates the inference pods on the pod-readiness route, liveness on /health (issue #18)", () => {
      const servers = podSpecs(holder.view).flatMap(({ object, spec }) =>
        object.kind === "Deployment" ? spec.containers.filter((c) => c.name === "inference") : [],
      );
      expect(servers.length).toBeGreaterThanOrEqual(1);
      for (const server of servers) {
        expect(
          ["startupProbe", "readinessProbe", "livenessProbe"].map((probe) =>
            at(server, `${probe}.httpGet.path`),
          ),
        ).toEqual([PROBE_PATHS.podReady, PROBE_PATHS.podReady, PROBE_PATHS.live]);
      }
    });

    it("publishes only the public API paths on the public route, never a catch-all", () => {
      const route = holder.view.manifest("HTTPRoute", "plinth-inference-public-ingress");
      expect(routePaths(route).map((p) => p.value)).toEqual(PUBLIC_PATHS);
      expect(routeMiddlewares(route)).toEqual([]);
      // No edge limit per client address: the service limits each API key (its Redis store).
      expect(
        holder.view
          .manifests()
          .filter((m) => m.kind === "Middleware" && m.metadata.name!.startsWith("plinth-inference-public")),
      ).toEqual([]);
    });

    it("puts /admin, /ops, /reload-model, MLflow and Grafana behind oauth2-proxy, with TLS and HTTPS redirect everywhere", () => {
      const view = holder.view;
      const protectedRoutes = [
        "plinth-inference-admin-ingress",
        "mlflow-ingress",
        "monitoring-grafana-ingress",
      ];
      for (const name of protectedRoutes) {
        const route = view.manifest("HTTPRoute", name);
        const namespace = route.metadata.namespace!;
        expect(routeMiddlewares(route), name).toEqual([`${name}-protect`]);
        const middleware = (suffix: string) => {
          const found = view.manifest("Middleware", `${name}-${suffix}`);
          expect(found.metadata.namespace).toBe(namespace);
          return found.spec;
        };
        // MLflow has no roles of its own: only the admin groups pass oauth2-proxy there.
        const authUrl = name === "mlflow-ingress" ? `${AUTH_URL}?allowed_groups=plinth-admins` : AUTH_URL;
        expect(middleware("auth"), name).toEqual({
          forwardAuth: {
            address: authUrl,
            trustForwardHeader: false,
            authResponseHeadersRegex: "(?i)^x[-_]auth[-_]request[-_]",
            maxResponseBodySize: 65536,
            addAuthCookiesToResponse: [
              "__Host-oauth2_proxy",
              "__Host-oauth2_proxy_0",
              "__Host-oauth2_proxy_1",
              "__Host-oauth2_proxy_2",
              "__Host-oauth2_proxy_3",
            ],
          },
        });
        expect(middleware("sign-in"), name).toEqual({
          errors: {
            status: ["401"],
            statusRewrites: { "401": 302 },
            service: { name: "oauth2-proxy", namespace: "auth", port: 4180 },
            query: "/oauth2/start?rd={url}",
          },
        });
        // 50 a second, 100 at once per client address: a Grafana dashboard's burst of queries.
        expect(middleware("rate-limit"), name).toEqual(perClientLimit(50, 100));
        // The limit first: a client over it is refused before the edge asks oauth2-proxy.
        expect(middleware("protect"), name).toEqual({
          chain: {
            middlewares: [
              { name: `${name}-rate-limit` },
              { name: `${name}-sign-in` },
              { name: `${name}-auth` },
            ],
          },
        });
      }
      // Sessions per host: each protected host routes /oauth2 to the proxy and signs its users in
      // there, and the proxy's cookie is host-only.
      const protectedHosts = protectedRoutes.map((name) =>
        at(view.manifest("HTTPRoute", name), "spec.hostnames[0]"),
      );
      const signIn = view
        .manifests()
        .filter((m) => m.kind === "HTTPRoute" && m.metadata.namespace === "auth")
        .map((m) => [
          at(m, "spec.hostnames[0]"),
          routePaths(m),
          at(m, "spec.rules[0].backendRefs"),
          routeMiddlewares(m),
          view.manifest("Middleware", `${m.metadata.name}-rate-limit`).spec,
        ])
        .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
      expect(signIn).toEqual(
        [...protectedHosts].sort().map((host) => [
          host,
          [{ type: "PathPrefix", value: "/oauth2" }],
          [{ group: "", kind: "Service", name: "oauth2-proxy", port: 4180 }],
          // The sign-in flow's own, tighter limit per client address.
          [`oauth2-proxy-ingress-${String(host).split(".")[0]}-rate-limit`],
          perClientLimit(10, 20),
        ]),
      );
      const proxyArgs = at(
        view.manifest("Deployment", "oauth2-proxy"),
        "spec.template.spec.containers[0].args",
      ) as string[];
      expect(proxyArgs.filter((a) => /^--(cookie-domain|redirect-url)/.test(a))).toEqual([]);
      expect(proxyArgs).toContain("--cookie-name=__Host-oauth2_proxy");
      expect(proxyArgs.filter((a) => a.startsWith("--whitelist-domain="))).toEqual(
        protectedHosts.map((host) => `--whitelist-domain=${String(host)}`),
      );
      // Only members of a group that grants a role get through the proxy at all.
      expect(proxyArgs.filter((a) => a.startsWith("--allowed-group="))).toEqual([
        "--allowed-group=plinth-admins",
        "--allowed-group=plinth-sre",
      ]);
      const admin = view.manifest("HTTPRoute", "plinth-inference-admin-ingress");
      // The bare operator routes, then the same under the model's name (/models/<MODEL_NAME>/...),
      // the name its public route routes predictions by.
      const modelName = routePaths(view.manifest("HTTPRoute", "plinth-inference-public-ingress"))
        .map((p) => /^\/models\/([^/]+)\/predict$/.exec(p.value)?.[1])
        .find((name) => name !== undefined)!;
      expect(routePaths(admin).map((p) => p.value)).toEqual([
        "/admin",
        "/ops",
        "/reload-model",
        ...modelOperatorPaths(modelName).map((p) => p.path),
      ]);
      // Every route of a component: HTTPS only (its host's listener), HSTS on every answer, and no
      // catch-all or operator path on a public one.
      const gateway = view.manifest("Gateway", "plinth");
      const listeners = at(gateway, "spec.listeners") as {
        name: string;
        hostname?: string;
        protocol: string;
      }[];
      for (const route of view
        .manifests()
        .filter((m) => m.kind === "HTTPRoute" && m.metadata.namespace !== "plinth-edge")) {
        const name = route.metadata.name!;
        const host = at(route, "spec.hostnames[0]") as string;
        const parent = at(route, "spec.parentRefs[0]") as {
          name: string;
          namespace: string;
          sectionName: string;
        };
        expect(parent, name).toMatchObject({ name: "plinth", namespace: "plinth-edge" });
        const listener = listeners.find((l) => l.name === parent.sectionName);
        expect(listener, name).toMatchObject({ protocol: "HTTPS", hostname: host });
        expect(at(route, "spec.rules[0].filters[0]"), name).toEqual({
          type: "ResponseHeaderModifier",
          responseHeaderModifier: {
            set: [{ name: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains" }],
          },
        });
        if (!protectedRoutes.includes(name))
          expect(
            routePaths(route)
              .map((p) => p.value)
              .filter((p) => ["/", "/admin", "/ops", "/reload-model"].includes(p)),
            name,
          ).toEqual([]);
      }
      expect(at(view.manifest("HTTPRoute", "plinth-https-redirect"), "spec")).toEqual({
        parentRefs: [
          {
            group: "gateway.networking.k8s.io",
            kind: "Gateway",
            name: "plinth",
            namespace: "plinth-edge",
            sectionName: "http",
          },
        ],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/" } }],
            filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }],
          },
        ],
      });
      expect(gateway.metadata.annotations).toEqual({
        "cert-manager.io/cluster-issuer": "letsencrypt",
        "pulumi.com/waitFor": "condition=Accepted",
      });
    });

    it("exposes no Service as LoadBalancer or NodePort except through the Traefik chart", () => {
      const view = holder.view;
      for (const service of view.manifests().filter((m) => m.kind === "Service")) {
        expect(at(service, "spec.type"), service.metadata.name).toBe("ClusterIP");
      }
      const traefik = view.one("kubernetes:helm.sh/v3:Release", "ingress-traefik");
      expect(at(traefik.inputs, "values.service.type")).toBe("LoadBalancer");
      expect(at(traefik.inputs, "values.providers.kubernetesIngress.enabled")).toBe(false);
    });

    it("admits the API port only from the ingress controller and the drift check, the metrics port only from Prometheus", () => {
      const policy = holder.view.manifest("NetworkPolicy", "plinth-inference-netpol");
      expect(at(policy, "spec.policyTypes")).toEqual(["Ingress"]);
      expect(at(policy, "spec.ingress")).toEqual([
        {
          from: [
            EDGE_PROXY_PEER,
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "plinth" } },
              podSelector: {
                matchLabels: {
                  "app.kubernetes.io/name": "plinth-inference",
                  "app.kubernetes.io/component": "drift-check",
                },
              },
            },
          ],
          ports: [{ protocol: "TCP", port: 8080 }],
        },
        {
          from: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
              podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
            },
          ],
          ports: [{ protocol: "TCP", port: 9464 }],
        },
      ]);
    });

    it("isolates the CronJobs' pods: a NetworkPolicy admits nothing to them", () => {
      const view = holder.view;
      for (const role of ["drift-check", "retrain"]) {
        const cronJob = view.manifest("CronJob", `plinth-inference-${role}`);
        const policy = view.manifest("NetworkPolicy", `plinth-inference-${role}-netpol`);
        expect(at(policy, "spec")).toEqual({
          podSelector: {
            matchLabels: {
              "app.kubernetes.io/name": "plinth-inference",
              "app.kubernetes.io/component": role,
            },
          },
          policyTypes: ["Ingress"],
          ingress: [],
        });
        expect(at(cronJob, "spec.jobTemplate.spec.template.metadata.labels")).toMatchObject(
          at(policy, "spec.podSelector.matchLabels") as Record<string, string>,
        );
      }
    });

    it("gives the inference service an environment its own config loader accepts", () => {
      const view = holder.view;
      const deployments = view
        .manifests()
        .filter((m) => m.kind === "Deployment" && m.metadata.namespace === "plinth");
      expect(deployments.length).toBeGreaterThanOrEqual(1);
      for (const deployment of deployments) {
        const env = containerEnv(deployment, "spec.template.spec");
        expect(env.find((e) => e.name === "API_KEY_HASHES")?.valueFrom).toEqual({
          secretKeyRef: { name: "plinth-inference-auth", key: "api-key-hashes" },
        });
        expect(env.find((e) => e.name === "API_KEY_ROLES")?.valueFrom).toEqual({
          secretKeyRef: { name: "plinth-inference-auth", key: "api-key-roles" },
        });
        const config = loadConfig(resolveEnv(view, env, "plinth"));
        expect(config.port).toBe(8080);
        expect(config.metricsPort).toBe(9464);
        expect(config.host).toBe("0.0.0.0");
        expect(config.auth.apiKeys.map((k) => [k.identity, k.roles])).toEqual([
          ["platform", []],
          ["drift-check", ["ops-read"]],
        ]);
        // Every pod of these Deployments is behind the protected Ingress (see the NetworkPolicy test).
        expect(config.observability.ops.oidcTrustHeaders).toBe(true);
        expect(config.observability.ops.oidcAllowedEmailDomains.length).toBeGreaterThan(0);
        // Roles from the identity provider's groups (the stack file's oauth2Proxy.adminGroups, opsReadGroups).
        expect(config.observability.ops.oidcAdminGroups).toEqual(["plinth-admins"]);
        expect(config.observability.ops.oidcOpsReadGroups).toEqual(["plinth-sre"]);
        expect(config.observability.drift.warnPsi).toBeLessThan(config.observability.drift.alertPsi);
      }
    });

    it("runs the drift check from a file in the image, with the service's URL and a read-only key from its own Secret", () => {
      const view = holder.view;
      const cronJob = view.manifest("CronJob", "plinth-inference-drift-check");
      const podSpec = "spec.jobTemplate.spec.template.spec";
      const command = at(cronJob, `${podSpec}.containers[0].command`) as string[];
      // The compiled module (the suite's global setup builds dist/ as the image's build stage does).
      expect(command).toEqual(["node", "dist/service/drift/check.js"]);
      expect(existsSync(`${REPO_ROOT}${command[1]}`), command[1]).toBe(true);
      const env = containerEnv(cronJob, podSpec);
      expect(env.find((e) => e.name === "DRIFT_CHECK_API_KEY")).toEqual({
        name: "DRIFT_CHECK_API_KEY",
        valueFrom: { secretKeyRef: { name: "plinth-inference-drift-check", key: "api-key" } },
      });
      const settings = loadDriftCheckSettings(resolveEnv(view, env, "plinth"));
      expect(settings.serviceUrl).toBe("http://plinth-inference.plinth.svc.cluster.local");
      expect(at(view.manifest("Service", "plinth-inference"), "spec.ports[0].port")).toBe(80);
      // The key the check sends is the one the service knows as drift-check, with the read-only role.
      const service = servingConfig(view);
      expect(service.auth.apiKeys.find((k) => k.sha256 === hashApiKey(settings.apiKey))).toMatchObject({
        identity: "drift-check",
        roles: ["ops-read"],
      });
    });

    it("retrains from the image's Fashion-MNIST into MLflow, with flags the training job accepts", () => {
      const view = holder.view;
      const cronJob = view.manifest("CronJob", "plinth-inference-retrain");
      const podSpec = "spec.jobTemplate.spec.template.spec";
      const command = at(cronJob, `${podSpec}.containers[0].command`) as string[];
      expect(command.slice(0, 2)).toEqual(["node", "dist/service/train/main.js"]);
      expect(existsSync(`${REPO_ROOT}${command[1]}`), command[1]).toBe(true);
      // Parsed by the training job's own parsers, with the CronJob's environment.
      const env = Object.fromEntries(containerEnv(cronJob, podSpec).map((e) => [e.name, e.value]));
      const { mlflow, rest } = extractMlflowTrainArgs(command.slice(2), env);
      expect(mlflow).toMatchObject({
        trackingUri: expect.stringMatching(/^http:\/\/mlflow\./),
        experiment: RETRAIN_EXPERIMENT,
        beatChampionOn: "accuracy",
      });
      // It registers the model the service serves.
      const service = servingConfig(view);
      const options = parseTrainArgs(rest, () => undefined)!;
      expect(options).toMatchObject({
        name: service.model.name,
        outDir: RETRAIN_OUT_DIR,
        dataDir: undefined,
      });
      expect(mlflow?.trackingUri).toBe(service.model.mlflowTrackingUri);
      expectClusterHosts(view, service.model.mlflowTrackingUri!);
      // MLflow's NetworkPolicy admits the job's pods.
      const podLabels = at(cronJob, "spec.jobTemplate.spec.template.metadata.labels") as Record<
        string,
        string
      >;
      const mlflowNamespace = new URL(mlflow!.trackingUri).hostname.split(".")[1]!;
      expect(
        ingressAdmits(view, mlflowNamespace, cronJob.metadata.namespace!, podLabels),
        `no NetworkPolicy in ${mlflowNamespace} admits ${JSON.stringify(podLabels)}`,
      ).toBe(true);
      // The data: the default folder, where the image's dataset-fashion-mnist package puts it.
      expect(DEBIAN_FASHION_MNIST_DIR).toBe("/usr/share/datasets/fashion-mnist");
      // Its artifacts go to the job's /tmp scratch volume (the root filesystem is read-only).
      const mounts = at(cronJob, `${podSpec}.containers[0].volumeMounts`) as { mountPath: string }[];
      expect(RETRAIN_OUT_DIR.startsWith(`${mounts[0]!.mountPath}/`)).toBe(true);
    });

    it("gives the scheduled jobs only what they read, and no oauth2-proxy trust", () => {
      const view = holder.view;
      const podSpec = "spec.jobTemplate.spec.template.spec";
      const driftCheck = containerEnv(view.manifest("CronJob", "plinth-inference-drift-check"), podSpec);
      expect(driftCheck.map((e) => e.name)).toEqual(["DRIFT_CHECK_SERVICE_URL", "DRIFT_CHECK_API_KEY"]);
      // Its own ServiceAccount: none of the serving pods' cloud identity, no API token.
      const driftAccount = at(
        view.manifest("CronJob", "plinth-inference-drift-check"),
        `${podSpec}.serviceAccountName`,
      );
      expect(driftAccount).toBe("plinth-inference-drift-check");
      // MLflow admits the pods that use it (serving, retrain), not the drift check: its artifact
      // proxy writes to the bucket for any client it admits.
      const driftPods = at(
        view.manifest("CronJob", "plinth-inference-drift-check"),
        "spec.jobTemplate.spec.template.metadata.labels",
      ) as Record<string, string>;
      expect(ingressAdmits(view, "mlflow", "plinth", driftPods)).toBe(false);
      const servingPods = at(servingDeployment(view), "spec.template.metadata.labels") as Record<
        string,
        string
      >;
      expect(ingressAdmits(view, "mlflow", "plinth", servingPods)).toBe(true);
      const account = view.manifest("ServiceAccount", "plinth-inference-drift-check");
      expect(at(account, "automountServiceAccountToken")).toBe(false);
      expect(at(account, "metadata.annotations") ?? {}).toEqual({});
      const retrain = containerEnv(view.manifest("CronJob", "plinth-inference-retrain"), podSpec);
      const mlflow = containerEnv(servingDeployment(view), "spec.template.spec").find(
        (e) => e.name === "MLFLOW_TRACKING_URI",
      );
      expect(mlflow?.value).toMatch(/^http:\/\/mlflow\./);
      expect(retrain).toEqual([mlflow]);
    });

    it("scales the inference service on CPU only", () => {
      for (const hpa of holder.view.manifests().filter((m) => m.kind === "HorizontalPodAutoscaler")) {
        expect((at(hpa, "spec.metrics") as unknown[]).length).toBe(1);
        expect(at(hpa, "spec.metrics[0].resource.name")).toBe("cpu");
      }
    });

    it("scrapes the metrics Service through a ServiceMonitor on the metrics port", () => {
      const view = holder.view;
      const monitor = view.manifest("ServiceMonitor", "plinth-inference");
      const metricsService = view.manifest("Service", "plinth-inference-metrics");
      // One ServiceMonitor for every model's metrics Service: here the one model's.
      expect(at(monitor, "spec.selector")).toEqual({
        matchLabels: { "app.kubernetes.io/component": "metrics" },
        matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["plinth-inference"] }],
      });
      expect(metricsService.metadata.labels).toMatchObject({
        "app.kubernetes.io/name": "plinth-inference",
        "app.kubernetes.io/component": "metrics",
      });
      expect(at(monitor, "spec.endpoints[0].port")).toBe("metrics");
      expect(at(metricsService, "spec.ports")).toEqual([
        { name: "metrics", port: 9464, targetPort: "metrics", protocol: "TCP" },
      ]);
      const api = view.manifest("Service", "plinth-inference");
      expect((at(api, "spec.ports") as { name: string }[]).map((p) => p.name)).toEqual(["http"]);
    });

    it("ships the dashboard as a ConfigMap labelled for Grafana's sidecar", () => {
      const dashboard = holder.view.manifest("ConfigMap", "dashboard-plinth-inference");
      expect(dashboard.metadata.labels?.grafana_dashboard).toBe("1");
      const json = (dashboard.data as Record<string, string>)["plinth-inference.json"];
      expect(JSON.parse(json ?? "{}").uid).toBe("plinth-inference");
    });
  });
}

/** Cloud resources and Kubernetes objects that hold state. */
export function statefulResources(view: StackView) {
  return view.resources.filter((resource) =>
    [
      "aws:rds/instance:Instance",
      "aws:s3/bucket:Bucket",
      "aws:kms/key:Key",
      "gcp:sql/databaseInstance:DatabaseInstance",
      "gcp:storage/bucket:Bucket",
      "gcp:container/cluster:Cluster",
      "kubernetes:apps/v1:StatefulSet",
      "kubernetes:core/v1:PersistentVolumeClaim",
    ].includes(resource.type),
  );
}
