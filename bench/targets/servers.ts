/**
 * Starting the three servers under test as child processes on loopback ports, each with the same
 * two targets (the JSON row, the PNG) so every server gets byte-identical requests.
 */
import { existsSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { z } from "zod";
import { ENV, loadConfig, type ServiceConfig } from "../../service/config.js";
import { FLOOR_HEALTH_PATH, FLOOR_PATH } from "../floors/http-floor-contract.js";
import { LOOPBACK, loopbackOrigin, type HttpTarget } from "../load/target.js";
import { HTTP_FLOOR_ENTRY, PEER_APP_DIR, PEER_PYTHON, REPO_ROOT, SERVICE_ENTRY } from "../paths.js";
import { freePort, startProcess, waitUntilReady, type ManagedProcess } from "../processes.js";
import type { Route, ServerName } from "../results.js";
import type { Payloads } from "./payloads.js";

const STARTUP_TIMEOUT_MS = 120_000;

export interface RunningServer {
  readonly name: ServerName;
  readonly process: ManagedProcess;
  readonly port: number;
  readonly targets: Readonly<Record<Route, HttpTarget>>;
  /** Milliseconds from spawn to ready. */
  readonly startupMs: number;
}

/** The settings the bench owns; `--env` may not change them. */
const BENCH_OWNED = [
  ENV.HOST,
  ENV.PORT,
  ENV.METRICS_HOST,
  ENV.METRICS_PORT,
  ENV.API_KEYS,
  ENV.API_KEY_HASHES,
] as const;

/** The environment every child starts from: no inherited settings, only what a process needs to run. */
function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", LANG: "C.UTF-8" };
}

export interface ServiceLaunch {
  readonly env: Readonly<Record<string, string>>;
  /** The configuration the service will run with, as its own loader reads it. */
  readonly config: ServiceConfig;
  readonly port: number;
  readonly metricsPort: number;
}

/**
 * The service's environment: loopback ports, one API key, and a rate limit high enough that the
 * bench (one identity at thousands of requests per second) measures serving, not 429s; request
 * logs at `warn`, as the peer runs without an access log. `overrides` come from `--env`.
 */
export async function serviceLaunch(
  apiKey: string,
  overrides: Readonly<Record<string, string>>,
): Promise<ServiceLaunch> {
  const owned = Object.keys(overrides).filter((name) => (BENCH_OWNED as readonly string[]).includes(name));
  if (owned.length > 0) throw new Error(`--env: ${owned.join(", ")} are set by the bench`);
  const port = await freePort();
  const metricsPort = await freePort();
  const env = {
    ...baseEnv(),
    [ENV.HOST]: LOOPBACK,
    [ENV.PORT]: String(port),
    [ENV.METRICS_HOST]: LOOPBACK,
    [ENV.METRICS_PORT]: String(metricsPort),
    [ENV.API_KEYS]: `bench:${apiKey}`,
    [ENV.RATE_LIMIT_MAX]: "100000000",
    [ENV.LOG_LEVEL]: "warn",
    ...overrides,
  };
  return { env, config: loadConfig(env), port, metricsPort };
}

function targetsFor(
  port: number,
  paths: Record<Route, string>,
  apiKey: string,
  payloads: Payloads,
): Record<Route, HttpTarget> {
  return {
    json: {
      port,
      method: "POST",
      path: paths.json,
      headers: { "content-type": "application/json", "x-api-key": apiKey },
      body: payloads.jsonRow,
    },
    png: {
      port,
      method: "POST",
      path: paths.png,
      headers: { "content-type": "image/png", "x-api-key": apiKey },
      body: payloads.png,
    },
  };
}

