/**
 * The soak: the whole local stack (stack/local), load through nginx over TLS on POST /predict.
 * First a closed-loop estimate of the capacity (after a discarded warm-up), then the capacity
 * itself: open-loop steps up from below the estimate, with the generator the soak uses
 * (bench/load/capacity-search.ts, bench/load/spread-pool.ts). Then a discarded settle phase at the soak rate (so the switch
 * to it, with the queues and heap the last step left, is not charged to the first minute), then
 * `minutes` one-minute open-loop phases at `share` of the capacity, each with its own error counts
 * and coordinated-omission corrected latency, while the service's RSS is sampled every second.
 */
import { readFile } from "node:fs/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { SCRAPE_INTERVAL_SECONDS } from "../../components/monitoring/rules.js";
import { readModelMetadata } from "../../service/model/onnx-format.js";
import { LocalRegistry } from "../../service/registry/local.js";
import { ENV, loadConfig } from "../../service/config.js";
import { startLocalStack, type LocalStack } from "../../stack/local/stack.js";
import type { LogSink } from "../../stack/local/process.js";
import { openLoopConnections, runFixedRate, type FixedRateResult } from "../load/fixed-rate.js";
import { SpreadPool } from "../load/spread-pool.js";
import {
  CAPACITY_STEP_SHARES,
  searchCapacity,
  type CapacitySearch,
  type CapacityStep,
} from "../load/capacity-search.js";
import { runSaturation, type SaturationResult } from "../load/saturation.js";
import type { HttpTarget, LoadShape } from "../load/target.js";
import { tcpCounters, type TcpCounters } from "../proc.js";
import { RssSampler } from "../rss.js";
import { median } from "../stats/quantile.js";
import { rssTimeline, rssTrend, type RssTrend } from "../stats/rss-trend.js";
import { defaultSamplePath, loadPayloads } from "../targets/payloads.js";
import { CpuSplit, type CpuShares } from "./cpu-split.js";
import { relativeSpeedPercent, SpeedProbe } from "./speed-probe.js";

export interface SoakOptions {
  readonly minutes: number;
  /** Share of the measured capacity the soak runs at. */
  readonly share: number;
  /** Length of the closed-loop estimate. */
  readonly capacitySeconds: number;
  /** Length of each open-loop capacity step. */
  readonly stepSeconds: number;
  readonly warmupSeconds: number;
  /** Seconds at the soak rate after the capacity phase, not measured. */
  readonly settleSeconds: number;
  readonly connections: number;
}

/** A minute's p99 above this multiple of the median minute's p99 makes the latency unstable. */
export const P99_STABILITY_FACTOR = 2;
/** RSS growth (late window against early window, after warm-up) allowed over the soak. */
export const MAX_RSS_GROWTH_PERCENT = 10;
const RSS_SAMPLE_MS = 1000;
const MINUTE_SECONDS = 60;
const GRACE_SECONDS = 5;

export interface SoakMinute extends FixedRateResult {
  readonly minute: number;
  /** Where the CPU went during the minute (percent of one core). */
  readonly cpu: CpuShares;
  /** How fast the CPU ran against the capacity phase, in percent (bench/soak/speed-probe.ts). */
  readonly speedPercent: number;
  /**
   * The load generator's own event-loop delay (p99 and max, ms): while it is blocked, requests
   * leave late and answers are read late, and both count as latency.
   */
  readonly generatorLag: { readonly p99Ms: number; readonly maxMs: number };
  /**
   * Machine-wide TCP counters over the minute: connections dropped by a full accept queue, and the
   * SYN retransmits that follow (each costs the request behind it 1 s, then 3 s).
   */
  readonly tcp: TcpCounters;
}

export interface SoakResult {
  readonly options: SoakOptions;
  /** The closed-loop estimate the capacity steps start from. */
  readonly estimate: SaturationResult & {
    readonly cpu: CpuShares;
    /** Median time of the speed probe's fixed work during the estimate (the speed reference). */
    readonly probeMicroseconds: number;
  };
  /** The open-loop capacity: the highest step that held, and every step run. */
  readonly capacity: CapacitySearch;
  readonly ratePerSecond: number;
  readonly minutes: readonly SoakMinute[];
  readonly errors: number;
  readonly p99: { readonly medianMs: number; readonly maxMs: number; readonly stable: boolean };
  readonly rss: RssTrend & { readonly growthPercent: number };
  readonly rssTimeline: readonly { readonly fromMs: number; readonly peakBytes: number }[];
  readonly passed: boolean;
}

