/**
 * Moving a deployed stack from the Ingress path to the Gateway path (issue #23, docs/edge.md) under
 * the real Pulumi engine against the local control plane: the local stack deployed as a stack from
 * before #23 (`plinth:edge: ingress-nginx`, reusing the cluster's ingress-nginx), then its file
 * changed to the default edge. `pulumi preview` must show the edge replaced and nothing else (the
 * same list the mock render gives, which test/infra/edge-migration.test.ts holds to the edge on
 * every cloud), and `pulumi up` must make the move: the Ingresses gone, the real Traefik accepting
 * the Gateway and every HTTPRoute, and no workload, Secret, Service or volume of plinth's replaced.
 *
 * The local cluster runs no ingress-nginx (its controller needs nginx with Lua modules, which no
 * source this machine reaches serves): the test publishes each Ingress's load-balancer address as
 * ingress-nginx does, which is what the Kubernetes provider waits for.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../infra/render/index.js";
import { startLocalCluster, type LocalCluster } from "../../stack/cluster/cluster.js";
import {
  conditionIs,
  GATEWAY_API,
  prepareBrownfield,
  type Brownfield,
} from "../../stack/engine/brownfield.js";
import {
  INGRESS_CONTROLLER,
  LOCAL_BASE_STACK,
  LOCAL_INGRESS_PATH_OVERRIDES,
  LOCAL_STACK_OVERRIDES,
} from "../../stack/engine/local-config.js";
import { createLocalStackProject, type LocalStackProject } from "../../stack/engine/local-stack.js";
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
import { StackView, stackDiff } from "../support/stack.js";

/** The namespaces of plinth's workloads on an existing cluster: the same on either path. */
const WORKLOAD_NAMESPACES = ["plinth", "mlflow", "auth"];
/** plinth's Gateway (components/gateway). */
const GATEWAY = { namespace: "plinth-edge", name: "plinth" };
/** The address the stand-in publishes for the cluster's ingress-nginx (TEST-NET-1, RFC 5737). */
const INGRESS_ADDRESS = "192.0.2.10";
/** Kinds the move must leave as they are: the same objects (uid), not recreated ones. */
const KEPT = [
  "/apis/apps/v1/deployments",
  "/apis/apps/v1/statefulsets",
  "/api/v1/services",
  "/api/v1/secrets",
  "/api/v1/configmaps",
  "/api/v1/persistentvolumeclaims",
  "/apis/batch/v1/cronjobs",
  "/apis/policy/v1/poddisruptionbudgets",
  "/apis/autoscaling/v2/horizontalpodautoscalers",
];

