/**
 * The soak: the whole local stack (stack/local), load through its edge (Traefik) over TLS on POST /predict.
 * Unless given a rate, first a closed-loop estimate of the capacity (after a discarded warm-up),
 * then the capacity itself: open-loop steps up from below the estimate, with the generator the
 * soak uses (bench/load/capacity-search.ts, bench/load/generator). Then a discarded settle phase at
 * the soak rate (so the switch to it is not charged to the first window; it is also the speed
 * reference when no estimate ran), then one continuous open-loop phase of `minutes`, judged in
 * windows (./verdict.ts) while the service's RSS, the machine's CPU and any injected faults
 * (./faults.ts) are recorded beside it.
 */
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { SCRAPE_INTERVAL_SECONDS } from "../../components/monitoring/rules.js";
import { readModelMetadata } from "../../service/model/onnx-format.js";
import { LocalRegistry } from "../../service/registry/local.js";
import { ENV, loadConfig } from "../../service/config.js";
import { startLocalStack, type LocalStack } from "../../stack/local/stack.js";
import type { LogSink } from "../../stack/local/process.js";
import { openLoopConnections, type FixedRateResult } from "../load/fixed-rate.js";
import { OpenLoopGenerator } from "../load/generator/index.js";
import { monotonicMs } from "../load/generator/protocol.js";
import type { PhaseLog } from "../load/generator/phase-log.js";
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
import { rssTimeline, rssTrend, type RssTrend } from "../stats/rss-trend.js";
import { defaultSamplePath, loadPayloads } from "../targets/payloads.js";
import { CpuSplit, type CpuShares } from "./cpu-split.js";
import { checkFaultPlan, FaultInjector, type FaultPlan } from "./faults.js";
import { relativeSpeedPercent, SpeedProbe } from "./speed-probe.js";
import { judgeSoak, RECOVERY_LIMIT_MS, type Verdict, type WindowMachine } from "./verdict.js";

export interface SoakOptions {
  readonly minutes: number;
  /** Share of the measured capacity the soak runs at (unused with {@link ratePerSecond}). */
  readonly share: number;
  /** A fixed rate instead of a share of the measured capacity (no estimate, no capacity steps). */
  readonly ratePerSecond?: number;
  /** Length of the closed-loop estimate. */
  readonly capacitySeconds: number;
  /** Length of each open-loop capacity step. */
  readonly stepSeconds: number;
  readonly warmupSeconds: number;
  /** Seconds at the soak rate after the capacity phase, not measured. */
  readonly settleSeconds: number;
  /** Least keep-alive connections of the generator (more when the rate needs them). */
  readonly connections: number;
  /** The generator's threads. @default bench/load/generator defaultThreads() */
  readonly threads?: number;
  /** Length of the windows the soak is judged in. */
  readonly windowSeconds: number;
  readonly faults: FaultPlan;
}

const RSS_SAMPLE_MS = 1000;
const GRACE_SECONDS = 5;

/** What the generator itself cost over the measured soak, and the rate that cost allows. */
export interface GeneratorCost {
  readonly threads: number;
  readonly connections: number;
  /** CPU of the soak's process (generator threads and bookkeeping) per request sent. */
  readonly cpuMicrosecondsPerRequest: number;
  /** Requests per second one core of this machine could send at that cost. */
  readonly ceilingPerCore: number;
  /** Worst event-loop delay of any generator thread over the measured soak. */
  readonly lagMaxMs: number;
}

export interface SoakResult {
  readonly options: SoakOptions;
  /** The closed-loop estimate the capacity steps start from (absent with a fixed rate). */
  readonly estimate?: SaturationResult & { readonly cpu: CpuShares };
  /** The open-loop capacity: the highest step that held, and every step run (absent with a fixed rate). */
  readonly capacity?: CapacitySearch;
  readonly ratePerSecond: number;
  /** Where the speed reference came from. */
  readonly speedReference: "closed-loop estimate" | "settle phase";
  readonly generator: GeneratorCost;
  readonly verdict: Verdict;
  readonly rss: RssTrend & { readonly growthPercent: number };
  readonly rssTimeline: readonly { readonly fromMs: number; readonly peakBytes: number }[];
}

