/**
 * Component APIs on their own, under the mock runtime: argument conflicts raise ResourceErrors
 * with a message that says what to fix, a hardening is weakened only when named, and the pure
 * helpers (CIDR carving, IRSA trust, auth annotations, GCP account ids) compute the right values.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { HARDENED_CONTAINER_CONTEXT } from "../support/hardening.js";
import { InferenceService, type InferenceServiceArgs } from "../../components/inference/index.js";
import { plinthMocks } from "../../infra/render/mocks.js";
import { subnetCidr } from "../../components/cluster/cidr.js";
import { irsaTrustPolicy } from "../../components/cluster/irsa.js";
import { serviceAccountId } from "../../components/mlflow/gcp.js";
import { GatewayEdge } from "../../components/gateway/index.js";
import { IngressTls } from "../../components/ingress-tls/index.js";
import { Monitoring } from "../../components/monitoring/index.js";
import { oauth2ProxyEndpoint, protectedIngressAnnotations } from "../../components/oauth2-proxy/contract.js";
import { OAuth2Proxy } from "../../components/oauth2-proxy/index.js";
import type { Edge } from "../../components/shared/edge.js";
import type { Peer } from "../../components/shared/network-policy.js";
import { hardenedContainer, hardenedPodSpec, httpProbes } from "../../components/shared/workload.js";
import { validateManifest } from "../support/k8s-models.js";

const DIGEST = `ghcr.io/plinth-ml/plinth@sha256:${"a".repeat(64)}`;
const resources = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "256Mi" } };

let provider: k8s.Provider;

/** An edge that publishes nothing: the component tests are about the components' own arguments. */
const stubEdge = (peer: Peer = { namespace: "ingress-nginx", podLabels: { app: "nginx" } }): Edge => ({
  controllerPeer: peer,
  publish: () => [],
});

beforeAll(async () => {
  await pulumi.runtime.setMocks(plinthMocks, "plinth", "components", false);
  provider = new k8s.Provider("test-k8s", { kubeconfig: "{}" });
});

function inferenceArgs(
  rollout: Partial<InferenceServiceArgs["rollout"]>,
  extra: Partial<InferenceServiceArgs> = {},
): InferenceServiceArgs {
  const peer = { namespace: "x", podLabels: { a: "b" } };
  return {
    provider,
    namespace: "plinth",
    image: DIGEST,
    modelName: "fashion-mnist",
    rollout: { strategy: "single", stable: { modelVersion: "champion" }, ...rollout },
    replicas: { min: 2, max: 4 },
    targetCpuUtilization: 70,
    resources,
    mlflowTrackingUri: "http://mlflow:5000",
    allowedEmailDomains: ["example.com"],
    adminGroups: ["plinth-admins"],
    drift: { schedule: "*/15 * * * *", warnPsi: 0.1, alertPsi: 0.2 },
    retrain: { schedule: "0 3 * * 0", resources },
    domain: "ml.example.com",
    edge: stubEdge(peer),
    prometheusPeer: peer,
    ...extra,
  };
}