type Ingress = Meta & {
  spec: { ingressClassName?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
};

let work: string;
let cluster: LocalCluster;
let brownfield: Brownfield;
let project: LocalStackProject;
let publishing = true;
let publisher: Promise<void> | undefined;
/** The stand-in's last failure to read or write Ingresses, for a `pulumi up` that waits in vain. */
let publishError: unknown;
/** uid of every kept object in the workload namespaces, by `kind-path ns/name`, before the move. */
let keptBefore: Map<string, string>;

/** Plays ingress-nginx's status updater: every Ingress of its class gets the controller's address. */
async function publishIngressStatus(): Promise<void> {
  while (publishing) {
    const ingresses = await list<Ingress>(cluster.api, "/apis/networking.k8s.io/v1/ingresses").catch(
      (error: unknown) => {
        publishError = error;
        return [];
      },
    );
    for (const ingress of ingresses) {
      if (ingress.spec.ingressClassName !== INGRESS_CONTROLLER.className) continue;
      if ((ingress.status?.loadBalancer?.ingress ?? []).length > 0) continue;
      const { namespace, name } = ingress.metadata;
      await cluster.api
        .expectOk(
          "PATCH",
          `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses/${name}/status`,
          { status: { loadBalancer: { ingress: [{ ip: INGRESS_ADDRESS }] } } },
          { contentType: "application/merge-patch+json" },
        )
        .catch((error: unknown) => {
          publishError = error;
        });
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** uid of every object of the kept kinds in the workload namespaces. */
async function keptObjects(): Promise<Map<string, string>> {
  const kept = new Map<string, string>();
  for (const kind of KEPT) {
    for (const object of await list<Meta & { metadata: { uid: string } }>(cluster.api, kind)) {
      const { namespace, name, uid } = object.metadata;
      if (WORKLOAD_NAMESPACES.includes(namespace ?? "")) kept.set(`${kind} ${namespace}/${name}`, uid);
    }
  }
  return kept;
}

/**
 * The move as the mock render sees it, in the preview's terms: `op type::name` for each resource
 * only on the Ingress path (delete), only on the Gateway path (create), or on both with other
 * inputs (update). The Gateway component takes over the Ingress component (same name, an alias to
 * its type), so the engine sees one resource there, unchanged.
 */
async function renderedMove(): Promise<string[]> {
  const { deleted, created, updated } = stackDiff(
    await renderStack({ stack: LOCAL_BASE_STACK, config: LOCAL_INGRESS_PATH_OVERRIDES }),
    await renderStack({ stack: LOCAL_BASE_STACK, config: LOCAL_STACK_OVERRIDES }),
  );
  const component = /^plinth:(ingress-tls:IngressTls|gateway:GatewayEdge)::ingress$/;
  return [
    ...deleted.map((k) => `delete ${k}`),
    ...created.map((k) => `create ${k}`),
    ...updated.map((k) => `update ${k}`),
  ]
    .filter((change) => !component.test(change.split(" ")[1]!))
    .sort();
}

/** The names of the rendered local stack's objects of `kind` under `config`, sorted. */
async function renderedNames(config: Record<string, unknown>, kind: string): Promise<string[]> {
  const view = new StackView(await renderStack({ stack: LOCAL_BASE_STACK, config }));
  return view
    .manifests()
    .filter((m) => m.kind === kind)
    .map((m) => m.metadata.name ?? "")
    .sort();
}

/** `pulumi up` of the stack file as it is; a failure names the stand-in's last error, if any. */
async function up(what: string, ...flags: string[]): Promise<void> {
  const result = await project.pulumi(["up", "--yes", "--skip-preview", ...flags], {
    timeoutMs: ENGINE_STEP_MS,
  });
  const standIn =
    publishError === undefined ? "" : ` (the Ingress status stand-in last failed: ${String(publishError)})`;
  expectOk(result, what + standIn, brownfield);
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "plinth-edge-move-"));
  cluster = await startLocalCluster();
  brownfield = await prepareBrownfield(cluster);
  project = await createLocalStackProject({
    workDir: work,
    kubeconfig: cluster.kubeconfig,
    overrides: LOCAL_INGRESS_PATH_OVERRIDES,
  });
  publisher = publishIngressStatus();
}, 10 * 60_000);

afterAll(async () => {
  publishing = false;
  try {
    await publisher;
    await brownfield?.stop().catch(() => undefined);
    await cluster?.stop();
  } finally {
    if (work && !process.env["KEEP_ENGINE_WORK"]) await rm(work, { recursive: true, force: true });
  }
}, 5 * 60_000);

describe(
  "a stack on the Ingress path moved to the Gateway path under the real engine",
  { timeout: 2 * ENGINE_STEP_MS },
  () => {
    it("deploys the Ingress path first: every route an Ingress of the cluster's ingress-nginx, no Gateway object", async () => {
      await up("pulumi up (Ingress path)");
      const ingresses = await list<Ingress>(cluster.api, "/apis/networking.k8s.io/v1/ingresses");
      expect(ingresses.map((i) => i.metadata.name).sort()).toEqual(
        await renderedNames(LOCAL_INGRESS_PATH_OVERRIDES, "Ingress"),
      );
      expect(ingresses.length).toBeGreaterThanOrEqual(5);
      expect(ingresses.filter((i) => i.spec.ingressClassName !== INGRESS_CONTROLLER.className)).toEqual([]);
      // What ingress-nginx publishes, and what the provider waited for.
      expect(ingresses.map((i) => i.status?.loadBalancer?.ingress?.[0]?.ip)).toEqual(
        ingresses.map(() => INGRESS_ADDRESS),
      );
      expect(await list<Meta>(cluster.api, `${GATEWAY_API}/gateways`)).toEqual([]);
      expect(await list<Meta>(cluster.api, `${GATEWAY_API}/httproutes`)).toEqual([]);
      keptBefore = await keptObjects();
      expect(keptBefore.size).toBeGreaterThanOrEqual(10);
    });

    it("previews the move as the edge replaced and nothing else: the same changes the render gives", async () => {
      project.reconfigure(LOCAL_STACK_OVERRIDES);
      const changes = await previewChanges(project, brownfield);
      const byEngine = changes.map((c) => `${c.op} ${c.type}::${c.name}`).sort();
      expect(byEngine).toEqual(await renderedMove());
      // What that list is: the Ingresses go, the Gateway's objects come, and the workloads'
      // NetworkPolicies change their edge peer. Nothing is replaced.
      const kinds = (op: string) =>
        [...new Set(changes.filter((c) => c.op === op).map((c) => c.type))].sort();
      expect(kinds("delete")).toEqual(["kubernetes:networking.k8s.io/v1:Ingress"]);
      expect(kinds("create")).toEqual([
        "kubernetes:core/v1:Namespace",
        "kubernetes:gateway.networking.k8s.io/v1:Gateway",
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "kubernetes:traefik.io/v1alpha1:Middleware",
      ]);
      expect(kinds("update")).toEqual(["kubernetes:networking.k8s.io/v1:NetworkPolicy"]);
      expect(changes.filter((c) => !["create", "delete", "update"].includes(c.op))).toEqual([]);
    });

    it("makes the move on `pulumi up`: the Ingresses gone, Traefik accepting the Gateway and every HTTPRoute, no workload, Secret, Service or volume recreated", async () => {
      await up("pulumi up (the move)");
      expect(await list<Meta>(cluster.api, "/apis/networking.k8s.io/v1/ingresses")).toEqual([]);
      const gateway = await settled(
        `Gateway ${GATEWAY.namespace}/${GATEWAY.name} Accepted and Programmed`,
        () =>
          cluster.api.get<Gateway>(`${GATEWAY_API}/namespaces/${GATEWAY.namespace}/gateways/${GATEWAY.name}`),
        (g) =>
          conditionIs(g.status?.conditions, "Accepted", "True") &&
          conditionIs(g.status?.conditions, "Programmed", "True"),
      );
      expect(gateway.status?.addresses?.map((a) => a.value)).toEqual([brownfield.traefik.address]);
      const routes = await settled(
        "every HTTPRoute judged by Traefik",
        () => list<HttpRoute>(cluster.api, `${GATEWAY_API}/httproutes`),
        (all) => all.length > 0 && all.every((r) => parentVerdicts(r).length === r.spec.parentRefs.length),
      );
      expect(routes.map((r) => r.metadata.name).sort()).toEqual(
        await renderedNames(LOCAL_STACK_OVERRIDES, "HTTPRoute"),
      );
      expect(
        routes.flatMap(parentVerdicts).filter((v) => !v.endsWith(": Accepted=True, ResolvedRefs=True")),
      ).toEqual([]);
      // The same objects, not new ones of the same name.
      expect(await keptObjects()).toEqual(keptBefore);
    });

    it("then finds the file describing what runs: a further `pulumi up` changes nothing", async () => {
      await up("pulumi up --expect-no-changes after the move", "--expect-no-changes");
    });
  },
);
