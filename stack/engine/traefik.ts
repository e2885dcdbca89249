/**
 * The real Traefik (the binary the test-tools script builds at TRAEFIK_VERSION) as the local
 * cluster's Gateway API controller, run from outside the cluster as the brownfield's owners would
 * run it inside: its `kubernetesGateway` provider accepts GatewayClasses of controller
 * `traefik.io/gateway-controller` and programs their Gateways and HTTPRoutes, its `kubernetesCRD`
 * provider serves the Middlewares those routes name, and both write their status to the API server.
 *
 * Traefik finds a Gateway listener's entry point by its port (an entry point whose address ends in
 * `:<listener port>`), so the entry points must listen on exactly the ports plinth's Gateway
 * listeners say (components/gateway/traefik.ts: 8000 and 8443). Two test files may each run one:
 * each gets its own loopback address (127.x.y.z, all of 127/8 is loopback on Linux) on which those
 * ports are free, so the match holds and nothing collides.
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { randomInt } from "node:crypto";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { TRAEFIK_ENTRY_POINTS } from "../../components/gateway/traefik.js";
import { REPO_ROOT } from "../cluster/binaries.js";
import type { LocalCluster } from "../cluster/cluster.js";
import type { ClusterProcess } from "../cluster/process.js";
import { httpOk, waitFor } from "../cluster/readiness.js";
import { isExecutable } from "../shared/executable.js";

/** Where the test-tools script links the Traefik it builds. */
export const TRAEFIK_BINARY = path.join(REPO_ROOT, ".tools", "bin", "traefik");

/** How long an upstream connection may take: kwok's pods have addresses but no process behind them. */
const DIAL_TIMEOUT = "2s";

export interface TraefikArgsOptions {
  /** The loopback address every entry point listens on. */
  readonly address: string;
  /** The port of the `traefik` entry point (ping), on the same address. */
  readonly pingPort: number;
  /** Where the access log (JSON, one request a line) goes. */
  readonly accessLogFile: string;
}

/** Traefik's static configuration, as command-line flags. */
export function traefikArgs(options: TraefikArgsOptions): string[] {
  const { address, pingPort, accessLogFile } = options;
  return [
    `--entryPoints.web.address=${address}:${TRAEFIK_ENTRY_POINTS.web.port}`,
    `--entryPoints.websecure.address=${address}:${TRAEFIK_ENTRY_POINTS.websecure.port}`,
    `--entryPoints.traefik.address=${address}:${pingPort}`,
    "--ping=true",
    "--ping.entryPoint=traefik",
    "--providers.kubernetesGateway=true",
    // Gateways report where they listen, as a LoadBalancer Service's address would.
    `--providers.kubernetesGateway.statusAddress.ip=${address}`,
    "--providers.kubernetesCRD=true",
    "--providers.kubernetesCRD.allowCrossNamespace=true",
    `--serversTransport.forwardingTimeouts.dialTimeout=${DIAL_TIMEOUT}`,
    // Offline: no version check, no usage reports.
    "--global.checkNewVersion=false",
    "--global.sendAnonymousUsage=false",
    "--log.level=INFO",
    // Which router and which backend served each request: what proves a route routes.
    "--accessLog=true",
    `--accessLog.filePath=${accessLogFile}`,
    "--accessLog.format=json",
    "--accessLog.bufferingSize=0",
  ];
}

