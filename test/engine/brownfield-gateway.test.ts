/**
 * The local brownfield cluster's edge, without plinth's program: the real Traefik (built by the
 * test-tools script) runs as the cluster's Gateway API controller against the local control plane,
 * with the Gateway API and Traefik CRDs from their modules and the GatewayClass its owners made,
 * and the stand-in cert-manager issues listener certificates. A Gateway, HTTPRoutes and a Middleware
 * written here, as plinth writes its own, are judged by Traefik itself: accepted, refused with the
 * reason, and routed (TLS with the brownfield CA, the HTTP redirect, a Middleware applied).
 */
import { createServer, type Server } from "node:http";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCluster, type LocalCluster } from "../../stack/cluster/cluster.js";
import {
  BROWNFIELD_WORKLOADS,
  conditionIs,
  CRDS,
  GATEWAY_API,
  prepareBrownfield,
  type Brownfield,
  type Condition,
} from "../../stack/engine/brownfield.js";
import { BROWNFIELD, GATEWAY_CONTROLLER } from "../../stack/engine/local-config.js";
import { traefikArgs } from "../../stack/engine/traefik.js";
import { TRAEFIK_CONTROLLER_NAME, TRAEFIK_ENTRY_POINTS } from "../../components/gateway/traefik.js";
import { throughTraefik } from "../support/through-traefik.js";
import { until } from "../support/until.js";

const NS = "edge-check";
const HOST = "check.plinth.test";

let cluster: LocalCluster;
let brownfield: Brownfield;
/** A real backend on this machine's own (non-loopback) address: EndpointSlices refuse 127/8. */
let backend: Server;
let backendAddress: { ip: string; port: number };

interface RouteStatus {
  status?: {
    parents?: {
      parentRef: { name: string; sectionName?: string };
      controllerName: string;
      conditions: Condition[];
    }[];
  };
}
interface GatewayStatus {
  status?: {
    conditions?: Condition[];
    addresses?: { value: string }[];
    listeners?: { name: string; attachedRoutes: number; conditions: Condition[] }[];
  };
}

/** One request to Traefik's entry point, for `HOST` (SNI and Host), verified against the brownfield CA. */
const fetchThroughTraefik = (url: string, pathname: string) =>
  throughTraefik(url, HOST, pathname, brownfield.caPem);

function route(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace: NS },
    spec,
  };
}

beforeAll(async () => {
  const ip = Object.values(networkInterfaces())
    .flat()
    .find((i) => i?.family === "IPv4" && !i.internal)?.address;
  if (ip === undefined) throw new Error("no non-loopback IPv4 address here for the test backend");
  backend = createServer((req, res) => res.end(`backend saw ${req.headers.host} ${req.url}`));
  await new Promise<void>((resolve) => backend.listen(0, ip, resolve));
  backendAddress = { ip, port: (backend.address() as { port: number }).port };
  cluster = await startLocalCluster();
  brownfield = await prepareBrownfield(cluster, { intervalMs: 200 });
}, 5 * 60_000);

afterAll(async () => {
  await brownfield?.stop().catch(() => undefined);
  await cluster?.stop();
  backend?.close();
}, 2 * 60_000);

