/**
 * One bench run, phase by phase: the in-process floors, then the service, the HTTP floor and the
 * FastAPI peer, each started alone, loaded with the same parameters, and stopped before the next,
 * so no two servers ever compete for the CPU. A phase that fails is recorded and the run goes on;
 * its checks show N/A.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { readModelMetadata } from "../service/model/onnx-format.js";
import { LocalRegistry } from "../service/registry/local.js";
import { measureImageFloor } from "./floors/image-floor.js";
import { measureInferenceFloor } from "./floors/inference-floor.js";
import { runFixedRate } from "./load/fixed-rate.js";
import { runSaturation, type SaturationResult } from "./load/saturation.js";
import type { LoadShape } from "./load/target.js";
import { describeMachine } from "./machine.js";
import { measureOip } from "./oip-phase.js";
import { oipRequest, type OipBody } from "./oip-request.js";
import type { BenchOptions } from "./options.js";
import { processTreeCpuSeconds, processTreeRssBytes } from "./proc.js";
import { RssSampler } from "./rss.js";
import {
  ROUTES,
  type BenchResults,
  type Route,
  type RouteResult,
  type ShadowResult,
  type SoakResult,
} from "./results.js";
import {
  inferenceCostBetween,
  inferenceCounters,
  shadowCounters,
  shadowCountersBetween,
} from "./stats/prometheus-text.js";
import { rssTimeline, rssTrend } from "./stats/rss-trend.js";
import { defaultSamplePath, loadPayloads } from "./targets/payloads.js";
import { startHttpFloor } from "./targets/floor.js";
import { STARTUP_TIMEOUT_MS, type RunningServer } from "./targets/launch.js";
import { OIP_PEERS } from "./targets/oip-peers.js";
import { describePlinth, describeTuning, ortThreadsText, tuningFor } from "./targets/oip-tuning.js";
import { peerVersions, startPeer } from "./targets/peer.js";
import { describeService, scrapeMetrics, serviceLaunch, startService } from "./targets/service.js";
import { prepareShadowRegistry, SHADOW_PERCENT, SHADOW_RUN_ORDER, shadowLegEnv } from "./targets/shadow.js";

export type Log = (line: string) => void;

/** In-process floors get at most this much time each, whatever the phase duration. */
const FLOOR_BUDGET_MS = 10_000;
const GRACE_BOUND_SECONDS = 10;
const LOAD_RSS_SAMPLE_MS = 250;
const SOAK_RSS_SAMPLE_MS = 1000;

function graceSeconds(options: BenchOptions): number {
  return Math.min(GRACE_BOUND_SECONDS, Math.max(2, options.durationSeconds));
}

/**
 * The longest a run can take when every phase uses its whole bound: the watchdog in main.ts stops
 * the bench (and its children) past it.
 */
export function runTimeBoundSeconds(options: BenchOptions): number {
  const { durationSeconds: d, warmupSeconds: w } = options;
  const perServer =
    STARTUP_TIMEOUT_MS / 1000 + ROUTES.length * (w + d) + ROUTES.length * (d + graceSeconds(options) + 1);
  const servers = options.peer ? 3 : 2;
  // The OIP comparison: three servers, each started for its saturation and again for its fixed rate,
  // each with two bodies (JSON, binary tensor).
  const curvePoints = options.curves ? 9 * Math.max(2, Math.min(5, d / 2)) : 0;
  const perBody = 2 * w + d + d + graceSeconds(options) + 1;
  const oip = options.peer ? 3 * ((2 * STARTUP_TIMEOUT_MS) / 1000 + 2 * perBody + curvePoints) : 0;
  // The shadow phase: two more service runs on /predict alone.
  const shadowLeg = STARTUP_TIMEOUT_MS / 1000 + (w + d) + (d + graceSeconds(options) + 1);
  const shadow = options.shadow ? 2 * shadowLeg : 0;
  const floors = (2 * Math.min(FLOOR_BUDGET_MS, d * 1000)) / 1000;
  return servers * perServer + oip + shadow + floors + options.soakSeconds + 60;
}