/** Whether every port can be bound on `address` right now. */
async function portsFree(address: string, ports: readonly number[]): Promise<boolean> {
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, address, () => server.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

/**
 * A loopback address (127.x.y.z, never 127.0.0.1) on which the entry points' ports are free, and a
 * free port there for the ping entry point. A port held on the wildcard address (0.0.0.0) makes
 * every address refuse it: then no address works, and this says so.
 */
export async function pickTraefikAddress(attempts = 20): Promise<{ address: string; pingPort: number }> {
  const ports: number[] = [TRAEFIK_ENTRY_POINTS.web.port, TRAEFIK_ENTRY_POINTS.websecure.port];
  for (let i = 0; i < attempts; i++) {
    const address = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    if (!(await portsFree(address, ports))) continue;
    const pingPort = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, address, () => {
        const bound = server.address();
        server.close(() => resolve(typeof bound === "object" && bound !== null ? bound.port : 0));
      });
    });
    if (pingPort > 0 && !ports.includes(pingPort)) return { address, pingPort };
  }
  throw new Error(
    `Traefik: ports ${ports.join(" and ")} are taken on every loopback address tried ` +
      "(a process listening on 0.0.0.0 holds them everywhere); plinth's Gateway listeners need exactly these ports",
  );
}

/** One line of Traefik's JSON access log (the fields used here). */
export interface AccessLogEntry {
  readonly RequestHost: string;
  readonly RequestPath: string;
  readonly RequestScheme?: string;
  readonly RouterName?: string;
  readonly ServiceName?: string;
  /** The backend the request was sent to (http://<pod IP>:<port>). */
  readonly ServiceURL?: string;
  readonly OriginStatus?: number;
  readonly DownstreamStatus: number;
}

export interface RunningTraefik {
  /** The loopback address its entry points listen on (also each Gateway's status address). */
  readonly address: string;
  /** http://<address>:8000: the Gateway's HTTP listeners. */
  readonly webUrl: string;
  /** https://<address>:8443: the Gateway's HTTPS listeners. */
  readonly websecureUrl: string;
  readonly process: ClusterProcess;
  /** The requests it has served so far, oldest first. */
  accessLog(): Promise<AccessLogEntry[]>;
  /** Stops Traefik (the cluster's stop() also does). */
  stop(): Promise<void>;
}

export interface StartTraefikOptions {
  /** @default .tools/bin/traefik */
  readonly binary?: string;
  /** Longest wait for its ping. @default 60000 */
  readonly timeoutMs?: number;
}

/**
 * Starts Traefik against the cluster (its admin kubeconfig through KUBECONFIG, which Traefik's
 * Kubernetes providers read when they run outside a cluster) and waits until it answers its ping.
 * The cluster owns the process: it stops with the cluster.
 */
export async function startTraefik(
  cluster: LocalCluster,
  options: StartTraefikOptions = {},
): Promise<RunningTraefik> {
  const binary = options.binary ?? TRAEFIK_BINARY;
  if (!isExecutable(binary)) {
    throw new Error(`Traefik is not installed at ${binary}: run \`bash scripts/install-test-tools.sh\``);
  }
  const { address, pingPort } = await pickTraefikAddress();
  const accessLogFile = path.join(cluster.dataDir, "traefik-access.log");
  const proc = cluster.startClient({
    name: "traefik",
    command: binary,
    args: traefikArgs({ address, pingPort, accessLogFile }),
    env: { KUBECONFIG: cluster.kubeconfigPath },
  });
  try {
    await waitFor("Traefik's ping", httpOk(`http://${address}:${pingPort}/ping`), {
      processes: [proc],
      timeoutMs: options.timeoutMs ?? 60_000,
    });
  } catch (error) {
    await proc.stop();
    throw new Error(`${(error as Error).message}\nlast lines of ${proc.spec.logFile}:\n${proc.logTail()}`, {
      cause: error,
    });
  }
  return {
    address,
    webUrl: `http://${address}:${TRAEFIK_ENTRY_POINTS.web.port}`,
    websecureUrl: `https://${address}:${TRAEFIK_ENTRY_POINTS.websecure.port}`,
    process: proc,
    accessLog: async () =>
      (await readFile(accessLogFile, "utf8").catch(() => ""))
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as AccessLogEntry),
    stop: async () => {
      await proc.stop();
      // Its sockets close with it; a new start right after must find the ports free.
      await sleep(50);
    },
  };
}
