/**
 * plinth's own program under the real Pulumi engine against a real Kubernetes control plane: the
 * `pulumi` CLI (v3.248.0, built from its module), plinth's TypeScript language host, the Kubernetes
 * provider and plinth's random provider, applying the `local` stack (staging on an existing cluster
 * that already runs a Gateway API controller, cert-manager and a Prometheus operator) to etcd +
 * kube-apiserver (Pod Security Admission on) + controller-manager + scheduler + kwok nodes. The
 * Gateway API controller is the real Traefik (stack/engine/traefik.ts): it judges plinth's Gateway,
 * HTTPRoutes and Middlewares, writes their status and routes requests through them.
 *
 * One cluster for the file, and the steps in order, as a platform engineer takes them: a fresh
 * `pulumi up`, a second one that changes nothing, a release step by `npm run promote` previewed and
 * applied, its rollback, `pulumi refresh` with no drift, `pulumi destroy` leaving nothing behind.
 * Containers never run (kwok reports pods Running and Ready): what is tested is what the engine, the
 * provider, the API server and the edge controller do with plinth's objects, not the images.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_ENV } from "../../components/inference/env.js";
import { PROBE_PATHS } from "../../service/contract/probe-paths.js";
import { renderStack } from "../../infra/render/index.js";
import { allPolicies } from "../../policies/all.js";
import { evaluatePolicies, type PackConfig } from "../../policies/runner/evaluate.js";
import { packConfigPath, targetOf } from "../../policies/runner/stack.js";
import { startLocalCluster, type LocalCluster } from "../../stack/cluster/cluster.js";
import {
  BROWNFIELD_WORKLOADS,
  conditionIs,
  GATEWAY_API,
  prepareBrownfield,
  type Brownfield,
  type Condition,
} from "../../stack/engine/brownfield.js";
import type { AccessLogEntry } from "../../stack/engine/traefik.js";
import { BROWNFIELD, LOCAL_BASE_STACK, LOCAL_STACK_OVERRIDES } from "../../stack/engine/local-config.js";
import {
  createLocalStackProject,
  LOCAL_PACK_CONFIG,
  type LocalStackProject,
} from "../../stack/engine/local-stack.js";
import { REPO_ROOT } from "../../stack/engine/tools.js";
import { throughTraefik } from "../support/through-traefik.js";
import {
  ENGINE_STEP_MS,
  expectOk,
  list,
  parentVerdicts,
  previewChanges,
  settled,
  type Gateway,
  type HttpRoute,
  type Meta,
} from "../support/engine-stack.js";

const run = promisify(execFile);

/** A URN without its stack and project (`type$type::name`), so two stacks' resources compare. */
function resourceKey(urn: string | undefined): string {
  return urn ? urn.split("::").slice(2).join("::") : "(stack)";
}

/** The namespaces plinth's program creates and owns on an existing cluster. */
const PLINTH_NAMESPACES = ["plinth", "mlflow", "auth", "plinth-edge"];
/** plinth's Gateway (components/gateway). */
const GATEWAY = { namespace: "plinth-edge", name: "plinth" };

let work: string;
let cluster: LocalCluster;
let brownfield: Brownfield;
let project: LocalStackProject;

type Deployment = Meta & {
  spec: {
    replicas: number;
    template: {
      spec: {
        containers: {
          name: string;
          env?: { name: string; value?: string }[];
          startupProbe?: { httpGet?: { path: string } };
          readinessProbe?: { httpGet?: { path: string } };
          livenessProbe?: { httpGet?: { path: string } };
        }[];
      };
    };
  };
  status?: { availableReplicas?: number; readyReplicas?: number };
};
type Pod = Meta & { status: { phase: string; conditions?: { type: string; status: string }[] } };

type Middleware = Meta & {
  spec: {
    forwardAuth?: { address: string };
    chain?: { middlewares: { name: string; namespace?: string }[] };
  };
};