/** POST /predict with one JSON row of the first bundled sample, through the edge. */
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
  /** One line per step and per window. */
  readonly progress: (line: string) => void;
  /** Called once the stack is up, so the caller can stop it on a signal. */
  readonly onStarted: (stack: LocalStack) => void;
}

export async function runSoak(options: SoakOptions, hooks: SoakHooks): Promise<SoakResult> {
  checkFaultPlan(options.faults, options.minutes * 60, RECOVERY_LIMIT_MS / 1000);
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
    const cpu = new CpuSplit(stack.pids, stack.edge);
    const generatorOptions = (rate: number) => ({
      connections: openLoopConnections(rate, options.connections),
      ...(options.threads === undefined ? {} : { threads: options.threads }),
    });
    let estimate: SoakResult["estimate"];
    let capacity: CapacitySearch | undefined;
    let probeReference: number | undefined;
    let ratePerSecond = options.ratePerSecond;
    if (ratePerSecond === undefined) {
      const shape: LoadShape = { connections: options.connections, pipelining: 1 };
      progress(
        `warm-up ${options.warmupSeconds} s, then a closed-loop estimate ${options.capacitySeconds} s through ${stack.origin}`,
      );
      await runSaturation(target, shape, options.warmupSeconds);
      const before = cpu.snapshot();
      const saturation = await runSaturation(target, shape, options.capacitySeconds);
      const after = cpu.snapshot();
      estimate = { ...saturation, cpu: cpu.shares(before, after) };
      probeReference = probe.medianBetween(before.atMs, after.atMs);
      // The steps get connections for the highest of them; the soak its own, for its rate, so
      // that each connection carries a request often enough that the edge never closes it as idle.
      const topRate = saturation.requestsPerSecond * Math.max(...CAPACITY_STEP_SHARES);
      progress(
        `closed-loop estimate ${saturation.requestsPerSecond.toFixed(0)} req/s; open-loop steps of ${options.stepSeconds} s`,
      );
      capacity = await withGenerator(target, generatorOptions(topRate), (generator) =>
        searchCapacity(
          saturation.requestsPerSecond,
          async (rate): Promise<FixedRateResult> =>
            (
              await generator.run({
                ratePerSecond: rate,
                durationSeconds: options.stepSeconds,
                graceSeconds: GRACE_SECONDS,
              })
            ).summarise(),
          (step) => progress(describeStep(step)),
        ),
      );
      ratePerSecond = Math.max(1, Math.round(capacity.ratePerSecond * options.share));
      progress(`capacity ${capacity.ratePerSecond} req/s`);
    }
    const rate = ratePerSecond;
    const generatorShape = generatorOptions(rate);
    return await withGenerator(target, generatorShape, async (generator) => {
      progress(
        `soak at ${rate} req/s over ${generatorShape.connections} connections and ${generator.threads} threads, ` +
          `after ${options.settleSeconds} s of settling at that rate`,
      );
      const settleFrom = performance.now();
      await generator.run({
        ratePerSecond: rate,
        durationSeconds: options.settleSeconds,
        graceSeconds: GRACE_SECONDS,
      });
      const reference = probeReference ?? probe.medianBetween(settleFrom, performance.now());

      const sampler = new RssSampler(stack.servicePid, RSS_SAMPLE_MS);
      const windows = new WindowRecorder(cpu, probe, reference, options.windowSeconds * 1000, progress);
      let faults: FaultInjector | undefined;
      const cpuBefore = process.cpuUsage();
      let log: PhaseLog;
      try {
        log = await generator.run({
          ratePerSecond: rate,
          durationSeconds: options.minutes * 60,
          graceSeconds: GRACE_SECONDS,
          onStart: (startEpochMs) => {
            windows.start(startEpochMs, Math.ceil((options.minutes * 60) / options.windowSeconds));
            faults = new FaultInjector(options.faults, stack.servicePid, startEpochMs);
          },
        });
      } finally {
        faults?.stop();
        sampler.stop();
      }
      const used = process.cpuUsage(cpuBefore);
      const cpuMicrosecondsPerRequest = (used.user + used.system) / log.total;
      const trend = rssTrend(sampler.samples);
      const rss = { ...trend, growthPercent: (trend.growthBytes / trend.earlyBytes) * 100 };
      const verdict = judgeSoak({
        log,
        windowMs: options.windowSeconds * 1000,
        machine: windows.finish(),
        faults: faults?.injected ?? [],
        rss,
      });
      return {
        options,
        ...(estimate === undefined ? {} : { estimate }),
        ...(capacity === undefined ? {} : { capacity }),
        ratePerSecond: rate,
        speedReference: probeReference === undefined ? "settle phase" : "closed-loop estimate",
        generator: {
          threads: generator.threads,
          connections: generatorShape.connections,
          cpuMicrosecondsPerRequest,
          ceilingPerCore: 1e6 / cpuMicrosecondsPerRequest,
          lagMaxMs: log.lagMaxMs(0, Infinity),
        },
        verdict,
        rss,
        rssTimeline: rssTimeline(sampler.samples, 60_000),
      };
    });
  } finally {
    probe.stop();
    await stack.stop();
  }
}

