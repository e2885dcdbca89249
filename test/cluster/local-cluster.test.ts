/**
 * The local control plane, for real: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
 * and kwok as processes on loopback (scripts/install-test-tools.sh builds them). One cluster serves
 * the suite; each test works in its own namespace; the last test stops it.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locateClusterBinaries } from "../../stack/cluster/binaries.js";
import { KubeApi, KubeApiError, startLocalCluster, type LocalCluster } from "../../stack/cluster/cluster.js";

interface Condition {
  type: string;
  status: string;
}
interface Pod {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; conditions?: Condition[] };
}
interface Node {
  metadata: { name: string; labels: Record<string, string> };
  spec: { taints?: unknown[] };
  status: { allocatable: Record<string, string>; conditions: Condition[] };
}

const isTrue = (conditions: Condition[] | undefined, type: string) =>
  conditions?.some((c) => c.type === type && c.status === "True") ?? false;

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Processes whose command line mentions `text` (the data folder appears in every one's flags). */
function processesMentioning(text: string): string[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(text);
      } catch {
        return false;
      }
    });
}

describe("locating the control plane's programs", () => {
  it("names every missing program and the script that installs them", () => {
    const empty = mkdtempSync(path.join(tmpdir(), "plinth-no-tools-"));
    expect(() => locateClusterBinaries({ toolsBinDir: empty, pathEnv: "" })).toThrow(
      /not installed: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok .*run `bash scripts\/install-test-tools\.sh`/,
    );
  });
});

describe("a process that dies while the cluster starts", () => {
  it("fails the start with the tail of its log, and leaves no process and no folder behind", async () => {
    const parentDir = mkdtempSync(path.join(tmpdir(), "plinth-crash-"));
    const fakeApiserver = path.join(parentDir, "kube-apiserver");
    writeFileSync(fakeApiserver, '#!/bin/sh\necho "fake kube-apiserver: unknown flag --oops" >&2\nexit 3\n');
    chmodSync(fakeApiserver, 0o755);
    const clusterParent = mkdtempSync(path.join(parentDir, "clusters-"));

    const start = startLocalCluster({
      parentDir: clusterParent,
      binaries: { ...locateClusterBinaries(), apiserver: fakeApiserver },
    });

    await expect(start).rejects.toThrow(
      /kube-apiserver exited \(3\)[^]*fake kube-apiserver: unknown flag --oops/,
    );
    expect(readdirSync(clusterParent)).toEqual([]);
    expect(processesMentioning(clusterParent)).toEqual([]);
  });
});