/**
 * Whether a route sits behind oauth2-proxy: one of its rules names (ExtensionRef) a Middleware that
 * is a ForwardAuth, or a Chain leading to one. Other Middlewares (rate limits) do not count.
 */
function behindAuth(route: HttpRoute, middlewares: readonly Middleware[]): boolean {
  const byKey = new Map(middlewares.map((m) => [`${m.metadata.namespace}/${m.metadata.name}`, m]));
  const asksAuth = (key: string, seen: Set<string>): boolean => {
    const middleware = byKey.get(key);
    if (!middleware || seen.has(key)) return false;
    seen.add(key);
    if (middleware.spec.forwardAuth) return true;
    const namespace = middleware.metadata.namespace!;
    return (middleware.spec.chain?.middlewares ?? []).some((m) =>
      asksAuth(`${m.namespace ?? namespace}/${m.name}`, seen),
    );
  };
  return route.spec.rules.some((rule) =>
    (rule.filters ?? []).some(
      (f) =>
        f.type === "ExtensionRef" &&
        f.extensionRef?.kind === "Middleware" &&
        asksAuth(`${route.metadata.namespace}/${f.extensionRef.name}`, new Set()),
    ),
  );
}

/** One request through the brownfield's Traefik for `host` (SNI and Host), verified against its CA. */
async function viaTraefik(
  url: string,
  host: string,
  pathname: string,
): Promise<{ status: number; location?: string }> {
  const { status, headers } = await throughTraefik(url, host, pathname, brownfield.caPem);
  return { status, ...(typeof headers.location === "string" ? { location: headers.location } : {}) };
}

/**
 * Sends `host``path` through Traefik's HTTPS entry point until its access log shows that `route`'s
 * router took it, and returns that log line. Traefik writes status before its routers are live, and
 * makes them live one by one (a route whose Middleware it does not know yet is left out meanwhile).
 */
async function routedThroughTraefik(
  host: string,
  pathname: string,
  route: HttpRoute,
): Promise<AccessLogEntry> {
  const router = new RegExp(`^httproute-${route.metadata.namespace}-${route.metadata.name}-`);
  return settled(
    `a router for https://${host}${pathname}`,
    async () => {
      await viaTraefik(brownfield.traefik.websecureUrl, host, pathname).catch(() => undefined);
      const entries = await brownfield.traefik.accessLog();
      return entries.findLast((e) => e.RequestHost === host && e.RequestPath === pathname);
    },
    (entry) => router.test(entry?.RouterName ?? ""),
  ) as Promise<AccessLogEntry>;
}

const inPlinthNamespaces = (object: Meta) => PLINTH_NAMESPACES.includes(object.metadata.namespace ?? "");

/** The inference Deployments' CANDIDATE_WEIGHT, as the cluster has it. */
async function liveCandidateWeights(): Promise<string[]> {
  const deployments = await list<Deployment>(cluster.api, "/apis/apps/v1/namespaces/plinth/deployments");
  return deployments.flatMap((d) =>
    d.spec.template.spec.containers.flatMap((c) =>
      (c.env ?? []).filter((e) => e.name === SERVICE_ENV.CANDIDATE_WEIGHT).map((e) => e.value ?? ""),
    ),
  );
}

/** `npm run promote` on the local stack's file. */
async function promote(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(REPO_ROOT, "infra/promote/main.ts"),
      "--stack",
      "local",
      "--dir",
      project.dir,
      "--audit-log",
      path.join(work, "audit.jsonl"),
      ...args,
    ],
    { cwd: REPO_ROOT, env: { ...process.env, PROMETHEUS_URL: "http://127.0.0.1:1" } },
  );
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "plinth-engine-"));
  cluster = await startLocalCluster();
  brownfield = await prepareBrownfield(cluster);
  project = await createLocalStackProject({ workDir: work, kubeconfig: cluster.kubeconfig });
}, 10 * 60_000);