export async function runBench(options: BenchOptions, log: Log): Promise<BenchResults> {
  const apiKey = randomBytes(24).toString("hex");
  const launch = await serviceLaunch(apiKey, options.serviceEnv);
  const { config } = launch;
  const registry = new LocalRegistry(config.model.registryDir);
  const model = await registry.resolve(config.model.name, config.model.stable);
  const modelBytes = await readFile(model.modelPath);
  const meta = readModelMetadata(modelBytes, model.modelPath);
  const payloads = await loadPayloads(options.samplePath ?? (await defaultSamplePath()), meta);
  const shape: LoadShape = { connections: options.connections, pipelining: options.pipelining };

  const results: BenchResults = {
    machine: describeMachine(),
    options,
    model: { name: model.name, version: model.version, architecture: meta.architecture },
    samplePng: payloads.pngPath,
    servers: { floor: {}, service: {}, peer: {} },
    serviceInference: {},
    failures: [],
  };

  /** Runs a phase, logging its time; a failure is recorded, not thrown. */
  const phase = async (name: string, body: () => Promise<void>): Promise<void> => {
    const started = performance.now();
    log(`bench: ${name} ...`);
    try {
      await body();
      log(`bench: ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      const message = (err as Error).message;
      results.failures.push({ phase: name, message });
      log(`bench: ${name} FAILED: ${message}`);
    }
  };

  const floorBudget = Math.min(FLOOR_BUDGET_MS, options.durationSeconds * 1000);
  await phase("inference floor (raw session.run)", async () => {
    results.inferenceFloor = await measureInferenceFloor(
      modelBytes,
      meta,
      config.ort,
      payloads.normalizedRow,
      floorBudget,
    );
  });
  await phase("image floor (PNG decode)", async () => {
    results.imageFloor = await measureImageFloor(
      payloads.png,
      meta.input.image,
      config.sharpConcurrency,
      floorBudget,
    );
  });

  /** Warm-up, then saturation into `into`; `between` runs after the warm-up (a metrics scrape). */
  const saturate = async (
    server: RunningServer,
    route: Route,
    between?: () => Promise<void>,
    into: RouteResult = (results.servers[server.name][route] ??= {}),
  ) => {
    if (options.warmupSeconds > 0) await runSaturation(server.targets[route], shape, options.warmupSeconds);
    await between?.();
    const serverCpu = processTreeCpuSeconds(server.process.pid);
    const generatorCpu = process.cpuUsage();
    const started = performance.now();
    const result = await runSaturation(server.targets[route], shape, options.durationSeconds);
    const seconds = (performance.now() - started) / 1000;
    const generatorUsed = process.cpuUsage(generatorCpu);
    into.saturation = result;
    into.saturationCpu = {
      server: (processTreeCpuSeconds(server.process.pid) - serverCpu) / seconds,
      generator: (generatorUsed.user + generatorUsed.system) / 1e6 / seconds,
    };
    log(`bench:   ${server.name} ${route} saturation ${Math.round(result.requestsPerSecond)} req/s`);
  };

  /** Fixed rates come from the service's saturation, so every server gets the same rate per route. */
  const fixedRates: Partial<Record<Route, number>> = {};
  const atFixedRate = async (
    server: RunningServer,
    route: Route,
    rate = fixedRates[route],
    into: RouteResult = (results.servers[server.name][route] ??= {}),
  ) => {
    if (rate === undefined)
      throw new Error(`no fixed rate for ${route}: the service's saturation phase did not run`);
    const result = await runFixedRate(server.targets[route], {
      ratePerSecond: rate,
      durationSeconds: options.durationSeconds,
      connections: options.connections,
      graceSeconds: graceSeconds(options),
      warmupSeconds: options.warmupSeconds,
    });
    into.fixedRate = result;
    log(
      `bench:   ${server.name} ${route} at ${Math.round(rate)} req/s: p99 ${result.latency.p99Ms.toFixed(2)} ms`,
    );
  };

  /** Starts a server, runs `body` against it, and always stops it; `label` names its phases. */
  const withServer = async (
    label: string,
    start: () => Promise<RunningServer>,
    body: (server: RunningServer) => Promise<void>,
  ) => {
    let server: RunningServer | undefined;
    await phase(`${label}: start`, async () => {
      server = await start();
    });
    if (server === undefined) return;
    try {
      await body(server);
    } finally {
      await server.process.stop();
    }
  };

  await withServer(
    "service",
    () => startService(launch, apiKey, payloads),
    async (service) => {
      results.serviceStartupMs = service.startupMs;
      await phase("service: describe (GET /metadata)", async () => {
        results.serviceDescription = await describeService(service, apiKey);
      });
      const idleBytes = processTreeRssBytes(service.process.pid);
      const sampler = new RssSampler(service.process.pid, LOAD_RSS_SAMPLE_MS);
      for (const route of ROUTES) {
        await phase(`service: ${route} saturation`, async () => {
          let before = "";
          await saturate(service, route, async () => {
            before = await scrapeMetrics(launch.metricsPort);
          });
          const after = await scrapeMetrics(launch.metricsPort);
          const cost = inferenceCostBetween(inferenceCounters(before), inferenceCounters(after));
          if (cost !== undefined) results.serviceInference[route] = cost;
          fixedRates[route] =
            options.fixedRateShare * results.servers.service[route]!.saturation!.requestsPerSecond;
        });
      }
      for (const route of ROUTES)
        await phase(`service: ${route} fixed rate`, () => atFixedRate(service, route));
      results.serviceRss = { idleBytes, trend: rssTrend(sampler.stop()) };
      if (options.soakSeconds > 0) {
        await phase(`service: soak ${options.soakSeconds} s`, async () => {
          results.soak = await soak(service, shape, options.soakSeconds);
        });
      }
    },
  );

  /**
   * Shadow's cost on stable: the service on a registry copy, on /predict alone, shadowing and then
   * plain; both fixed-rate phases run at the same rate, half of the shadowing run's saturation.
   */
  const measureShadow = async (registryDir: string, shadow: ShadowResult) => {
    let rate: number | undefined;
    for (const leg of SHADOW_RUN_ORDER) {
      const legLaunch = await serviceLaunch(apiKey, {
        ...options.serviceEnv,
        ...shadowLegEnv(leg, registryDir),
      });
      const into = shadow[leg];
      const scrape = async () => shadowCounters(await scrapeMetrics(legLaunch.metricsPort));
      await withServer(
        `shadow: ${leg} service`,
        () => startService(legLaunch, apiKey, payloads),
        async (service) => {
          await phase(`shadow: ${leg} /predict saturation`, async () => {
            // Counted from the end of the warm-up: `before` is scraped again there.
            let before = await scrape();
            await saturate(service, "json", async () => void (before = await scrape()), into);
            into.saturationCounters = shadowCountersBetween(before, await scrape());
            if (leg === SHADOW_RUN_ORDER[0])
              rate = options.fixedRateShare * into.saturation!.requestsPerSecond;
          });
          await phase(`shadow: ${leg} /predict fixed rate`, async () => {
            const before = await scrape();
            await atFixedRate(service, "json", rate, into);
            into.fixedRateCounters = shadowCountersBetween(before, await scrape());
          });
        },
      );
    }
  };

  if (options.shadow) {
    await phase(`shadow: registry copy whose challenger is the stable model`, async () => {
      const copy = await prepareShadowRegistry(registry.rootDir, model.name, modelBytes);
      results.shadow = {
        percent: SHADOW_PERCENT,
        candidateVersion: copy.candidateVersion,
        plain: {},
        shadow: {},
      };
      try {
        await measureShadow(copy.dir, results.shadow);
      } finally {
        await copy.remove();
      }
    });
  }

  await withServer(
    "floor",
    () => startHttpFloor(apiKey, payloads),
    async (floor) => {
      for (const route of ROUTES)
        await phase(`HTTP floor: ${route} saturation`, () => saturate(floor, route));
      for (const route of ROUTES)
        await phase(`HTTP floor: ${route} fixed rate`, () => atFixedRate(floor, route));
    },
  );

  if (options.peer) {
    await withServer(
      "peer",
      () => startPeer(model.modelPath, config, options.peerWorkers, apiKey, payloads),
      async (peer) => {
        await phase("peer: versions", async () => {
          results.peerVersions = await peerVersions(peer);
        });
        for (const route of ROUTES) await phase(`peer: ${route} saturation`, () => saturate(peer, route));
        for (const route of ROUTES) await phase(`peer: ${route} fixed rate`, () => atFixedRate(peer, route));
      },
    );
    const pixels = (JSON.parse(payloads.jsonRow.toString("utf8")) as { inputs: number[] }).inputs;
    const requestOf = (body: OipBody, rows: number) => oipRequest(body, meta.input.name, pixels, rows);
    const tuning = tuningFor(options.oipTuning, os.availableParallelism());
    const ortThreads = ortThreadsText(config.ort);
    const inferPath = `/v2/models/${encodeURIComponent(model.name)}/infer`;
    results.oip = await measureOip({
      options,
      shape,
      rows: 1,
      requests: { json: requestOf("json", 1), binary: requestOf("binary", 1) },
      requestFor: (rows) => requestOf("json", rows),
      curveSeconds: options.curves ? Math.max(2, Math.min(5, options.durationSeconds / 2)) : 0,
      peerOptions: {
        modelPath: model.modelPath,
        modelName: model.name,
        intraOpThreads: config.ort.intraOpThreads,
        interOpThreads: config.ort.interOpThreads,
        tuning,
      },
      settings: {
        service: describePlinth(config.batching, ortThreads),
        ...Object.fromEntries(OIP_PEERS.map((peer) => [peer, describeTuning(peer, tuning, ortThreads)])),
      },
      startService: async () => {
        const service = await startService(launch, apiKey, payloads);
        return {
          pid: service.process.pid,
          startupMs: service.startupMs,
          targetFor: ({ body, headers }) => ({
            port: service.port,
            method: "POST",
            path: inferPath,
            headers: { ...headers, "x-api-key": apiKey },
            body,
          }),
          stop: () => service.process.stop(),
        };
      },
      phase,
      log,
    });
  }
  return results;
}

/** Both routes at saturation at once for `seconds`, RSS sampled every second. */
async function soak(service: RunningServer, shape: LoadShape, seconds: number): Promise<SoakResult> {
  const sampler = new RssSampler(service.process.pid, SOAK_RSS_SAMPLE_MS);
  // The connections are split between the routes, so the service sees the usual total.
  const perRoute = { ...shape, connections: Math.max(1, Math.round(shape.connections / 2)) };
  let json: SaturationResult;
  let png: SaturationResult;
  try {
    [json, png] = await Promise.all([
      runSaturation(service.targets.json, perRoute, seconds),
      runSaturation(service.targets.png, perRoute, seconds),
    ]);
  } finally {
    sampler.stop();
  }
  const windowMs = seconds >= 120 ? 30_000 : (seconds * 1000) / 10;
  return {
    seconds,
    trend: rssTrend(sampler.samples),
    timeline: rssTimeline(sampler.samples, windowMs),
    json,
    png,
  };
}