describe("InferenceService argument errors", () => {
  const cases: [string, Partial<InferenceServiceArgs["rollout"]>, Partial<InferenceServiceArgs>, string][] = [
    [
      "an image by tag",
      {},
      { image: "ghcr.io/plinth-ml/plinth:latest" },
      "image must be pinned by digest; got ghcr.io/plinth-ml/plinth:latest",
    ],
    [
      "min replicas above max",
      {},
      { replicas: { min: 5, max: 2 } },
      "replicas.min (5) exceeds replicas.max (2)",
    ],
    ["a canary without candidate", { strategy: "canary" }, {}, "strategy canary needs rollout.candidate"],
    [
      "a canary weight of 150",
      { strategy: "canary", candidate: { modelVersion: "7", weight: 150 } },
      {},
      "candidate.weight must be between 0 and 100; got 150",
    ],
    [
      "a shadow without share",
      { strategy: "shadow", candidate: { modelVersion: "7" } },
      {},
      "candidate.shadowPercent must be between 0 and 100; got undefined",
    ],
    [
      "single with a candidate",
      { candidate: { modelVersion: "7" } },
      {},
      "strategy single takes no candidate",
    ],
    [
      "blue-green without colours",
      { strategy: "blue-green" },
      {},
      "strategy blue-green needs rollout.blueGreen",
    ],
    [
      "colours on a canary",
      {
        strategy: "canary",
        candidate: { modelVersion: "7", weight: 5 },
        blueGreen: { active: "blue", blue: { modelVersion: "1" }, green: { modelVersion: "2" } },
      },
      {},
      "rollout.blueGreen is only for strategy blue-green; got canary",
    ],
  ];
  it.each(cases)("rejects %s", (_title, rollout, extra, message) => {
    let caught: unknown;
    try {
      new InferenceService(`bad-${_title.replace(/\W+/g, "-")}`, inferenceArgs(rollout, extra));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(pulumi.ResourceError);
    expect((caught as Error).message).toBe(message);
  });
});

describe("OAuth2Proxy argument errors", () => {
  const base = {
    image: DIGEST,
    hosts: ["api.ml.example.com", "mlflow.ml.example.com"],
    oidc: { issuerUrl: "https://login.example.com", clientId: "plinth", clientSecret: pulumi.secret("s") },
    allowedEmailDomains: ["example.com"],
    allowedGroups: ["plinth-admins"],
    edge: stubEdge(),
  };
  it("refuses no hosts, or two hosts whose Ingresses would share a name", () => {
    expect(() => new OAuth2Proxy("no-hosts", { ...base, provider, hosts: [] })).toThrow(
      "hosts must be at least one, with distinct first labels; got []",
    );
    expect(
      () =>
        new OAuth2Proxy("same-label", {
          ...base,
          provider,
          hosts: ["api.a.example.com", "api.b.example.com"],
        }),
    ).toThrow(
      "hosts must be at least one, with distinct first labels; got [api.a.example.com, api.b.example.com]",
    );
  });
  it("refuses an empty group allowlist", () => {
    expect(() => new OAuth2Proxy("no-groups", { ...base, provider, allowedGroups: [] })).toThrow(
      "allowedGroups must not be empty: every signed-in user of the domains would reach the admin surfaces",
    );
  });
  it("refuses an empty email-domain allowlist", () => {
    expect(() => new OAuth2Proxy("no-domains", { ...base, provider, allowedEmailDomains: [] })).toThrow(
      "allowedEmailDomains must not be empty: it would admit every account of the issuer",
    );
  });
  it("refuses a plain-http issuer", () => {
    expect(
      () =>
        new OAuth2Proxy("http-issuer", {
          ...base,
          provider,
          oidc: { ...base.oidc, issuerUrl: "http://login.example.com" },
        }),
    ).toThrow("oidc.issuerUrl must be https; got http://login.example.com");
  });
});

describe("chart webhooks need the API server's addresses", () => {
  const acme = { email: "ops@example.com", server: "https://acme-v02.api.letsencrypt.org/directory" };
  const auth = oauth2ProxyEndpoint("oauth2-proxy");
  it("IngressTls refuses to install ingress-nginx or cert-manager with no apiServerSources", () => {
    expect(
      () => new IngressTls("no-sources", { provider, cloud: "existing", acme, apiServerSources: [], auth }),
    ).toThrow("apiServerSources: the charts' admission webhooks need the CIDRs the API server calls from");
  });
  it("IngressTls needs none when both charts are the cluster's", () => {
    const reuse = {
      controller: {
        implementation: "ingress-nginx" as const,
        className: "nginx",
        namespace: "ingress-nginx",
        podLabels: { app: "nginx" },
      },
      certManager: { clusterIssuer: "ca" },
    };
    expect(
      () =>
        new IngressTls("all-reused", {
          provider,
          cloud: "existing",
          acme,
          apiServerSources: [],
          auth,
          reuse,
        }),
    ).not.toThrow();
  });
  it("Monitoring refuses to install kube-prometheus-stack with no apiServerSources", () => {
    const peer = { namespace: "ingress-nginx", podLabels: { app: "nginx" } };
    expect(
      () =>
        new Monitoring("no-sources", {
          provider,
          retention: "15d",
          storageGb: 10,
          receivers: {},
          slo: { availability: 0.999, latency: 0.99, latencyThresholdSeconds: 0.25 },
          drift: [{ model: "fashion-mnist", alertPsi: 0.2 }],
          target: { namespace: "plinth", serviceSelector: { matchLabels: { a: "b" } }, port: "metrics" },
          domain: "ml.example.com",
          edge: stubEdge(peer),
          apiServerSources: [],
        }),
    ).toThrow("apiServerSources: the operator's admission webhook needs the CIDRs the API server calls from");
  });
});

describe("GatewayEdge argument errors", () => {
  const base = {
    cloud: "existing" as const,
    acme: { email: "ops@example.com", server: "https://acme-v02.api.letsencrypt.org/directory" },
    apiServerSources: [{ cidr: "10.0.0.0/8" }],
    hosts: [
      { host: "api.ml.example.com", routeNamespaces: ["plinth", "auth"] },
      { host: "mlflow.ml.example.com", routeNamespaces: ["mlflow", "auth"] },
    ],
    auth: oauth2ProxyEndpoint("oauth2-proxy"),
  };
  const on = (...hosts: string[]) => hosts.map((host) => ({ host, routeNamespaces: ["plinth"] }));
  const cases: [string, Partial<typeof base>, string][] = [
    [
      "two hosts of one first label (one listener name)",
      { hosts: on("api.a.example.com", "api.b.example.com") },
      "hosts must be at least one, with distinct first labels (each names a listener); got [api.a.example.com, api.b.example.com]",
    ],
    [
      "a host no namespace may attach a route to",
      { hosts: [{ host: "api.ml.example.com", routeNamespaces: [] }] },
      "hosts: no namespace could attach a route to api.ml.example.com (routeNamespaces is empty)",
    ],
    [
      "no apiServerSources for the cert-manager it installs",
      { apiServerSources: [] },
      "apiServerSources: cert-manager's admission webhook needs the CIDRs the API server calls from",
    ],
    [
      "a plain-http ACME directory",
      { acme: { email: "ops@example.com", server: "http://acme.example.com" } },
      "acme.server must be an https ACME directory URL; got http://acme.example.com",
    ],
  ];
  it.each(cases)("refuses %s", (title, extra, message) => {
    let caught: unknown;
    try {
      new GatewayEdge(`bad-${title.replace(/\W+/g, "-")}`, { ...base, ...extra, provider });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(pulumi.ResourceError);
    expect((caught as Error).message).toBe(message);
  });
  it("refuses to publish a host that has no listener", () => {
    const edge = new GatewayEdge("publish-host", { ...base, provider });
    expect(() =>
      edge.publish(
        "stray",
        {
          namespace: "plinth",
          host: "grafana.ml.example.com",
          paths: [{ path: "/", pathType: "Prefix" }],
          serviceName: "grafana",
          servicePort: { number: 80 },
          labels: {},
          tlsSecretName: "grafana-tls",
        },
        { provider },
      ),
    ).toThrow(
      "stray: host grafana.ml.example.com has no listener on the Gateway (hosts: api.ml.example.com, mlflow.ml.example.com)",
    );
  });
  it.each([
    // Traefik reads an average of 0 as no limit at all: a route that asks for one must get one.
    [{ average: 0, burst: 20 }, "average must be a whole number of requests, at least 1; got 0"],
    [{ average: 10, burst: 0.5 }, "burst must be a whole number of requests, at least 1; got 0.5"],
  ])("refuses a per-client rate limit Traefik would misread: %j", (perClientRateLimit, message) => {
    const edge = new GatewayEdge(`publish-limit-${perClientRateLimit.burst}`, { ...base, provider });
    let caught: unknown;
    try {
      edge.publish(
        "sign-in",
        {
          namespace: "auth",
          host: "api.ml.example.com",
          paths: [{ path: "/oauth2", pathType: "Prefix" }],
          serviceName: "oauth2-proxy",
          servicePort: { number: 4180 },
          labels: {},
          tlsSecretName: "api-tls",
          perClientRateLimit,
        },
        { provider },
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(pulumi.ResourceError);
    expect((caught as Error).message).toBe(`sign-in: perClientRateLimit: rate limit ${message}`);
  });
});

describe("secure defaults", () => {
  it("hardens a container unless a hardening is switched off by name", () => {
    const secure = hardenedContainer({
      name: "c",
      image: DIGEST,
      resources,
      probes: httpProbes("http", "/ready", "/health"),
    });
    expect(secure.securityContext).toEqual(HARDENED_CONTAINER_CONTEXT);
    const weakened = hardenedContainer({
      name: "c",
      image: DIGEST,
      resources,
      weaken: ["writable-root-filesystem", "unconfined-seccomp"],
    });
    expect(weakened.securityContext).toMatchObject({
      readOnlyRootFilesystem: false,
      seccompProfile: { type: "Unconfined" },
      allowPrivilegeEscalation: false,
    });
  });

  it("splits probes: startup and readiness on /ready, liveness on /health", () => {
    const probes = httpProbes("http", "/ready", "/health");
    expect(
      [probes.startup.httpGet, probes.readiness.httpGet, probes.liveness.httpGet].map(
        (g) => (g as { path: string }).path,
      ),
    ).toEqual(["/ready", "/ready", "/health"]);
    expect(probes.startup.failureThreshold).toBe(60);
  });

  it("runs pods as a non-root user, without host namespaces or a mounted token", () => {
    const pod = hardenedPodSpec({ containers: [], spreadBy: { app: "x" } });
    expect(pod).toMatchObject({
      automountServiceAccountToken: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      securityContext: { runAsUser: 10001, runAsNonRoot: true },
    });
    expect((pod.topologySpreadConstraints as { topologyKey: string }[]).map((c) => c.topologyKey)).toEqual([
      "topology.kubernetes.io/zone",
      "kubernetes.io/hostname",
    ]);
  });
});

describe("schema validation of manifests", () => {
  it("rejects a manifest that breaks its schema, and kinds it has no model for", () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "x" },
      spec: { selector: {}, template: {} },
    };
    expect(() => validateManifest(deployment)).not.toThrow();
    expect(() => validateManifest({ ...deployment, spec: { ...deployment.spec, replicas: "two" } })).toThrow(
      /replicas/,
    );
    expect(() =>
      validateManifest({
        apiVersion: "cert-manager.io/v1",
        kind: "ClusterIssuer",
        metadata: { name: "x" },
        spec: { acme: { server: 1 } },
      }),
    ).toThrow();
    expect(() => validateManifest({ apiVersion: "example.com/v1", kind: "Widget" })).toThrow(
      "no schema model for example.com/v1/Widget",
    );
  });
});

describe("helpers", () => {
  it("carves subnets out of a VPC range", () => {
    expect(subnetCidr("10.20.0.0/16", 4, 0)).toBe("10.20.0.0/20");
    expect(subnetCidr("10.20.0.0/16", 4, 2)).toBe("10.20.32.0/20");
    expect(subnetCidr("10.20.0.0/16", 4, 15)).toBe("10.20.240.0/20");
    expect(() => subnetCidr("10.20.0.0/16", 4, 16)).toThrow("subnet 16 of /20 does not fit in 10.20.0.0/16");
  });

  it("lets exactly one ServiceAccount assume an IRSA role", () => {
    const policy = JSON.parse(
      irsaTrustPolicy(
        "arn:aws:iam::1:oidc-provider/oidc.example/id/X",
        "https://oidc.example/id/X",
        "plinth",
        "plinth-inference",
      ),
    );
    expect(policy.Statement[0]).toEqual({
      Effect: "Allow",
      Principal: { Federated: "arn:aws:iam::1:oidc-provider/oidc.example/id/X" },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: {
          "oidc.example/id/X:sub": "system:serviceaccount:plinth:plinth-inference",
          "oidc.example/id/X:aud": "sts.amazonaws.com",
        },
      },
    });
  });

  it("writes the nginx external-auth annotations", () => {
    expect(
      protectedIngressAnnotations("http://auth/oauth2/auth", "https://auth.example.com/oauth2/start"),
    ).toEqual({
      "nginx.ingress.kubernetes.io/auth-url": "http://auth/oauth2/auth",
      "nginx.ingress.kubernetes.io/auth-signin": "https://auth.example.com/oauth2/start",
      "nginx.ingress.kubernetes.io/auth-response-headers":
        "X-Auth-Request-User,X-Auth-Request-Email,X-Auth-Request-Groups",
    });
  });

  it("keeps Google service account ids within 30 characters, stably", () => {
    expect(serviceAccountId("mlflow-server")).toBe("mlflow-server");
    const long = serviceAccountId("mlflow-plinth-inference-training");
    expect(long).toHaveLength(30);
    expect(long).toMatch(/^mlflow-plinth-inference-[0-9a-f]{6}$/);
    expect(serviceAccountId("mlflow-plinth-inference-training")).toBe(long);
  });
});