afterAll(async () => {
  await brownfield?.stop().catch(() => undefined);
  await cluster?.stop();
  if (work && !process.env["KEEP_ENGINE_WORK"]) await rm(work, { recursive: true, force: true });
}, 5 * 60_000);

describe("the local stack under the real engine", { timeout: 2 * ENGINE_STEP_MS }, () => {
  it("completes a fresh `pulumi up`: every Deployment available, every pod admitted by its namespace's Pod Security level", async () => {
    const up = await project.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: ENGINE_STEP_MS });
    expectOk(up, "pulumi up", brownfield);

    const deployments = (await list<Deployment>(cluster.api, "/apis/apps/v1/deployments")).filter(
      inPlinthNamespaces,
    );
    expect(deployments.map((d) => `${d.metadata.namespace}/${d.metadata.name}`).sort()).toEqual(
      expect.arrayContaining(["plinth/plinth-inference", "auth/oauth2-proxy", "mlflow/mlflow"]),
    );
    for (const d of deployments) {
      expect(d.status?.availableReplicas, `${d.metadata.namespace}/${d.metadata.name}`).toBe(d.spec.replicas);
    }
    // This fresh stack's registry is its own new MLflow, empty: the inference pods would await their
    // first version. Their startup and readiness probes ask the pod-readiness route, which is 200
    // while a model awaits its first version (its 503s say why), so this first `up` completes on a
    // real kubelet too (kwok runs no container); /ready, 503 until a version is registered, is not
    // what gates it (issue #18).
    const inference = deployments.find((d) => d.metadata.name === "plinth-inference")!;
    const server = inference.spec.template.spec.containers.find((c) => c.name === "inference")!;
    expect(server.env?.find((e) => e.name === SERVICE_ENV.MLFLOW_TRACKING_URI)?.value).toMatch(
      /^http:\/\/mlflow\./,
    );
    expect(
      [server.startupProbe, server.readinessProbe, server.livenessProbe].map((p) => p?.httpGet?.path),
    ).toEqual([PROBE_PATHS.podReady, PROBE_PATHS.podReady, PROBE_PATHS.live]);
    // Every plinth namespace enforces the restricted Pod Security level, and every pod in it was admitted and runs.
    for (const namespace of PLINTH_NAMESPACES) {
      const ns = await cluster.api.get<Meta>(`/api/v1/namespaces/${namespace}`);
      expect(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], namespace).toBe("restricted");
    }
    const pods = (await list<Pod>(cluster.api, "/api/v1/pods")).filter(inPlinthNamespaces);
    expect(pods.length).toBeGreaterThanOrEqual(deployments.length);
    for (const pod of pods) {
      // A CronJob that fires during the test (the drift check's schedule) leaves a Job's pod, which
      // kwok runs to completion: Succeeded is its success. Every other pod runs.
      const ofJob = pod.metadata.ownerReferences?.some((owner) => owner.kind === "Job") ?? false;
      expect(ofJob ? ["Running", "Succeeded"] : ["Running"], pod.metadata.name).toContain(pod.status.phase);
    }

    // CronJobs are accepted; the custom resources pass the operator's real CRD schemas.
    const cronJobs = (await list<Meta>(cluster.api, "/apis/batch/v1/cronjobs"))
      .filter(inPlinthNamespaces)
      .map((c) => c.metadata.name);
    expect(cronJobs.length).toBeGreaterThanOrEqual(2);
    const monitors = await list<Meta>(cluster.api, "/apis/monitoring.coreos.com/v1/servicemonitors");
    expect(monitors.map((m) => m.metadata.labels?.["release"])).toContain(
      BROWNFIELD.monitoring.selectorLabels.release,
    );
    expect((await list<Meta>(cluster.api, "/apis/monitoring.coreos.com/v1/prometheusrules")).length).toBe(1);

    // The Gateway path is the default: no Ingress at all.
    expect(await list<Meta>(cluster.api, "/apis/networking.k8s.io/v1/ingresses")).toEqual([]);

    // Secrets made by plinth's random provider reach the stack outputs as secrets.
    const outputs = await project.pulumi(["stack", "output", "--json", "--show-secrets"]);
    expectOk(outputs, "pulumi stack output", brownfield);
    const values = JSON.parse(outputs.stdout) as Record<string, string>;
    expect(values["cloud"]).toBe("existing");
    expect(values["platformApiKey"]).toMatch(/^[A-Za-z0-9]{32,}$/);
    const plain = await project.pulumi(["stack", "output", "--json"]);
    expect((JSON.parse(plain.stdout) as Record<string, string>)["platformApiKey"]).toBe("[secret]");
    const state = await project.pulumi(["stack", "export"]);
    expect(state.stdout).not.toContain(values["platformApiKey"]);
  });

  it("has its Gateway accepted and programmed by the real Traefik, every HTTPRoute accepted with its refs resolved, its Middlewares in place, and routes through them", async () => {
    const gatewayPath = `${GATEWAY_API}/namespaces/${GATEWAY.namespace}/gateways/${GATEWAY.name}`;
    // The stand-in cert-manager issues the listeners' Secrets; Traefik then accepts the Gateway.
    const gateway = await settled(
      `Gateway ${GATEWAY.namespace}/${GATEWAY.name} Accepted and Programmed`,
      () => cluster.api.get<Gateway>(gatewayPath),
      (g) =>
        conditionIs(g.status?.conditions, "Accepted", "True") &&
        conditionIs(g.status?.conditions, "Programmed", "True"),
    );
    expect(gateway.status?.addresses?.map((a) => a.value)).toEqual([brownfield.traefik.address]);
    const httpsListeners = gateway.spec.listeners.filter((l) => l.protocol === "HTTPS");
    expect(httpsListeners.length).toBeGreaterThanOrEqual(3);
    for (const listener of gateway.status?.listeners ?? []) {
      for (const type of ["Accepted", "ResolvedRefs", "Programmed"])
        expect(conditionIs(listener.conditions, type, "True"), `listener ${listener.name} ${type}`).toBe(
          true,
        );
    }
    expect(brownfield.certificatesIssued()).toBeGreaterThanOrEqual(httpsListeners.length);

    // Every HTTPRoute plinth wrote: Traefik's verdict for each of its parents.
    const routes = await settled(
      "every HTTPRoute judged by Traefik",
      () => list<HttpRoute>(cluster.api, `${GATEWAY_API}/httproutes`),
      (all) => all.length > 0 && all.every((r) => parentVerdicts(r).length === r.spec.parentRefs.length),
    );
    expect(routes.length).toBeGreaterThanOrEqual(5);
    const verdicts = routes.flatMap(parentVerdicts);
    expect(verdicts.filter((v) => !v.endsWith(": Accepted=True, ResolvedRefs=True"))).toEqual([]);
    // The listeners count what attached: every route is on one.
    const attached = (gateway.status?.listeners ?? []).reduce((sum, l) => sum + l.attachedRoutes, 0);
    expect(attached).toBeGreaterThanOrEqual(routes.length);

    // Traefik does not check that an ExtensionRef's Middleware exists (a missing one only drops the
    // router): every one a route names, and every one a chain names, is there.
    const middlewares = await list<Middleware>(cluster.api, "/apis/traefik.io/v1alpha1/middlewares");
    const present = new Set(middlewares.map((m) => `${m.metadata.namespace}/${m.metadata.name}`));
    const named = [
      ...routes.flatMap((r) =>
        r.spec.rules.flatMap((rule) =>
          (rule.filters ?? [])
            .filter((f) => f.type === "ExtensionRef" && f.extensionRef?.kind === "Middleware")
            .map((f) => `${r.metadata.namespace}/${f.extensionRef!.name}`),
        ),
      ),
      ...middlewares.flatMap((m) =>
        (m.spec.chain?.middlewares ?? []).map((c) => `${m.metadata.namespace}/${c.name}`),
      ),
    ];
    expect(named.length).toBeGreaterThanOrEqual(3);
    expect(named.filter((name) => !present.has(name))).toEqual([]);

    // A wrong object, made here: a route to a Service that does not exist. The controller says so,
    // so the verdicts above can fail.
    const api = httpsListeners.find((l) => l.hostname?.startsWith("api."))!;
    const wrongPath = `${GATEWAY_API}/namespaces/plinth/httproutes/engine-test-missing-backend`;
    await cluster.api.post(`${GATEWAY_API}/namespaces/plinth/httproutes`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "engine-test-missing-backend", namespace: "plinth" },
      spec: {
        parentRefs: [{ ...GATEWAY, sectionName: api.name }],
        hostnames: [api.hostname],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/engine-test-missing" } }],
            backendRefs: [{ name: "engine-test-missing", port: 80 }],
          },
        ],
      },
    });
    const wrong = await settled(
      "the wrong route judged",
      () => cluster.api.get<HttpRoute>(wrongPath),
      (r) => parentVerdicts(r).length > 0,
    );
    expect(parentVerdicts(wrong)[0]).toMatch(/Accepted=True, ResolvedRefs=False \(BackendNotFound: /);
    await cluster.api.request("DELETE", wrongPath);

    // Routing through the real proxy. HTTP, any host: the redirect to HTTPS.
    const redirect = await settled(
      "the HTTPS redirect live",
      () => viaTraefik(brownfield.traefik.webUrl, api.hostname!, "/predict?x=1"),
      (r) => r.status !== 404,
    );
    expect(redirect).toEqual({ status: 301, location: `https://${api.hostname}/predict?x=1` });
    // HTTPS with the listener's certificate (checked against the cluster issuer's CA, by SNI): the
    // inference service's public route is sent to one of its pods (kwok's: nothing listens there,
    // so what answers is no part of the test; the access log says where Traefik sent it).
    const publicRoute = routes.find(
      (r) =>
        r.metadata.namespace === "plinth" &&
        r.spec.hostnames?.includes(api.hostname!) &&
        !behindAuth(r, middlewares) &&
        r.spec.rules.some((rule) => (rule.backendRefs?.length ?? 0) > 0 && rule.matches?.some((m) => m.path)),
    )!;
    const publicPath = publicRoute.spec.rules.flatMap((rule) => rule.matches ?? [])[0]!.path!.value;
    const served = await routedThroughTraefik(api.hostname!, publicPath, publicRoute);
    const podIps = (
      await list<Pod & { status: { podIP?: string } }>(
        cluster.api,
        `/api/v1/namespaces/${publicRoute.metadata.namespace}/pods`,
      )
    ).map((p) => p.status.podIP);
    expect(podIps).toContain(new URL(served.ServiceURL ?? "http://none").hostname);
    // A protected route asks oauth2-proxy first (its ForwardAuth; no session here, so a refusal or
    // the sign-in redirect): the request never reaches the route's backend.
    expect(routes.filter((r) => behindAuth(r, middlewares)).length).toBeGreaterThanOrEqual(3);
    const adminRoute = routes.find((r) => behindAuth(r, middlewares))!;
    const adminHost = adminRoute.spec.hostnames![0]!;
    const adminPath = adminRoute.spec.rules.flatMap((rule) => rule.matches ?? [])[0]!.path!.value;
    const admin = await routedThroughTraefik(adminHost, adminPath, adminRoute);
    expect(admin.DownstreamStatus).toBeGreaterThanOrEqual(300);
    // What answered, if anything, is oauth2-proxy (the sign-in redirect's Service), never the
    // route's own backend.
    const backendPods = (
      await list<Pod & { status: { podIP?: string } }>(
        cluster.api,
        `/api/v1/namespaces/${adminRoute.metadata.namespace}/pods`,
      )
    ).map((p) => p.status.podIP);
    if (admin.ServiceURL !== undefined) {
      expect(backendPods).not.toContain(new URL(admin.ServiceURL).hostname);
      expect(admin.ServiceName).toMatch(/^auth-oauth2-proxy-/);
    }
  });

  it("changes nothing on a second `pulumi up`", async () => {
    const again = await project.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"], {
      timeoutMs: ENGINE_STEP_MS,
    });
    expectOk(again, "second pulumi up --expect-no-changes", brownfield);
  });

  it("previews exactly the inference Deployments after `npm run promote`, applies it, and rolls it back by config", async () => {
    expect(await liveCandidateWeights()).toEqual(["20"]);
    // Lowering the weight goes back towards stable: ungated, so no Prometheus is needed here.
    await promote("--weight", "10", "--reason", "engine test");
    expect(await readFile(project.stackFile, "utf8")).toMatch(/weight: 10\b/);

    const changes = await previewChanges(project, brownfield);
    expect(changes.map((c) => `${c.op} ${c.type}`)).toEqual(["update kubernetes:apps/v1:Deployment"]);

    expectOk(
      await project.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: ENGINE_STEP_MS }),
      "pulumi up (promote)",
      brownfield,
    );
    expect(await liveCandidateWeights()).toEqual(["10"]);

    await promote("--rollback", "--reason", "engine test rollback");
    expect(await readFile(project.stackFile, "utf8")).toMatch(/weight: 20\b/);
    expect((await previewChanges(project, brownfield)).map((c) => `${c.op} ${c.type}`)).toEqual([
      "update kubernetes:apps/v1:Deployment",
    ]);
    expectOk(
      await project.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: ENGINE_STEP_MS }),
      "pulumi up (rollback)",
      brownfield,
    );
    expect(await liveCandidateWeights()).toEqual(["20"]);
  });

  it("finds no drift on `pulumi refresh`", async () => {
    const refresh = await project.pulumi(["refresh", "--yes", "--skip-preview", "--expect-no-changes"], {
      timeoutMs: ENGINE_STEP_MS,
    });
    expectOk(refresh, "pulumi refresh --expect-no-changes", brownfield);
  });

  it("loads the policy pack in the engine: clean on staging's pack config, and the same findings as the engine-free runner on a config it violates", async () => {
    const clean = await project.pulumi(
      [
        "preview",
        "--policy-pack",
        path.join(REPO_ROOT, "policies"),
        "--policy-pack-config",
        LOCAL_PACK_CONFIG,
      ],
      { timeoutMs: ENGINE_STEP_MS },
    );
    expectOk(clean, "pulumi preview --policy-pack (local config)", brownfield);

    // Staging's pack config, one notch stricter: no Deployment of the stack runs three replicas.
    // The engine and the runner must both say so, resource by resource. The ServiceMonitor and the
    // PrometheusRule wait for no release (the cluster has their CRDs) and say so themselves.
    const strict: PackConfig = {
      ...(JSON.parse(await readFile(packConfigPath("staging"), "utf8")) as PackConfig),
      "workload-min-replicas": { minReplicas: 3 },
    };
    const strictFile = path.join(work, "strict-pack.json");
    await writeFile(strictFile, JSON.stringify(strict));
    // The streaming JSON preview prints the engine's events, one JSON object a line, policy events included.
    const violated = await project.pulumi(
      [
        "preview",
        "--json",
        "--policy-pack",
        path.join(REPO_ROOT, "policies"),
        "--policy-pack-config",
        strictFile,
      ],
      { timeoutMs: ENGINE_STEP_MS, env: { PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "true" } },
    );
    expect(violated.code, violated.stdout.slice(-2000) + violated.stderr.slice(-2000)).not.toBe(0);
    const events = violated.stdout
      .split("\n")
      .filter((line) => line.trim().startsWith("{"))
      .map(
        (line) =>
          JSON.parse(line) as {
            policyEvent?: { policyName: string; resourceUrn?: string; enforcementLevel: string };
          },
      );
    const byEngine = events
      .flatMap((e) => (e.policyEvent ? [e.policyEvent] : []))
      .map((p) => `${p.policyName} ${p.enforcementLevel} ${resourceKey(p.resourceUrn)}`)
      .sort();

    const rendered = await renderStack({ stack: LOCAL_BASE_STACK, config: LOCAL_STACK_OVERRIDES });
    const byRunner = (await evaluatePolicies(allPolicies, rendered.resources.map(targetOf), strict))
      .map((v) => `${v.policy} ${v.level} ${resourceKey(v.urn)}`)
      .sort();
    expect(byEngine).toEqual(byRunner);
    expect(byEngine.filter((f) => f.startsWith("custom-resources-after-crds"))).toEqual([]);
    expect(
      byEngine.filter((f) => f.startsWith("workload-min-replicas mandatory")).length,
    ).toBeGreaterThanOrEqual(3);
  });

  it("leaves nothing of plinth behind on `pulumi destroy`, and the cluster's own systems untouched", async () => {
    expectOk(
      await project.pulumi(["destroy", "--yes", "--skip-preview"], { timeoutMs: ENGINE_STEP_MS }),
      "pulumi destroy",
      brownfield,
    );
    const owned = (await list<Meta>(cluster.api, "/api/v1/namespaces"))
      .map((n) => n.metadata.name)
      .filter((n) => PLINTH_NAMESPACES.includes(n));
    // Namespace deletion finishes asynchronously (the namespace controller empties it first).
    for (const namespace of owned) {
      const ns = await cluster.api.request<{ status?: { phase?: string } }>(
        "GET",
        `/api/v1/namespaces/${namespace}`,
      );
      expect(ns.status === 404 || ns.body.status?.phase === "Terminating", namespace).toBe(true);
    }
    const partOfPlinth = (await list<Meta>(cluster.api, "/apis/apps/v1/deployments")).filter(
      (d) => d.metadata.labels?.["app.kubernetes.io/part-of"] === "plinth",
    );
    expect(partOfPlinth).toEqual([]);
    expect(await list<Meta>(cluster.api, "/apis/monitoring.coreos.com/v1/servicemonitors")).toEqual([]);
    expect(await list<Meta>(cluster.api, "/apis/networking.k8s.io/v1/ingresses")).toEqual([]);
    // plinth's edge objects, wherever they were (Grafana's route lives in the cluster's monitoring namespace).
    expect(await list<Meta>(cluster.api, `${GATEWAY_API}/gateways`)).toEqual([]);
    expect(await list<Meta>(cluster.api, `${GATEWAY_API}/httproutes`)).toEqual([]);
    expect(await list<Meta>(cluster.api, "/apis/traefik.io/v1alpha1/middlewares")).toEqual([]);
    const cronJobs = (await list<Meta>(cluster.api, "/apis/batch/v1/cronjobs")).filter(inPlinthNamespaces);
    expect(cronJobs).toEqual([]);
    // What the cluster ran before plinth still runs: its Traefik too, its GatewayClass still accepted.
    expect(brownfield.traefik.process.hasExited).toBe(false);
    const gatewayClass = await cluster.api.get<{ status?: { conditions?: Condition[] } }>(
      `${GATEWAY_API}/gatewayclasses/${BROWNFIELD.gatewayController.gatewayClassName}`,
    );
    expect(conditionIs(gatewayClass.status?.conditions, "Accepted", "True")).toBe(true);
    for (const workload of BROWNFIELD_WORKLOADS) {
      const d = await cluster.api.get<Deployment>(
        `/apis/apps/v1/namespaces/${workload.namespace}/deployments/${workload.name}`,
      );
      expect(d.status?.availableReplicas, workload.name).toBe(1);
    }
    const stack = await project.pulumi(["stack", "export"]);
    expect(
      (JSON.parse(stack.stdout) as { deployment: { resources?: unknown[] } }).deployment.resources ?? [],
    ).toEqual([]);
  });
});