/** POST /predict with one JSON row of the first bundled sample, through nginx. */
async function predictTarget(stack: LocalStack): Promise<HttpTarget> {
  // The model the stack's service serves: its defaults, from the bundled registry.
  const { model: served } = loadConfig({});
  const model = await new LocalRegistry(served.registryDir).resolve(served.name, served.stable);
  const meta = readModelMetadata(await readFile(model.modelPath), model.modelPath);
  const payloads = await loadPayloads(await defaultSamplePath(), meta);
  return {
    port: stack.ports.https,
    method: "POST",
    path: "/predict",
    headers: { "content-type": "application/json", "x-api-key": stack.apiKey },
    body: payloads.jsonRow,
    tls: { ca: await readFile(stack.caFile, "utf8") },
  };
}

export interface SoakHooks {
  /** Where the stack's processes' log lines go. */
  readonly stackLog: LogSink;
  /** One line per step and per minute. */
  readonly progress: (line: string) => void;
  /** Called once the stack is up, so the caller can stop it on a signal. */
  readonly onStarted: (stack: LocalStack) => void;
}

export async function runSoak(options: SoakOptions, hooks: SoakHooks): Promise<SoakResult> {
  const { progress } = hooks;
  const stack = await startLocalStack({
    log: hooks.stackLog,
    accessLog: false,
    // Prometheus as production runs it (the local stack's default of 5 s is for quick tests): its
    // rule evaluations share the cores with everything measured.
    scrapeIntervalSeconds: SCRAPE_INTERVAL_SECONDS,
    // One identity sends everything: the rate limit must not be what is measured.
    serviceEnv: { [ENV.RATE_LIMIT_MAX]: "100000000", [ENV.LOG_LEVEL]: "warn" },
  });
  hooks.onStarted(stack);
  const probe = new SpeedProbe();
  try {
    const target = await predictTarget(stack);
    const shape: LoadShape = { connections: options.connections, pipelining: 1 };
    progress(
      `warm-up ${options.warmupSeconds} s, then a closed-loop estimate ${options.capacitySeconds} s through ${stack.origin}`,
    );
    const cpu = new CpuSplit(stack.pids);
    await runSaturation(target, shape, options.warmupSeconds);
    const beforeEstimate = cpu.snapshot();
    const saturation = await runSaturation(target, shape, options.capacitySeconds);
    const afterEstimate = cpu.snapshot();
    const estimate = {
      ...saturation,
      cpu: cpu.shares(beforeEstimate, afterEstimate),
      probeMicroseconds: probe.medianBetween(beforeEstimate.atMs, afterEstimate.atMs),
    };

    const phase = (
      pool: SpreadPool,
      ratePerSecond: number,
      durationSeconds: number,
    ): Promise<FixedRateResult> =>
      runFixedRate(
        target,
        { ratePerSecond, durationSeconds, connections: options.connections, graceSeconds: GRACE_SECONDS },
        pool,
      );
    // The steps get connections for the highest of them; the soak its own, for its rate, so that
    // each connection carries a request often enough that nginx never closes it as idle.
    const topRate = estimate.requestsPerSecond * Math.max(...CAPACITY_STEP_SHARES);
    const capacity = await withWarmPool(target, openLoopConnections(topRate, options.connections), (pool) => {
      progress(
        `closed-loop estimate ${estimate.requestsPerSecond.toFixed(0)} req/s; open-loop steps of ` +
          `${options.stepSeconds} s`,
      );
      return searchCapacity(
        estimate.requestsPerSecond,
        (rate) => phase(pool, rate, options.stepSeconds),
        (step) => progress(describeStep(step)),
      );
    });
    const ratePerSecond = Math.max(1, Math.round(capacity.ratePerSecond * options.share));
    const connections = openLoopConnections(ratePerSecond, options.connections);
    progress(
      `capacity ${capacity.ratePerSecond} req/s; soak at ${ratePerSecond} req/s over ${connections} ` +
        `connections, after ${options.settleSeconds} s of settling at that rate`,
    );
    return await withWarmPool(target, connections, async (pool) => {
      const fixedRate = (durationSeconds: number) => phase(pool, ratePerSecond, durationSeconds);
      await fixedRate(options.settleSeconds);

      const sampler = new RssSampler(stack.servicePid, RSS_SAMPLE_MS);
      const lag = monitorEventLoopDelay({ resolution: 10 });
      lag.enable();
      const minutes: SoakMinute[] = [];
      try {
        for (let minute = 1; minute <= options.minutes; minute++) {
          const before = cpu.snapshot();
          const tcpBefore = tcpCounters();
          lag.reset();
          const result = await fixedRate(MINUTE_SECONDS);
          const after = cpu.snapshot();
          const tcpAfter = tcpCounters();
          const tcp = {
            listenOverflows: tcpAfter.listenOverflows - tcpBefore.listenOverflows,
            synRetransmits: tcpAfter.synRetransmits - tcpBefore.synRetransmits,
          };
          const generatorLag = { p99Ms: lag.percentile(99) / 1e6, maxMs: lag.max / 1e6 };
          const speedPercent = relativeSpeedPercent(
            estimate.probeMicroseconds,
            probe.medianBetween(before.atMs, after.atMs),
          );
          minutes.push({
            minute,
            ...result,
            cpu: cpu.shares(before, after),
            speedPercent,
            generatorLag,
            tcp,
          });
          progress(
            `minute ${minute}/${options.minutes}: ${result.ok} ok, ${result.non2xx} non-2xx, ` +
              `${result.failed} failed, p99 ${result.latency.p99Ms.toFixed(1)} ms, ` +
              `generator lag p99 ${generatorLag.p99Ms.toFixed(0)} ms, CPU speed ${speedPercent.toFixed(0)} %, ` +
              `listen overflows ${tcp.listenOverflows}, ` +
              `service CPU ${minutes.at(-1)!.cpu.service!.toFixed(0)} %`,
          );
        }
      } finally {
        sampler.stop();
        lag.disable();
      }
      return summarise(options, estimate, capacity, ratePerSecond, minutes, sampler);
    });
  } finally {
    probe.stop();
    await stack.stop();
  }
}

