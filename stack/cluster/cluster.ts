/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver (RBAC, Pod Security Admission,
 * service-account tokens), kube-controller-manager, kube-scheduler, and kwok playing the kubelet of
 * a few fake nodes. `startLocalCluster` returns once a Deployment actually becomes Available on
 * those nodes; `stop` ends every process and removes the data folder.
 *
 *   const cluster = await startLocalCluster();
 *   // cluster.kubeconfigPath for pulumi/kubectl, cluster.api for direct calls
 *   await cluster.stop();
 */
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { KubeApi } from "./api-client.js";
import { locateClusterBinaries, type ClusterBinaries } from "./binaries.js";
import { writeClusterFiles } from "./cluster-files.js";
import {
  LOOPBACK,
  apiserverArgs,
  controllerManagerArgs,
  etcdArgs,
  kwokArgs,
  schedulerArgs,
} from "./component-args.js";
import { createDataDir, removeDataDirSync } from "./data-dir.js";
import { DEFAULT_NODE_CAPACITY, DEFAULT_NODE_COUNT, fakeNode, nodeName, type NodeCapacity } from "./nodes.js";
import { allocatePorts, type ClusterPorts } from "./ports.js";
import { ClusterProcess } from "./process.js";
import { exists, httpOk, nodesReady, proveWorkloadsRun, waitFor, type WaitContext } from "./readiness.js";

export type { ClusterPorts } from "./ports.js";
export type { NodeCapacity } from "./nodes.js";
export { KubeApi, KubeApiError } from "./api-client.js";

export interface LocalClusterOptions {
  /** Loopback ports to use; every one left out is a free port picked at start. */
  readonly ports?: Partial<ClusterPorts>;
  /** How many fake (kwok) nodes. @default 2 */
  readonly nodes?: number;
  /** What each node offers the scheduler. @default 32 CPU, 128Gi memory, 110 pods, 500Gi ephemeral storage */
  readonly nodeCapacity?: Partial<NodeCapacity>;
  /** Where the data folder (`plinth-cluster-*`) is made. @default os.tmpdir() */
  readonly parentDir?: string;
  /** Longest wait for any one readiness step. @default 120000 */
  readonly timeoutMs?: number;
  /** Stops the start (and everything started so far) when aborted, e.g. on Ctrl-C. */
  readonly signal?: AbortSignal;
  /** The programs to run. @default located by locateClusterBinaries() */
  readonly binaries?: ClusterBinaries;
  /** Progress lines while starting ("etcd healthy (0.4 s)"). @default silent */
  readonly log?: (line: string) => void;
}

export interface ClusterProcessInfo {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
}

/** A program that runs against the cluster from outside it, as a controller its owners run would. */
export interface ClusterClientSpec {
  /** Short name for messages and the log file (`<dataDir>/<name>.log`). */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Added to the cluster processes' environment (PATH, HOME: the data folder). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface LocalCluster {
  /** The API server's URL: https://127.0.0.1:<port>. */
  readonly server: string;
  /** A cluster-admin kubeconfig (bearer token, the CA embedded), and the file holding it. */
  readonly kubeconfig: string;
  readonly kubeconfigPath: string;
  /** The PEM file of the CA the API server's certificate chains to. */
  readonly caFile: string;
  /** The cluster's temporary folder: keys, etcd data, kubeconfigs, one log per process. */
  readonly dataDir: string;
  readonly ports: ClusterPorts;
  readonly nodeNames: readonly string[];
  /** kube-apiserver's /version gitVersion, e.g. v1.34.2. */
  readonly version: string;
  /** From the call to startLocalCluster to a Deployment Available, in milliseconds. */
  readonly startupMs: number;
  readonly processes: readonly ClusterProcessInfo[];
  /** A cluster-admin API client (closed by stop). */
  readonly api: KubeApi;
  /** Resident memory of each process, in bytes (Linux /proc). */
  rssBytes(): Record<string, number>;
  /** Resolves with a message and the log's tail if a process exits while the cluster is not stopping. */
  readonly crashed: Promise<string>;
  /**
   * Starts a program against the cluster (cwd: the data folder, log: `<name>.log` there). It is the
   * cluster's from then on: `stop()` ends it first (it may also be stopped on its own before),
   * the exit handler kills it, and an exit nobody asked for resolves `crashed`.
   */
  startClient(spec: ClusterClientSpec): ClusterProcess;
  /** SIGTERM to every process (SIGKILL after a grace period), then removes the data folder. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 120_000;

function rssOf(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** Starts the cluster and waits until workloads run on it; on any failure, cleans up and throws. */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const began = performance.now();
  const log = options.log ?? (() => undefined);
  const step = (what: string) => log(`${what} (${((performance.now() - began) / 1000).toFixed(1)} s)`);
  const nodeCount = options.nodes ?? DEFAULT_NODE_COUNT;
  if (!Number.isInteger(nodeCount) || nodeCount < 1) {
    throw new Error(`local cluster: nodes must be >= 1, got ${nodeCount}`);
  }
  const capacity: NodeCapacity = { ...DEFAULT_NODE_CAPACITY, ...options.nodeCapacity };
  const binaries = options.binaries ?? locateClusterBinaries();

