/**
 * The soak's judgement. The service is judged on what it was sent: latency charged to it leaves out
 * the time the generator itself sent a request late (bench/load/generator/phase-log.ts), windows in
 * which the generator lagged or the machine was taken by something else are marked and judged
 * apart, requests due during an injected fault and its recovery are judged by the fault's own rule
 * (recovered within seconds; anything late or failed after the recovery is the service's again),
 * and a stall the generator did not cause and no fault explains fails the soak.
 */
import type { PhaseLog, Stall, WindowSummary } from "../load/generator/phase-log.js";
import { median } from "../stats/quantile.js";
import type { RssTrend } from "../stats/rss-trend.js";
import type { TcpCounters } from "../proc.js";
import type { CpuShares } from "./cpu-split.js";
import type { InjectedFault } from "./faults.js";

/** A window's p99 above this multiple of the median judged window's p99 makes the latency unstable. */
export const P99_STABILITY_FACTOR = 2;
/**
 * ...unless it is within this much of the reference: at a p99 of 1-2 ms, a few milliseconds more in
 * one 10-s window is a scheduler slice on a shared two-core machine (the generator, the edge and the
 * service take turns on it), not a spike a client would see.
 */
export const P99_JITTER_MS = 5;
/** RSS growth (late window against early window, after warm-up) allowed over the soak. */
export const MAX_RSS_GROWTH_PERCENT = 10;
/** A generator thread blocked longer than this in a window makes the window the generator's. */
export const GENERATOR_LAG_LIMIT_MS = 100;
/** Other work on the machine (other processes plus steal, percent of one core) that makes a window the machine's. */
export const MACHINE_BUSY_PERCENT = 50;
/** A CPU slower than this (percent of its speed at the reference) makes a window the machine's. */
export const MIN_SPEED_PERCENT = 80;
/**
 * Fewer judged windows than this leave p99 stability unjudged: with two, the worst can never
 * exceed twice their median.
 */
export const MIN_JUDGED_FOR_P99 = 3;
/** No answer for this long while a request waited is a stall. */
export const STALL_MS = 1000;
/**
 * A request is late when the service held it longer than this or than {@link P99_STABILITY_FACTOR}
 * times the median judged p99, whichever is more: at a few milliseconds of p99, twice that is
 * ordinary jitter, not a fault's mark.
 */
export const LATE_FLOOR_MS = 100;
/** RSS is judged only over soaks this long or longer: a shorter one measures the warm-up. */
export const MIN_RSS_JUDGED_MINUTES = 5;
/** After an injected fault ends, the service has this long to answer on time again. */
export const RECOVERY_LIMIT_MS = 10_000;
/** Requests due this long before a fault starts may be caught in it (in flight when it struck). */
const FAULT_LEAD_MS = 1000;

export type WindowState = "judged" | "generator lagged" | "machine busy";

/** What the machine did during a window, measured beside the load. */
export interface WindowMachine {
  /** Where the CPU went (percent of one core). */
  readonly cpu: CpuShares;
  /** How fast the CPU ran against the reference phase, in percent (./speed-probe.ts). */
  readonly speedPercent: number;
  /** Machine-wide TCP counters over the window. */
  readonly tcp: TcpCounters;
}

export interface SoakWindow extends WindowSummary, WindowMachine {
  /** 1-based. */
  readonly window: number;
  readonly fromMs: number;
  readonly toMs: number;
  readonly state: WindowState;
  /** Why a window is not judged. */
  readonly reason?: string;
}

export interface FaultOutcome extends InjectedFault {
  /** The schedule it answers for: from 1 s before it to a second after its recovery. */
  readonly span: readonly [number, number];
  /** Requests due in the span, judged by the fault's rule instead of in their windows. */
  readonly requests: number;
  readonly late: number;
  readonly failed: number;
  /** From the fault's end to the last late or failed request due after it. */
  readonly recoveryMs: number;
}

export type StallCause = "injected fault" | "generator" | "machine busy" | "service";

export interface ClassifiedStall extends Stall {
  readonly cause: StallCause;
}

export interface Check {
  readonly name: string;
  readonly value: string;
  readonly limit: string;
  /** Undefined when the run cannot judge it (reported, not counted). */
  readonly passed: boolean | undefined;
}

export type SoakOutcome = "PASS" | "FAIL" | "INCONCLUSIVE";

export interface Verdict {
  readonly windows: readonly SoakWindow[];
  readonly faults: readonly FaultOutcome[];
  readonly stalls: readonly ClassifiedStall[];
  /** A request is late when the service held it longer than this. */
  readonly lateMs: number;
  readonly checks: readonly Check[];
  readonly outcome: SoakOutcome;
  /** Why the outcome is what it is, one line per failed check or missing judgement. */
  readonly reasons: readonly string[];
}

export interface VerdictInput {
  readonly log: PhaseLog;
  readonly windowMs: number;
  /** Per window, in order; as many as the soak has windows. */
  readonly machine: readonly WindowMachine[];
  readonly faults: readonly InjectedFault[];
  readonly rss: RssTrend & { readonly growthPercent: number };
}