describe("the brownfield cluster's Gateway controller: the real Traefik", { timeout: 3 * 60_000 }, () => {
  it("listens on the ports plinth's Gateway listeners name, and the flags say what the brownfield needs", () => {
    const args = traefikArgs({ address: "127.1.2.3", pingPort: 9999, accessLogFile: "/x/access.log" });
    expect(args).toContain(`--entryPoints.web.address=127.1.2.3:${TRAEFIK_ENTRY_POINTS.web.port}`);
    expect(args).toContain(
      `--entryPoints.websecure.address=127.1.2.3:${TRAEFIK_ENTRY_POINTS.websecure.port}`,
    );
    expect(args).toEqual(
      expect.arrayContaining([
        "--providers.kubernetesGateway=true",
        "--providers.kubernetesCRD=true",
        "--providers.kubernetesCRD.allowCrossNamespace=true",
      ]),
    );
    expect(brownfield.traefik.webUrl).toMatch(
      new RegExp(`^http://127\\.[0-9.]+:${TRAEFIK_ENTRY_POINTS.web.port}$`),
    );
    expect(brownfield.traefik.websecureUrl).toMatch(
      new RegExp(`^https://127\\.[0-9.]+:${TRAEFIK_ENTRY_POINTS.websecure.port}$`),
    );
  });

  it("has every CRD it needs established, and the GatewayClass accepted by Traefik", async () => {
    const crds = await cluster.api.get<{ items: { metadata: { name: string } }[] }>(
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    );
    const names = crds.items.map((c) => c.metadata.name);
    for (const file of Object.values(CRDS).flat())
      expect(names).toContain(file.replace(/^([^_]+)_(.+)\.yaml$/, "$2.$1"));
    const gatewayClass = await cluster.api.get<{
      spec: { controllerName: string };
      status: { conditions: Condition[] };
    }>(`${GATEWAY_API}/gatewayclasses/${GATEWAY_CONTROLLER.gatewayClassName}`);
    expect(gatewayClass.spec.controllerName).toBe(TRAEFIK_CONTROLLER_NAME);
    expect(conditionIs(gatewayClass.status.conditions, "Accepted", "True")).toBe(true);
    // The controller's stand-in pods, the NetworkPolicy peer plinth admits, run in its namespace.
    const controller = BROWNFIELD_WORKLOADS.find((w) => w.namespace === GATEWAY_CONTROLLER.namespace)!;
    const pods = await cluster.api.get<{ items: { metadata: { labels: Record<string, string> } }[] }>(
      `/api/v1/namespaces/${controller.namespace}/pods`,
    );
    expect(pods.items.map((p) => p.metadata.labels)).toContainEqual(
      expect.objectContaining(GATEWAY_CONTROLLER.podLabels),
    );
  });

  it("accepts and programs a Gateway whose listener certificate the stand-in cert-manager issued; routes, refuses a missing backend, redirects and applies a Middleware", async () => {
    const { api } = cluster;
    await api.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    const labels = { app: "echo" };
    await api.post(`/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "echo", namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: "echo", image: "brownfield.invalid/echo:local" }] },
        },
      },
    });
    await api.post(`/api/v1/namespaces/${NS}/services`, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "echo", namespace: NS },
      spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    });
    // The real backend: a Service without selector, its EndpointSlice written here.
    await api.post(`/api/v1/namespaces/${NS}/services`, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "local", namespace: NS },
      spec: { ports: [{ name: "http", port: 80, targetPort: backendAddress.port }] },
    });
    await api.post(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "local-1", namespace: NS, labels: { "kubernetes.io/service-name": "local" } },
      addressType: "IPv4",
      ports: [{ name: "http", port: backendAddress.port, protocol: "TCP" }],
      endpoints: [{ addresses: [backendAddress.ip], conditions: { ready: true } }],
    });
    await api.post(`${GATEWAY_API}/namespaces/${NS}/gateways`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: {
        name: "check",
        namespace: NS,
        annotations: { "cert-manager.io/cluster-issuer": BROWNFIELD.certManager.clusterIssuer },
      },
      spec: {
        gatewayClassName: GATEWAY_CONTROLLER.gatewayClassName,
        listeners: [
          { name: "http", port: TRAEFIK_ENTRY_POINTS.web.port, protocol: "HTTP", hostname: HOST },
          {
            name: "https",
            port: TRAEFIK_ENTRY_POINTS.websecure.port,
            protocol: "HTTPS",
            hostname: HOST,
            tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: "check-tls" }] },
          },
        ],
      },
    });
    await api.post(`/apis/traefik.io/v1alpha1/namespaces/${NS}/middlewares`, {
      apiVersion: "traefik.io/v1alpha1",
      kind: "Middleware",
      metadata: { name: "only-cluster", namespace: NS },
      spec: { ipAllowList: { sourceRange: ["10.0.0.0/8"] } },
    });
    const routes = [
      route("redirect", {
        parentRefs: [{ name: "check", sectionName: "http" }],
        rules: [
          { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] },
        ],
      }),
      route("app", {
        parentRefs: [{ name: "check", sectionName: "https" }],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/" } }],
            backendRefs: [{ name: "local", port: 80 }],
          },
        ],
      }),
      route("pods", {
        parentRefs: [{ name: "check", sectionName: "https" }],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/pods" } }],
            backendRefs: [{ name: "echo", port: 80 }],
          },
        ],
      }),
      route("guarded", {
        parentRefs: [{ name: "check", sectionName: "https" }],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/guarded" } }],
            filters: [
              {
                type: "ExtensionRef",
                extensionRef: { group: "traefik.io", kind: "Middleware", name: "only-cluster" },
              },
            ],
            backendRefs: [{ name: "local", port: 80 }],
          },
        ],
      }),
      route("wrong", {
        parentRefs: [{ name: "check", sectionName: "https" }],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/wrong" } }],
            backendRefs: [{ name: "missing", port: 80 }],
          },
        ],
      }),
    ];
    for (const r of routes) await api.post(`${GATEWAY_API}/namespaces/${NS}/httproutes`, r);

    // cert-manager's part: the listener's Secret, from the ClusterIssuer's CA.
    const secret = await until(
      "the listener's TLS Secret",
      () =>
        api.request<{ type: string; data: Record<string, string> }>(
          "GET",
          `/api/v1/namespaces/${NS}/secrets/check-tls`,
        ),
      (r) => r.status === 200,
    );
    expect(secret.body.type).toBe("kubernetes.io/tls");
    expect(Buffer.from(secret.body.data["ca.crt"]!, "base64").toString()).toBe(brownfield.caPem);

    // Traefik's part: the Gateway accepted and programmed, at its address.
    const gateway = await until(
      "Gateway check Accepted and Programmed",
      () => api.get<GatewayStatus>(`${GATEWAY_API}/namespaces/${NS}/gateways/check`),
      (g) =>
        conditionIs(g.status?.conditions, "Accepted", "True") &&
        conditionIs(g.status?.conditions, "Programmed", "True"),
    );
    expect(gateway.status?.addresses?.map((a) => a.value)).toEqual([brownfield.traefik.address]);
    for (const listener of gateway.status?.listeners ?? [])
      expect(conditionIs(listener.conditions, "ResolvedRefs", "True"), listener.name).toBe(true);

    const parentConditions = async (name: string) => {
      const got = await until(
        `HTTPRoute ${name} status`,
        () => api.get<RouteStatus>(`${GATEWAY_API}/namespaces/${NS}/httproutes/${name}`),
        (r) => (r.status?.parents?.length ?? 0) > 0,
      );
      const parent = got.status!.parents![0]!;
      expect(parent.controllerName).toBe(TRAEFIK_CONTROLLER_NAME);
      return parent.conditions;
    };
    for (const name of ["redirect", "app", "pods", "guarded"]) {
      const conditions = await parentConditions(name);
      expect(conditionIs(conditions, "Accepted", "True"), name).toBe(true);
      expect(conditionIs(conditions, "ResolvedRefs", "True"), name).toBe(true);
    }
    // The wrong object: a backend that does not exist is reported by the controller, so the
    // assertions above can fail.
    const wrong = await parentConditions("wrong");
    expect(wrong.find((c) => c.type === "ResolvedRefs")).toMatchObject({
      status: "False",
      reason: "BackendNotFound",
    });

    // Routing, through the real proxy. Status is written before the routers are live: until then,
    // 404. HTTP answers with the redirect to HTTPS.
    const redirect = await until(
      "the redirect route live",
      () => fetchThroughTraefik(brownfield.traefik.webUrl, "/any?x=1"),
      (r) => r.status !== 404,
    );
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe(`https://${HOST}/any?x=1`);
    // HTTPS with the listener's certificate (verified against the brownfield CA, by SNI), to the backend.
    const routed = await until(
      "the HTTPS route live",
      () => fetchThroughTraefik(brownfield.traefik.websecureUrl, "/hello"),
      (r) => r.status !== 404,
    );
    expect(routed).toMatchObject({ status: 200, body: `backend saw ${HOST} /hello` });
    // The Middleware of the ExtensionRef filter applies: loopback is not in 10.0.0.0/8.
    // (Until the Middleware is live the route is left out, and "/" answers: wait for the 403.)
    const guarded = await until(
      "the guarded route live",
      () => fetchThroughTraefik(brownfield.traefik.websecureUrl, "/guarded"),
      (r) => r.status === 403,
    );
    expect(guarded.status).toBe(403);
    // A route to kwok's pods is sent to a pod's address (no process listens there: whatever answers).
    const pods = await api.get<{ items: { status: { podIP: string } }[] }>(
      `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Decho`,
    );
    const podsRouter = new RegExp(`^httproute-${NS}-pods-`);
    const served = await until(
      "the pods route in the access log",
      async () => {
        await fetchThroughTraefik(brownfield.traefik.websecureUrl, "/pods").catch(() => undefined);
        return (await brownfield.traefik.accessLog()).findLast((e) => e.RequestPath === "/pods");
      },
      (entry) => podsRouter.test(entry?.RouterName ?? ""),
    );
    expect(served).toMatchObject({
      RequestHost: HOST,
      ServiceURL: `http://${pods.items[0]!.status.podIP}:8080`,
    });
    // The route to the missing backend is kept, and answers with an error (once live; "/" before).
    const wrongServed = await until(
      "the wrong route live",
      () => fetchThroughTraefik(brownfield.traefik.websecureUrl, "/wrong"),
      (r) => r.status !== 200,
    );
    expect(wrongServed.status).toBeGreaterThanOrEqual(500);
    expect(brownfield.failure()).toBeUndefined();
  });

  it("stops Traefik with the brownfield, freeing its ports", async () => {
    const { process: traefik, address } = brownfield.traefik;
    await brownfield.stop();
    expect(traefik.hasExited).toBe(true);
    expect(traefik.stopRequested).toBe(true);
    await expect(
      fetchThroughTraefik(`http://${address}:${TRAEFIK_ENTRY_POINTS.web.port}`, "/"),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});
