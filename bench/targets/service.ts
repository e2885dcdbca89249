/** plinth's service under test: its environment, its start, and what the bench asks it. */
import { z } from "zod";
import { ENV, loadConfig, type ServiceConfig } from "../../service/config.js";
import { LOOPBACK, loopbackOrigin } from "../load/target.js";
import { SERVICE_ENTRY } from "../paths.js";
import { freePort } from "../processes.js";
import { baseEnv, launch, targetsFor, type RunningServer } from "./launch.js";
import type { Payloads } from "./payloads.js";

/** The settings the bench owns; `--env` may not change them. */
const BENCH_OWNED = [
  ENV.HOST,
  ENV.PORT,
  ENV.METRICS_HOST,
  ENV.METRICS_PORT,
  ENV.API_KEYS,
  ENV.API_KEY_HASHES,
] as const;

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

/** The compiled service, as `npm start` and the image run it: one process whose RSS is the service's. */
export function startService(
  service: ServiceLaunch,
  apiKey: string,
  payloads: Payloads,
): Promise<RunningServer> {
  return launch({
    name: "service",
    command: process.execPath,
    args: [SERVICE_ENTRY],
    env: service.env,
    port: service.port,
    readyPath: "/ready",
    targets: targetsFor(service.port, { json: "/predict", png: "/predict-image" }, apiKey, payloads),
  });
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