function windowState(
  summary: WindowSummary,
  machine: WindowMachine,
): { state: WindowState; reason?: string } {
  if (summary.generatorLagMaxMs > GENERATOR_LAG_LIMIT_MS) {
    return {
      state: "generator lagged",
      reason: `generator blocked ${summary.generatorLagMaxMs.toFixed(0)} ms > ${GENERATOR_LAG_LIMIT_MS} ms`,
    };
  }
  const other = (machine.cpu.other ?? 0) + (machine.cpu.steal ?? 0);
  if (other >= MACHINE_BUSY_PERCENT) {
    return { state: "machine busy", reason: `other work and steal ${other.toFixed(0)} % of a core` };
  }
  if (machine.speedPercent < MIN_SPEED_PERCENT) {
    return { state: "machine busy", reason: `CPU at ${machine.speedPercent.toFixed(0)} % of its speed` };
  }
  return { state: "judged" };
}

/** The service has recovered once this long of requests in a row were on time. */
const RECOVERED_AFTER_MS = 1000;

/**
 * From `endMs` to the last late or failed request of the run of them that follows it: the scan
 * ends at the first {@link RECOVERED_AFTER_MS} of requests all on time, however long that takes,
 * so a service that never recovers shows its whole tail.
 */
function recoveryAfter(log: PhaseLog, endMs: number, isBad: (index: number) => boolean): number {
  let lastBadMs = endMs;
  for (const index of log.indicesDue(endMs, log.durationMs)) {
    const intended = log.schedule.intendedAtMs(index);
    if (intended - lastBadMs > RECOVERED_AFTER_MS) break;
    if (isBad(index)) lastBadMs = intended;
  }
  return lastBadMs - endMs;
}

type Span = readonly [number, number];

/** The window summaries, leaving out requests due in any of `spans`. */
function judgeWindows(input: VerdictInput, spans: readonly Span[]): SoakWindow[] {
  const { log, windowMs } = input;
  const excluded = (intendedMs: number) => spans.some(([from, to]) => intendedMs >= from && intendedMs < to);
  return Array.from({ length: Math.ceil(log.durationMs / windowMs) }, (_, k) => {
    const fromMs = k * windowMs;
    const toMs = Math.min(log.durationMs, fromMs + windowMs);
    const summary = log.summarise(fromMs, toMs, excluded);
    const machine = input.machine[k]!;
    return { window: k + 1, fromMs, toMs, ...summary, ...machine, ...windowState(summary, machine) };
  });
}

function notEnough(judged: number): string {
  return `not judged: ${judged} judged window${judged === 1 ? "" : "s"}, ${MIN_JUDGED_FOR_P99} needed`;
}

/** Whether a p99 stays within {@link P99_STABILITY_FACTOR} times, or {@link P99_JITTER_MS} of, a reference p99. */
function stableP99(p99Ms: number, referenceMs: number): boolean {
  return p99Ms <= Math.max(referenceMs * P99_STABILITY_FACTOR, referenceMs + P99_JITTER_MS);
}

const STABILITY_LIMIT = `<= ${P99_STABILITY_FACTOR}x or + ${P99_JITTER_MS} ms`;

function judgedP99s(windows: readonly SoakWindow[]): number[] {
  return windows
    .filter((w) => w.state === "judged" && w.serviceLatency.count > 0)
    .map((w) => w.serviceLatency.p99Ms);
}

