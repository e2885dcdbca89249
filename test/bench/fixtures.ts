/** A synthetic bench run for the report tests: every figure chosen, nothing measured. */
import type { FixedRateResult } from "../../bench/load/fixed-rate.js";
import type { SaturationResult } from "../../bench/load/saturation.js";
import { parseBenchOptions, type BenchOptions } from "../../bench/options.js";
import type { OipResult } from "../../bench/oip-phase.js";
import type { BenchResults } from "../../bench/results.js";
import { rssTrend } from "../../bench/stats/rss-trend.js";

export function saturation(requestsPerSecond: number, failed = 0): SaturationResult {
  const ok = Math.round(requestsPerSecond * 10);
  return {
    ok,
    non2xx: 0,
    failed,
    durationSeconds: 10,
    requestsPerSecond,
    closedLoopP99Ms: 32_000 / requestsPerSecond,
  };
}

export function fixedRate(ratePerSecond: number, p99Ms: number, failed = 0): FixedRateResult {
  const sent = ratePerSecond * 10;
  const latency = {
    count: sent,
    meanMs: p99Ms / 4,
    p50Ms: p99Ms / 5,
    p90Ms: p99Ms / 2,
    p99Ms,
    p999Ms: p99Ms,
    maxMs: p99Ms,
  };
  return {
    ratePerSecond,
    sent,
    ok: sent - failed,
    non2xx: 0,
    failed,
    achievedPerSecond: ratePerSecond,
    latency,
    serviceLatency: latency,
    sentLate: { p99Ms: 0.5, maxMs: 1 },
    generatorLagMaxMs: 2,
  };
}

const parsed = parseBenchOptions([]);
if (parsed === "help") throw new Error("unexpected help");
const options: BenchOptions = parsed;

/** A run in which the service meets every target. */
export function goodRun(): BenchResults {
  return {
    machine: {
      date: "",
      cores: 2,
      cpuModel: "",
      memoryGiB: 24,
      platform: "",
      node: "v20",
      loadAverage: 0,
      packages: {},
    },
    options,
    model: { name: "fashion-classifier", version: "1", architecture: "mlp" },
    samplePng: "/x.png",
    inferenceFloor: { singleRowUs: 30, batchCallUs: 112, batchPerRowUs: 3.5, batchSize: 32 },
    servers: {
      floor: { json: { saturation: saturation(5000) }, png: { saturation: saturation(8000) } },
      service: {
        json: { saturation: saturation(4500), fixedRate: fixedRate(2250, 3) },
        png: { saturation: saturation(3200), fixedRate: fixedRate(1600, 6) },
      },
      peer: {
        json: { saturation: saturation(900), fixedRate: fixedRate(2250, 800, 500) },
        png: { saturation: saturation(700), fixedRate: fixedRate(1600, 900) },
      },
    },
    serviceInference: { json: { perRowUs: 5, meanBatchSize: 12, rows: 45_000 } },
    serviceRss: {
      idleBytes: 120e6,
      trend: rssTrend([
        { atMs: 0, bytes: 150e6 },
        { atMs: 1000, bytes: 160e6 },
      ]),
    },
    shadow: {
      percent: 100,
      candidateVersion: "2",
      plain: {
        saturation: saturation(4400),
        fixedRate: fixedRate(2200, 3),
        saturationCounters: { compared: 0, agreed: 0, dropped: 0 },
        fixedRateCounters: { compared: 0, agreed: 0, dropped: 0 },
      },
      shadow: {
        saturation: saturation(3700),
        fixedRate: fixedRate(2200, 3.6),
        saturationCounters: { compared: 30_000, agreed: 30_000, dropped: 7000 },
        fixedRateCounters: { compared: 22_000, agreed: 22_000, dropped: 0 },
      },
    },
    failures: [],
  };
}

/**
 * A v2 comparison: plinth 3x KServe on JSON (the target's edge), under 3x MLServer; KServe takes
 * the binary body, MLServer refuses it.
 */
export function oipRun(): OipResult {
  return {
    rows: 1,
    rates: { json: 600, binary: 500 },
    servers: {
      service: {
        bodies: {
          json: { saturation: saturation(3600), fixedRate: fixedRate(600, 2.5) },
          binary: { saturation: saturation(4000), fixedRate: fixedRate(500, 2) },
        },
      },
      kserve: {
        bodies: {
          json: { saturation: saturation(1200), fixedRate: fixedRate(600, 9) },
          binary: { saturation: saturation(1000), fixedRate: fixedRate(500, 2) },
        },
      },
      mlserver: {
        bodies: {
          json: { saturation: saturation(1250), fixedRate: fixedRate(600, 7) },
          binary: { unsupported: "reads JSON only; answered HTTP 500 in this run" },
        },
      },
    },
  };
}