describe("a local cluster", () => {
  let cluster: LocalCluster;
  /** A client built from the kubeconfig file alone, as any user of the cluster would. */
  let api: KubeApi;

  beforeAll(async () => {
    cluster = await startLocalCluster();
    api = KubeApi.fromKubeconfig(readFileSync(cluster.kubeconfigPath, "utf8"));
  }, 180_000);

  afterAll(async () => {
    api?.close();
    await cluster?.stop();
  });

  /** A fresh namespace, once the controller-manager has given it its default ServiceAccount. */
  async function namespace(name: string, labels: Record<string, string> = {}): Promise<string> {
    await api.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
    await eventually(`${name}'s default ServiceAccount`, () =>
      api
        .request("GET", `/api/v1/namespaces/${name}/serviceaccounts/default`)
        .then((r) => (r.status === 200 ? true : undefined)),
    );
    return name;
  }

  it("serves Kubernetes v1.34.2 over TLS it verifies with the kubeconfig's CA", async () => {
    const version = await api.get<{ gitVersion: string; major: string; minor: string }>("/version");

    expect(version).toMatchObject({ gitVersion: "v1.34.2", major: "1", minor: "34" });
    expect(cluster.version).toBe("v1.34.2");
    expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(cluster.kubeconfig).toContain("certificate-authority-data:");
    expect(cluster.kubeconfig).not.toContain("insecure-skip-tls-verify");
    expect(await api.withToken("not-a-token").request("GET", "/api/v1/namespaces")).toMatchObject({
      status: 401,
    });
  });

  it("reports its start time and each process's memory", () => {
    const rss = cluster.rssBytes();
    console.info(
      `local cluster: ready in ${cluster.startupMs} ms; RSS ` +
        Object.entries(rss)
          .map(([name, bytes]) => `${name} ${Math.round(bytes / 2 ** 20)} MiB`)
          .join(", "),
    );

    expect(cluster.startupMs).toBeGreaterThan(0);
    expect(Object.keys(rss)).toEqual([
      "etcd",
      "kube-apiserver",
      "kube-controller-manager",
      "kube-scheduler",
      "kwok",
    ]);
    for (const bytes of Object.values(rss)) expect(bytes).toBeGreaterThan(1 << 20);
  });

  it("has two Ready, untainted kwok nodes with a platform's capacity", async () => {
    const { items } = await api.get<{ items: Node[] }>("/api/v1/nodes");

    expect(items.map((n) => n.metadata.name).sort()).toEqual(["kwok-node-0", "kwok-node-1"]);
    for (const node of items) {
      expect(isTrue(node.status.conditions, "Ready")).toBe(true);
      expect(node.spec.taints ?? []).toEqual([]);
      expect(node.status.allocatable).toMatchObject({ cpu: "32", memory: "128Gi", pods: "110" });
      expect(node.metadata.labels).toMatchObject({ type: "kwok", "kubernetes.io/os": "linux" });
    }
    expect(items.map((n) => n.metadata.labels["topology.kubernetes.io/zone"])).toEqual([
      "local-a",
      "local-b",
    ]);
  });

  it("runs a 2-replica Deployment to Available, its pods Running and Ready on the kwok nodes", async () => {
    const ns = await namespace("apps");
    const labels = { app: "web" };
    await api.post(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: "web", image: "nginx:1.29" }] } },
      },
    });

    const status = await eventually("Deployment web Available", async () => {
      const d = await api.get<{ status: { availableReplicas?: number; conditions?: Condition[] } }>(
        `/apis/apps/v1/namespaces/${ns}/deployments/web`,
      );
      return isTrue(d.status.conditions, "Available") && d.status.availableReplicas === 2
        ? d.status
        : undefined;
    });
    const { items: pods } = await api.get<{ items: Pod[] }>(
      `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`,
    );

    expect(status.availableReplicas).toBe(2);
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.status.phase).toBe("Running");
      expect(isTrue(pod.status.conditions, "Ready")).toBe(true);
      expect(cluster.nodeNames).toContain(pod.spec.nodeName);
      expect(pod.status.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
    }
  });

  it("runs a Job to completion", async () => {
    const ns = await namespace("jobs");
    await api.post(`/apis/batch/v1/namespaces/${ns}/jobs`, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "migrate" },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: "Never",
            containers: [{ name: "migrate", image: "busybox:1.37", command: ["true"] }],
          },
        },
      },
    });

    const job = await eventually("Job migrate Complete", async () => {
      const j = await api.get<{ status: { succeeded?: number; conditions?: Condition[] } }>(
        `/apis/batch/v1/namespaces/${ns}/jobs/migrate`,
      );
      return isTrue(j.status.conditions, "Complete") ? j : undefined;
    });

    expect(job.status.succeeded).toBe(1);
    expect(isTrue(job.status.conditions, "Failed")).toBe(false);
  });

  it("accepts a CronJob", async () => {
    const ns = await namespace("cron");
    const created = await api.post<{ metadata: { uid?: string } }>(
      `/apis/batch/v1/namespaces/${ns}/cronjobs`,
      {
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name: "nightly" },
        spec: {
          schedule: "0 3 * * *",
          jobTemplate: {
            spec: {
              template: {
                spec: { restartPolicy: "OnFailure", containers: [{ name: "n", image: "busybox:1.37" }] },
              },
            },
          },
        },
      },
    );
    const read = await api.get<{ spec: { schedule: string } }>(
      `/apis/batch/v1/namespaces/${ns}/cronjobs/nightly`,
    );

    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(read.spec.schedule).toBe("0 3 * * *");
  });

  describe("Pod Security Admission, in a namespace labelled enforce=restricted", () => {
    const restricted = { "pod-security.kubernetes.io/enforce": "restricted" };
    const pod = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec,
    });

    it("refuses a privileged pod with the PodSecurity message", async () => {
      const ns = await namespace("psa-privileged", restricted);

      const response = await api.request<{ message: string; reason: string }>(
        "POST",
        `/api/v1/namespaces/${ns}/pods`,
        pod("root", {
          containers: [{ name: "app", image: "busybox:1.37", securityContext: { privileged: true } }],
        }),
      );

      expect(response.status).toBe(403);
      expect(response.body.reason).toBe("Forbidden");
      expect(response.body.message).toContain(
        'pods "root" is forbidden: violates PodSecurity "restricted:latest"',
      );
      expect(response.body.message).toContain(
        'privileged (container "app" must not set securityContext.privileged=true)',
      );
    });

    it("admits a pod that meets the restricted level, and kwok runs it", async () => {
      const ns = await namespace("psa-restricted", restricted);

      await api.post(
        `/api/v1/namespaces/${ns}/pods`,
        pod("app", {
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "app",
              image: "busybox:1.37",
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        }),
      );
      const running = await eventually("pod app Running", async () => {
        const p = await api.get<Pod>(`/api/v1/namespaces/${ns}/pods/app`);
        return p.status.phase === "Running" ? p : undefined;
      });

      expect(cluster.nodeNames).toContain(running.spec.nodeName);
    });
  });

  it("issues ServiceAccount tokens (TokenRequest) that the API server accepts, under RBAC", async () => {
    const ns = await namespace("tokens");

    const request = await api.post<{ status: { token: string } }>(
      `/api/v1/namespaces/${ns}/serviceaccounts/default/token`,
      { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 600 } },
    );
    const [, payload = ""] = request.status.token.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
      iss: string;
      sub: string;
    };
    const asServiceAccount = api.withToken(request.status.token);
    const review = await asServiceAccount.post<{ status: { userInfo: { username: string } } }>(
      "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    );
    const nodes = await asServiceAccount.get("/api/v1/nodes").catch((err: unknown) => err);
    const rootCa = await eventually("kube-root-ca.crt", () =>
      api
        .request<{ data: Record<string, string> }>(
          "GET",
          `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`,
        )
        .then((r) => (r.status === 200 ? r.body.data["ca.crt"] : undefined)),
    );
    asServiceAccount.close();

    expect(claims).toMatchObject({
      iss: "https://kubernetes.default.svc.cluster.local",
      sub: `system:serviceaccount:${ns}:default`,
    });
    expect(review.status.userInfo.username).toBe(`system:serviceaccount:${ns}:default`);
    expect(nodes).toBeInstanceOf(KubeApiError);
    expect((nodes as KubeApiError).status).toBe(403);
    expect(rootCa).toBe(readFileSync(cluster.caFile, "utf8"));
  });

  it("stop() ends every process and removes the data folder", async () => {
    const pids = cluster.processes.map((p) => p.pid);
    expect(processesMentioning(cluster.dataDir)).toHaveLength(5);

    await cluster.stop();

    for (const pid of pids) expect(() => process.kill(pid, 0), `pid ${pid}`).toThrow();
    expect(processesMentioning(cluster.dataDir)).toEqual([]);
    expect(existsSync(cluster.dataDir)).toBe(false);
  });
});