export function judgeSoak(input: VerdictInput): Verdict {
  const { log, faults } = input;
  // What is late is scaled from the judged windows' p99, taken first without everything a fault
  // may have touched (to the end of its recovery allowance).
  const provisional = judgedP99s(
    judgeWindows(
      input,
      faults.map((f) => [f.fromMs - FAULT_LEAD_MS, f.toMs + RECOVERY_LIMIT_MS]),
    ),
  );
  // With no judged window there is no p99 to scale: the floor alone says what is late.
  const lateMs =
    provisional.length === 0
      ? LATE_FLOOR_MS
      : Math.max(LATE_FLOOR_MS, median(provisional) * P99_STABILITY_FACTOR);
  const isBad = (index: number) => log.outcome[index] !== 0 || log.serviceLatencyMs(index) > lateMs;

  // Each fault answers for the requests due from just before it to the end of its recovery (the
  // late run that follows it); anything late or failed after that is the service's again.
  const faultOutcomes = faults.map((fault): FaultOutcome => {
    const recoveryMs = recoveryAfter(log, fault.toMs, isBad);
    const span: Span = [fault.fromMs - FAULT_LEAD_MS, fault.toMs + recoveryMs + RECOVERED_AFTER_MS];
    let requests = 0;
    let late = 0;
    let failed = 0;
    for (const index of log.indicesDue(span[0], Math.min(span[1], log.durationMs))) {
      requests += 1;
      if (log.outcome[index] !== 0) failed += 1;
      else if (log.serviceLatencyMs(index) > lateMs) late += 1;
    }
    return { ...fault, span, requests, late, failed, recoveryMs };
  });
  const windows = judgeWindows(
    input,
    faultOutcomes.map((f) => f.span),
  );
  const judged = windows.filter((w) => w.state === "judged" && w.serviceLatency.count > 0);
  const p99s = judgedP99s(windows);
  const medianP99 = p99s.length === 0 ? NaN : median(p99s);
  const maxP99 = p99s.length === 0 ? NaN : Math.max(...p99s);

  const stalls = log.stalls(STALL_MS).map((stall): ClassifiedStall => {
    const cause = (): StallCause => {
      if (faultOutcomes.some((f) => stall.fromMs >= f.span[0] && stall.fromMs < f.span[1])) {
        return "injected fault";
      }
      if (stall.generatorLagMaxMs >= (stall.toMs - stall.fromMs) / 2) return "generator";
      const overlapping = windows.filter((w) => w.fromMs < stall.toMs && w.toMs > stall.fromMs);
      if (overlapping.length > 0 && overlapping.every((w) => w.state === "machine busy"))
        return "machine busy";
      return "service";
    };
    return { ...stall, cause: cause() };
  });

  const rssJudged = log.durationMs >= MIN_RSS_JUDGED_MINUTES * 60_000;
  // Faults excuse lateness, never errors: a service stopped for 3 s answers late, but it answers.
  const whole = log.summarise();
  const errors = whole.non2xx + whole.failed;
  const serviceStalls = stalls.filter((s) => s.cause === "service");
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const enoughForP99 = p99s.length >= MIN_JUDGED_FOR_P99;
  // Judged windows in time order; a third of at least three is at least one.
  const third = Math.floor(p99s.length / 3);
  const earlyP99 = enoughForP99 ? median(p99s.slice(0, third)) : NaN;
  const lateP99 = enoughForP99 ? median(p99s.slice(-third)) : NaN;
  const checks: Check[] = [
    {
      name: "errors (non-2xx + failed), injected faults included",
      value: String(errors),
      limit: "0",
      passed: errors === 0,
    },
    {
      name: "p99 without spikes (worst judged window / median judged window, latency charged to the service)",
      value: enoughForP99 ? `${ms(maxP99)} / ${ms(medianP99)}` : notEnough(p99s.length),
      limit: STABILITY_LIMIT,
      passed: enoughForP99 ? stableP99(maxP99, medianP99) : undefined,
    },
    {
      name: "p99 without drift (median of the last third of judged windows / of the first third)",
      value: enoughForP99 ? `${ms(lateP99)} / ${ms(earlyP99)}` : notEnough(p99s.length),
      limit: STABILITY_LIMIT,
      passed: enoughForP99 ? stableP99(lateP99, earlyP99) : undefined,
    },
    {
      name: `stalls of the service (no answer for >= ${STALL_MS / 1000} s, not injected, not the generator's, not on a busy machine)`,
      value: serviceStalls.length === 0 ? "none" : serviceStalls.map(describeStall).join("; "),
      limit: "none",
      passed: serviceStalls.length === 0,
    },
    ...faultOutcomes.map((fault) => ({
      name: `recovery after the injected ${fault.kind} (last late or failed request due after it)`,
      value: `${(fault.recoveryMs / 1000).toFixed(1)} s`,
      limit: `<= ${RECOVERY_LIMIT_MS / 1000} s`,
      passed: fault.recoveryMs <= RECOVERY_LIMIT_MS,
    })),
    {
      name: "service RSS growth (late vs early window)",
      value:
        `${input.rss.growthPercent.toFixed(1)} %` +
        (rssJudged ? "" : ` (not judged: a soak under ${MIN_RSS_JUDGED_MINUTES} min measures the warm-up)`),
      limit: `< ${MAX_RSS_GROWTH_PERCENT} %`,
      passed: rssJudged ? input.rss.growthPercent < MAX_RSS_GROWTH_PERCENT : undefined,
    },
  ];
  const reasons = checks
    .filter((c) => c.passed === false)
    .map((c) => `${c.name}: ${c.value} (limit ${c.limit})`);
  // Fewer than half the windows judged (of those with requests outside injected faults): the
  // generator or the machine, not the service, decided most of the run, and a PASS would claim
  // more than was measured.
  const loaded = windows.filter((w) => w.sent > 0);
  const enoughJudged = judged.length > 0 && judged.length * 2 >= loaded.length;
  let outcome: SoakOutcome = reasons.length === 0 ? "PASS" : "FAIL";
  if (outcome === "PASS" && !enoughJudged) {
    outcome = "INCONCLUSIVE";
    reasons.push(
      `only ${judged.length} of the ${loaded.length} windows with requests outside injected faults could be judged: ` +
        loaded
          .filter((w) => w.state !== "judged")
          .map((w) => `window ${w.window} ${w.reason ?? "had no answers"}`)
          .join("; "),
    );
  }
  return { windows, faults: faultOutcomes, stalls, lateMs, checks, outcome, reasons };
}

export function describeStall(stall: ClassifiedStall | Stall): string {
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  return (
    `no answer from ${seconds(stall.fromMs)} s to ${seconds(stall.toMs)} s (${seconds(stall.toMs - stall.fromMs)} s, ` +
    `${stall.due} requests due; generator lag ${stall.generatorLagMaxMs.toFixed(0)} ms)`
  );
}