  const dataDir = await createDataDir(options.parentDir);
  const processes: ClusterProcess[] = [];
  const waits: WaitContext = {
    processes,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  // If the parent exits without stop(): kill the groups and remove the folder. (A parent killed
  // outright runs no handler: the parent-death signal ends the processes, the next start sweeps.)
  const onExit = () => {
    processes.forEach((proc) => proc.kill());
    removeDataDirSync(dataDir);
  };
  process.on("exit", onExit);
  let api: KubeApi | undefined;
  let stopping: Promise<void> | undefined;
  /** Programs started by startClient, stopped before the control plane's own. */
  const clients: ClusterProcess[] = [];
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      api?.close();
      // Programs started against the cluster first, then the API server's other clients, so none
      // of them logs a vanished API server; etcd last.
      await Promise.all(clients.map((proc) => proc.stop()));
      const [etcd, apiserver, ...components] = processes.filter((proc) => !clients.includes(proc));
      await Promise.all(components.map((proc) => proc.stop()));
      await apiserver?.stop();
      await etcd?.stop();
      process.off("exit", onExit);
      await rm(dataDir, { recursive: true, force: true });
    })());

  try {
    const ports = await allocatePorts(options.ports);
    const files = await writeClusterFiles(dataDir, ports);
    const { context, server } = files;
    step("keys, certificates and kubeconfigs written");

    // Only what the programs need: no KUBECONFIG or proxy settings of the caller leak in, and
    // kwok's work folder (whose kwok.yaml it would also load) is ours, not ~/.kwok.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dataDir,
      KWOK_WORKDIR: path.join(dataDir, "kwok"),
    };
    const start = (name: string, command: string, args: string[]) => {
      options.signal?.throwIfAborted();
      const logFile = path.join(dataDir, `${name}.log`);
      processes.push(ClusterProcess.start({ name, command, args, env, cwd: dataDir, logFile }));
    };

    start("etcd", binaries.etcd, etcdArgs(context));
    await waitFor("etcd healthy", httpOk(`http://${LOOPBACK}:${ports.etcdClient}/health`), waits);
    step("etcd healthy");

    start("kube-apiserver", binaries.apiserver, apiserverArgs(context));
    const admin = new KubeApi({
      server,
      caPem: context.credentials.caPem,
      token: context.credentials.tokens.admin,
    });
    api = admin;
    const readyz = () => admin.get("/readyz").then(() => true);
    await waitFor("kube-apiserver /readyz", readyz, waits);
    const { gitVersion } = await admin.get<{ gitVersion: string }>("/version");
    step(`kube-apiserver ${gitVersion} ready`);

    start("kube-controller-manager", binaries.controllerManager, controllerManagerArgs(context));
    start("kube-scheduler", binaries.scheduler, schedulerArgs(context));
    start("kwok", binaries.kwok, kwokArgs(context));
    const nodeNames = Array.from({ length: nodeCount }, (_, i) => nodeName(i));
    await Promise.all(
      nodeNames.map((_, i) => admin.post("/api/v1/nodes", fakeNode(i, capacity, gitVersion))),
    );
    await Promise.all([
      waitFor(
        "kube-controller-manager healthy",
        httpOk(`https://${LOOPBACK}:${ports.controllerManager}/healthz`),
        waits,
      ),
      waitFor("kube-scheduler healthy", httpOk(`https://${LOOPBACK}:${ports.scheduler}/healthz`), waits),
      waitFor("kwok healthy", httpOk(`http://${LOOPBACK}:${ports.kwok}/healthz`), waits),
      waitFor(`${nodeCount} nodes Ready`, nodesReady(admin, nodeNames), waits),
      waitFor(
        "the default ServiceAccount",
        exists(admin, "/api/v1/namespaces/default/serviceaccounts/default"),
        waits,
      ),
    ]);
    step(`controller-manager, scheduler and kwok healthy; ${nodeCount} nodes Ready`);

    await proveWorkloadsRun(admin, waits);
    const startupMs = Math.round(performance.now() - began);
    step("a 2-replica Deployment became Available");

    let reportCrash: (message: string) => void = () => undefined;
    const crashed = new Promise<string>((resolve) => (reportCrash = resolve));
    // A process ending because stop() asked it to is no crash: never resolve then.
    const watch = (proc: ClusterProcess) =>
      void proc.exited.then((status) => {
        if (stopping === undefined && !proc.stopRequested)
          reportCrash(
            `${proc.name} exited (${status}); last lines of ${proc.spec.logFile}:\n${proc.logTail()}`,
          );
      });
    processes.forEach((proc) => watch(proc));
    const startClient = (spec: ClusterClientSpec): ClusterProcess => {
      if (stopping !== undefined) throw new Error(`local cluster: stopped; cannot start ${spec.name}`);
      const proc = ClusterProcess.start({
        name: spec.name,
        command: spec.command,
        args: spec.args,
        env: { ...env, ...spec.env },
        cwd: dataDir,
        logFile: path.join(dataDir, `${spec.name}.log`),
      });
      clients.push(proc);
      // In the exit handler's list too; stop() ends it before the control plane.
      processes.push(proc);
      watch(proc);
      return proc;
    };
    return {
      server,
      kubeconfig: files.adminKubeconfig,
      kubeconfigPath: files.adminKubeconfigFile,
      caFile: context.credentials.caFile,
      dataDir,
      ports,
      nodeNames,
      version: gitVersion,
      startupMs,
      processes: processes.map((proc) => ({ name: proc.name, pid: proc.pid, logFile: proc.spec.logFile })),
      api: admin,
      rssBytes: () => Object.fromEntries(processes.map((proc) => [proc.name, rssOf(proc.pid)])),
      crashed,
      startClient,
      stop,
    };
  } catch (err) {
    const logs = processes
      .map((proc) => `--- ${proc.name} (${proc.spec.logFile}):\n${proc.logTail(8)}`)
      .join("\n");
    await stop();
    if (options.signal?.aborted) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(logs === "" ? message : `${message}\n\nlast log lines:\n${logs}`, { cause: err });
  }
}