/**
 * The machine's side of each window: CPU split, CPU speed and TCP counters, snapshotted on the
 * windows' boundaries of the schedule's clock.
 */
class WindowRecorder {
  private readonly machine: WindowMachine[] = [];
  private timer: NodeJS.Timeout | undefined;
  private before: { readonly cpu: ReturnType<CpuSplit["snapshot"]>; readonly tcp: TcpCounters } | undefined;
  private windows = 0;

  constructor(
    private readonly cpu: CpuSplit,
    private readonly probe: SpeedProbe,
    private readonly probeReference: number,
    private readonly windowMs: number,
    private readonly progress: (line: string) => void,
  ) {}

  start(startEpochMs: number, windows: number): void {
    this.windows = windows;
    this.before = { cpu: this.cpu.snapshot(), tcp: tcpCounters() };
    const next = () => {
      const dueAt = startEpochMs + (this.machine.length + 1) * this.windowMs;
      this.timer = setTimeout(
        () => {
          this.close();
          if (this.machine.length < windows) next();
        },
        Math.max(0, dueAt - monotonicMs()),
      );
    };
    next();
  }

  /** Ends the current window now. */
  private close(): void {
    const before = this.before!;
    const after = { cpu: this.cpu.snapshot(), tcp: tcpCounters() };
    const shares = this.cpu.shares(before.cpu, after.cpu);
    const speedPercent = relativeSpeedPercent(
      this.probeReference,
      this.probe.medianBetween(before.cpu.atMs, after.cpu.atMs),
    );
    this.machine.push({
      cpu: shares,
      speedPercent,
      tcp: {
        listenOverflows: after.tcp.listenOverflows - before.tcp.listenOverflows,
        synRetransmits: after.tcp.synRetransmits - before.tcp.synRetransmits,
      },
    });
    this.progress(
      `window ${this.machine.length}/${this.windows}: service CPU ${shares.service!.toFixed(0)} %, generator ` +
        `${shares.generator!.toFixed(0)} %, other ${shares.other!.toFixed(0)} %, CPU speed ${speedPercent.toFixed(0)} %`,
    );
    this.before = after;
  }

  /**
   * Every window's figures. The phase can end a few milliseconds before the last boundary's timer
   * (or a failure before any): what is missing is closed now.
   */
  finish(): WindowMachine[] {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.before !== undefined) while (this.machine.length < this.windows) this.close();
    return this.machine;
  }
}

/** Runs `use` on a warm generator of `connections`, and closes it after. */
async function withGenerator<T>(
  target: HttpTarget,
  options: { connections: number; threads?: number },
  use: (generator: OpenLoopGenerator) => Promise<T>,
): Promise<T> {
  const generator = await OpenLoopGenerator.open(target, options);
  try {
    return await use(generator);
  } finally {
    await generator.close();
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
