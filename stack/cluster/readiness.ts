/**
 * What "the cluster is up" means, as checks to poll: each process answers its health endpoint, the
 * nodes are Ready and schedulable, the default namespace has its ServiceAccount, and a Deployment of
 * two replicas becomes Available on the fake nodes (which exercises the API server, the
 * controller-manager, the scheduler and kwok end to end). Every poll first checks that no process
 * has died, so a crash fails the start at once, with the tail of that process's log.
 */
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeApiError, type KubeApi } from "./api-client.js";
import type { ClusterProcess } from "./process.js";

const POLL_MS = 100;

/** What every wait checks between polls, and how long it may take. */
export interface WaitContext {
  /** The cluster's processes: one that has exited fails the wait with its log's tail. */
  readonly processes: readonly ClusterProcess[];
  /** Aborts the wait (Ctrl-C while the cluster starts). */
  readonly signal?: AbortSignal;
  readonly timeoutMs: number;
}

/** Polls `check` until it returns true; fails if a process exits, on abort, and after the timeout. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  context: WaitContext,
): Promise<void> {
  const deadline = Date.now() + context.timeoutMs;
  let lastError: unknown;
  for (;;) {
    context.signal?.throwIfAborted();
    for (const proc of context.processes) proc.assertRunning();
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`local cluster: ${what} not within ${context.timeoutMs} ms${why}`);
    }
    await sleep(POLL_MS);
  }
}

/**
 * True when `GET url` answers 200. For the components' own loopback health endpoints only: the
 * controller-manager and scheduler serve them with a self-signed certificate made in memory, so
 * there is no CA to check against (their traffic with the API server is verified).
 */
export function httpOk(url: string): () => Promise<boolean> {
  const get = url.startsWith("https:") ? httpsGet : httpGet;
  return () =>
    new Promise((resolve, reject) => {
      const req = get(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      });
      req.on("timeout", () => req.destroy(new Error(`${url}: no answer in time`)));
      req.on("error", reject);
    });
}

interface Condition {
  type: string;
  status: string;
}

interface NodeList {
  items: {
    metadata: { name: string };
    spec?: { taints?: { key: string }[] };
    status?: { conditions?: Condition[] };
  }[];
}

/** The node.kubernetes.io/* taints a node carries while it is not ready to run pods. */
const NOT_READY_TAINTS = new Set(["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]);

/** True when every named node is Ready and no longer tainted as not ready. */
export function nodesReady(api: KubeApi, names: readonly string[]): () => Promise<boolean> {
  return async () => {
    const list = await api.get<NodeList>("/api/v1/nodes");
    return names.every((name) => {
      const node = list.items.find((n) => n.metadata.name === name);
      const ready = node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
      const tainted = node?.spec?.taints?.some((t) => NOT_READY_TAINTS.has(t.key)) ?? false;
      return ready && !tainted;
    });
  };
}

/** True once `GET path` answers 2xx; false on 404. */
export function exists(api: KubeApi, path: string): () => Promise<boolean> {
  return async () => {
    try {
      await api.get(path);
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  };
}

interface Deployment {
  metadata: { generation?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    availableReplicas?: number;
    conditions?: Condition[];
  };
}

/** True when the Deployment's current generation has `replicas` available and says Available. */
export function deploymentAvailable(
  api: KubeApi,
  namespace: string,
  name: string,
  replicas: number,
): () => Promise<boolean> {
  return async () => {
    const d = await api.get<Deployment>(`/apis/apps/v1/namespaces/${namespace}/deployments/${name}`);
    const status = d.status;
    return (
      status !== undefined &&
      status.observedGeneration === d.metadata.generation &&
      status.availableReplicas === replicas &&
      (status.conditions ?? []).some((c) => c.type === "Available" && c.status === "True")
    );
  };
}

const SMOKE_NAME = "plinth-cluster-readiness";

/** A two-replica Deployment, restricted-compliant, whose image no one ever pulls (kwok runs nothing). */
export function smokeDeployment(replicas = 2): Record<string, unknown> {
  const labels = { "app.kubernetes.io/name": SMOKE_NAME };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: SMOKE_NAME, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "pause",
              image: "registry.k8s.io/pause:3.10",
              resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "16Mi" } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      },
    },
  };
}

/**
 * Runs the two-replica Deployment in `default` until it is Available, then deletes it and waits for
 * its pods to go, so the cluster a caller gets holds nothing of ours.
 */
export async function proveWorkloadsRun(api: KubeApi, context: WaitContext): Promise<void> {
  const base = "/apis/apps/v1/namespaces/default/deployments";
  await api.post(base, smokeDeployment(2));
  await waitFor(
    "a 2-replica Deployment Available",
    deploymentAvailable(api, "default", SMOKE_NAME, 2),
    context,
  );
  await api.expectOk("DELETE", `${base}/${SMOKE_NAME}`, {
    kind: "DeleteOptions",
    apiVersion: "v1",
    propagationPolicy: "Foreground",
  });
  const pods = `/api/v1/namespaces/default/pods?labelSelector=app.kubernetes.io%2Fname%3D${SMOKE_NAME}`;
  await waitFor(
    "the readiness Deployment gone",
    async () => {
      const [deployment, podList] = await Promise.all([
        exists(api, `${base}/${SMOKE_NAME}`)(),
        api.get<{ items: unknown[] }>(pods),
      ]);
      return !deployment && podList.items.length === 0;
    },
    context,
  );
}