/**
 * Runs `use` with `connections` spread at random (bench/load/spread-pool.ts), each opened first, and
 * closes them after.
 */
async function withWarmPool<T>(
  target: HttpTarget,
  connections: number,
  use: (pool: SpreadPool) => Promise<T>,
): Promise<T> {
  const pool = new SpreadPool(target, connections);
  try {
    await pool.warm();
    return await use(pool);
  } finally {
    await pool.destroy();
  }
}

function describeStep(step: CapacityStep): string {
  const { result } = step;
  return (
    `capacity step ${result.ratePerSecond} req/s (${Math.round(step.share * 100)} %): ` +
    `${result.achievedPerSecond.toFixed(0)} answered/s, p99 ${result.latency.p99Ms.toFixed(1)} ms, ` +
    (step.failure === undefined ? "holds" : `fails: ${step.failure}`)
  );
}

function summarise(
  options: SoakOptions,
  estimate: SoakResult["estimate"],
  capacity: CapacitySearch,
  ratePerSecond: number,
  minutes: readonly SoakMinute[],
  sampler: RssSampler,
): SoakResult {
  const errors = minutes.reduce((sum, m) => sum + m.non2xx + m.failed, 0);
  const p99s = minutes.map((m) => m.latency.p99Ms);
  const medianMs = median(p99s);
  const maxMs = Math.max(...p99s);
  const stable = maxMs <= medianMs * P99_STABILITY_FACTOR;
  const trend = rssTrend(sampler.samples);
  const growthPercent = (trend.growthBytes / trend.earlyBytes) * 100;
  return {
    options,
    estimate,
    capacity,
    ratePerSecond,
    minutes,
    errors,
    p99: { medianMs, maxMs, stable },
    rss: { ...trend, growthPercent },
    rssTimeline: rssTimeline(sampler.samples, MINUTE_SECONDS * 1000),
    passed: errors === 0 && stable && growthPercent < MAX_RSS_GROWTH_PERCENT,
  };
}