async function launch(
  name: ServerName,
  command: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  readyPath: string,
  targets: Record<Route, HttpTarget>,
): Promise<RunningServer> {
  const started = performance.now();
  const proc = startProcess({ name, command, args, env, cwd: REPO_ROOT });
  try {
    await waitUntilReady(proc, port, readyPath, STARTUP_TIMEOUT_MS);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { name, process: proc, port, targets, startupMs: performance.now() - started };
}

/** `node --import tsx service/main.ts`: what `npm start` runs, as one process whose RSS is the service's. */
export function startService(
  launchSpec: ServiceLaunch,
  apiKey: string,
  payloads: Payloads,
): Promise<RunningServer> {
  return launch(
    "service",
    process.execPath,
    ["--import", "tsx", SERVICE_ENTRY],
    { ...launchSpec.env },
    launchSpec.port,
    "/ready",
    targetsFor(launchSpec.port, { json: "/predict", png: "/predict-image" }, apiKey, payloads),
  );
}

/** The floor gets the same headers, API key included, so it parses the same bytes. */
export async function startHttpFloor(apiKey: string, payloads: Payloads): Promise<RunningServer> {
  const port = await freePort();
  return launch(
    "floor",
    process.execPath,
    ["--import", "tsx", HTTP_FLOOR_ENTRY, String(port)],
    baseEnv(),
    port,
    FLOOR_HEALTH_PATH,
    targetsFor(port, { json: FLOOR_PATH, png: FLOOR_PATH }, apiKey, payloads),
  );
}

export async function startPeer(
  modelPath: string,
  config: ServiceConfig,
  workers: number,
  apiKey: string,
  payloads: Payloads,
): Promise<RunningServer> {
  if (!existsSync(PEER_PYTHON)) {
    throw new Error(`${PEER_PYTHON} is missing: run \`bash scripts/install-test-tools.sh --bench\``);
  }
  const port = await freePort();
  const args = [
    "-m",
    "uvicorn",
    "server:app",
    "--app-dir",
    PEER_APP_DIR,
    "--host",
    LOOPBACK,
    "--port",
    String(port),
  ];
  args.push(
    "--workers",
    String(workers),
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
  );
  const env = {
    ...baseEnv(),
    PEER_MODEL: modelPath,
    PEER_API_KEY: apiKey,
    PEER_INTRA_OP_THREADS: String(config.ort.intraOpThreads),
    PEER_INTER_OP_THREADS: String(config.ort.interOpThreads),
  };
  const targets = targetsFor(port, { json: "/predict", png: "/predict-image" }, apiKey, payloads);
  return launch("peer", PEER_PYTHON, args, env, port, "/health", targets);
}

/** The peer's /health: its Python and package versions, for the report header. */
export async function peerVersions(server: RunningServer): Promise<Record<string, string>> {
  const response = await fetch(loopbackOrigin(server.port) + "/health", {
    signal: AbortSignal.timeout(5000),
  });
  return (await response.json()) as Record<string, string>;
}

/** One scrape of the service's internal metrics port. */
export async function scrapeMetrics(metricsPort: number): Promise<string> {
  const response = await fetch(loopbackOrigin(metricsPort) + "/metrics", {
    signal: AbortSignal.timeout(5000),
  });
  if (response.status !== 200)
    throw new Error(`GET /metrics on port ${metricsPort} answered ${response.status}`);
  return response.text();
}

const serviceDescription = z.object({
  warmup: z.object({
    singleRowMs: z.number(),
    fullBatchMs: z.number(),
    fullBatchRows: z.number(),
    offloaded: z.boolean(),
  }),
  batching: z.object({ maxBatchSize: z.number(), maxDelayMs: z.number(), queueMaxRows: z.number() }),
});

/** How the service chose to run: its warm-up measurements, offload decision and batching settings. */
export type ServiceDescription = z.infer<typeof serviceDescription>;

export async function describeService(server: RunningServer, apiKey: string): Promise<ServiceDescription> {
  const response = await fetch(loopbackOrigin(server.port) + "/metadata", {
    headers: { "x-api-key": apiKey },
    signal: AbortSignal.timeout(5000),
  });
  if (response.status !== 200) throw new Error(`GET /metadata answered ${response.status}`);
  return serviceDescription.parse(await response.json());
}
