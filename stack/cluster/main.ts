/**
 * `npm run cluster:local`: starts the local control plane (free loopback ports unless given), prints
 * where it is and how to use it, and on Ctrl-C or SIGTERM stops every process and removes its
 * folder. Exits 1 if a process of the cluster dies.
 */
import { copyFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { startLocalCluster, type LocalCluster } from "./cluster.js";

const USAGE = `usage: npm run cluster:local -- [--nodes N] [--api-port PORT] [--kubeconfig-out FILE]
  --nodes N              fake (kwok) nodes, default 2 (32 CPU, 128Gi, 110 pods each)
  --api-port PORT        kube-apiserver's port on 127.0.0.1, default a free one
  --kubeconfig-out FILE  also copy the admin kubeconfig there (it is not removed on stop)
`;

const { values } = parseArgs({
  options: {
    nodes: { type: "string" },
    "api-port": { type: "string" },
    "kubeconfig-out": { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`cluster:local: ${flag} must be a positive integer, got ${value}\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

const nodes = positiveInteger("--nodes", values.nodes);
const apiPort = positiveInteger("--api-port", values["api-port"]);

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

function summary(cluster: LocalCluster): string {
  const rss = cluster.rssBytes();
  const total = Object.values(rss).reduce((a, b) => a + b, 0);
  const processes = cluster.processes
    .map(
      (p) =>
        `  ${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${mebibytes(rss[p.name] ?? 0).padStart(8)}  ${p.logFile}`,
    )
    .join("\n");
  return `
local Kubernetes ${cluster.version} is up in ${(cluster.startupMs / 1000).toFixed(1)} s (Ctrl-C stops it and removes ${cluster.dataDir})

  API server   ${cluster.server}
  kubeconfig   ${cluster.kubeconfigPath}
  CA           ${cluster.caFile}
  nodes        ${cluster.nodeNames.join(", ")}

${processes}
  ${"total".padEnd(24)} ${"".padEnd(12)} ${mebibytes(total).padStart(8)}

  export KUBECONFIG=${values["kubeconfig-out"] ?? cluster.kubeconfigPath}
`;
}

let cluster: LocalCluster | undefined;
const starting = new AbortController();
let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`\ncluster:local: ${signal}, stopping every process\n`);
  // While starting, the abort makes startLocalCluster stop what it started and reject (below).
  if (cluster === undefined) starting.abort(new Error(signal));
  else void cluster.stop().finally(() => process.exit(0));
};
process.once("SIGINT", () => shutdown("SIGINT"));
process.once("SIGTERM", () => shutdown("SIGTERM"));

try {
  cluster = await startLocalCluster({
    ...(nodes === undefined ? {} : { nodes }),
    ...(apiPort === undefined ? {} : { ports: { apiserver: apiPort } }),
    signal: starting.signal,
    log: (line) => process.stderr.write(`cluster:local: ${line}\n`),
  });
  if (values["kubeconfig-out"] !== undefined)
    await copyFile(cluster.kubeconfigPath, values["kubeconfig-out"]);
  process.stdout.write(summary(cluster));
  const running = cluster;
  void running.crashed.then(async (message) => {
    process.stderr.write(`cluster:local: ${message}\n`);
    await running.stop();
    process.exit(1);
  });
} catch (err) {
  if (starting.signal.aborted) process.exit(0);
  process.stderr.write(`cluster:local: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
