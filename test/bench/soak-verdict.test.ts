import { describe, expect, it } from "vitest";
import { PhaseLog } from "../../bench/load/generator/phase-log.js";
import { LAG_BIN_MS, Outcome } from "../../bench/load/generator/protocol.js";
import type { InjectedFault } from "../../bench/soak/faults.js";
import { judgeSoak, type Verdict, type WindowMachine } from "../../bench/soak/verdict.js";
import { rssTrend } from "../../bench/stats/rss-trend.js";

const RATE = 10;

/** What happened to one request: answered `serviceMs` after it was due, or another outcome. */
interface Fate {
  readonly serviceMs?: number;
  readonly outcome?: Outcome;
}

const quiet: WindowMachine = {
  cpu: { service: 20, edge: 5, generator: 10, stack: 1, other: 2, steal: 0 },
  speedPercent: 100,
  tcp: { listenOverflows: 0, synRetransmits: 0 },
};

const busy: WindowMachine = { ...quiet, cpu: { ...quiet.cpu, other: 120 } };

interface Soak {
  readonly seconds: number;
  readonly windowMs?: number;
  /** By intended time: a request is answered (2xx) 5 ms after it was due unless this says otherwise. */
  readonly fate?: (intendedMs: number) => Fate;
  /** Generator lag per {@link LAG_BIN_MS} bin, by the bin's start in ms. */
  readonly lag?: Readonly<Record<number, number>>;
  /** Per window, 1-based. */
  readonly machine?: (window: number) => WindowMachine;
  readonly faults?: readonly InjectedFault[];
  readonly rssGrowthPercent?: number;
}

/** A soak at 10 req/s, judged in windows of 10 s unless said otherwise. */
function judge(soak: Soak): Verdict {
  const windowMs = soak.windowMs ?? 10_000;
  const log = new PhaseLog(RATE, soak.seconds * 1000, 0);
  for (let index = 0; index < log.total; index++) {
    const intended = (index * 1000) / RATE;
    const { serviceMs = 5, outcome = Outcome.ok } = soak.fate?.(intended) ?? {};
    log.add(Float64Array.from([index, intended, intended + serviceMs, outcome, 0]));
  }
  const bins = new Float32Array((soak.seconds * 1000) / LAG_BIN_MS);
  for (const [fromMs, ms] of Object.entries(soak.lag ?? {})) bins[Number(fromMs) / LAG_BIN_MS] = ms;
  log.addLag(bins);
  const windows = Math.ceil((soak.seconds * 1000) / windowMs);
  const growth = 1 + (soak.rssGrowthPercent ?? 0) / 100;
  const samples = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((t) => ({
    atMs: t * soak.seconds * 100,
    bytes: t < 5 ? 100e6 : 100e6 * growth,
  }));
  return judgeSoak({
    log,
    windowMs,
    machine: Array.from({ length: windows }, (_, k) => soak.machine?.(k + 1) ?? quiet),
    faults: soak.faults ?? [],
    rss: { ...rssTrend(samples), growthPercent: soak.rssGrowthPercent ?? 0 },
  });
}

const check = (verdict: Verdict, name: string) => verdict.checks.find((c) => c.name.startsWith(name));

/** Nothing answered for what was due in [20 s, 23 s) until 23.005 s. */
const pausedAt20s = (intended: number): Fate =>
  intended >= 20_000 && intended < 23_000 ? { serviceMs: 23_005 - intended } : {};

const servicePaused: InjectedFault = {
  kind: "service paused",
  fromMs: 20_000,
  toMs: 23_000,
  detail: "SIGSTOP, SIGCONT 3.0 s later",
};

const ERRORS_CHECK = "errors (non-2xx + failed), injected faults included";
const SPIKES_CHECK =
  "p99 without spikes (worst judged window / median judged window, latency charged to the service)";
const DRIFT_CHECK = "p99 without drift (median of the last third of judged windows / of the first third)";
const STALLS_CHECK =
  "stalls of the service (no answer for >= 1 s, not injected, not the generator's, not on a busy machine)";
const RECOVERY_CHECK =
  "recovery after the injected service paused (last late or failed request due after it)";

describe("judgeSoak", () => {
  it("passes a clean run", () => {
    const verdict = judge({ seconds: 60 });
    expect(verdict.outcome).toBe("PASS");
    expect(verdict.reasons).toEqual([]);
    expect(verdict.windows.map((w) => [w.window, w.sent, w.state])).toEqual([
      [1, 100, "judged"],
      [2, 100, "judged"],
      [3, 100, "judged"],
      [4, 100, "judged"],
      [5, 100, "judged"],
      [6, 100, "judged"],
    ]);
    expect(verdict.stalls).toEqual([]);
    expect(verdict.lateMs).toBe(100);
    expect(verdict.checks.map((c) => [c.name, c.value, c.passed])).toEqual([
      [ERRORS_CHECK, "0", true],
      [SPIKES_CHECK, "5.0 ms / 5.0 ms", true],
      [DRIFT_CHECK, "5.0 ms / 5.0 ms", true],
      [STALLS_CHECK, "none", true],
      [
        "service RSS growth (late vs early window)",
        "0.0 % (not judged: a soak under 5 min measures the warm-up)",
        undefined,
      ],
    ]);
  });

  it("fails on p99 spikes, not drift, when one window's p99 is 10x the others'", () => {
    const verdict = judge({ seconds: 60, fate: (t) => (t >= 20_000 && t < 30_000 ? { serviceMs: 50 } : {}) });
    expect(verdict.windows[2]!.state).toBe("judged");
    expect(check(verdict, DRIFT_CHECK)).toMatchObject({ value: "5.0 ms / 5.0 ms", passed: true });
    expect(verdict.outcome).toBe("FAIL");
    expect(verdict.reasons).toEqual([`${SPIKES_CHECK}: 50.0 ms / 5.0 ms (limit <= 2x or + 5 ms)`]);
  });

  it("takes a window's p99 within 5 ms of the median as jitter, and a spike past that", () => {
    // CI's run of 2026-12-05: one judged window at 3.7 ms against a median of 1.6 ms (2.3x).
    const at = (windowMs: number) => (t: number) => ({
      serviceMs: t >= 20_000 && t < 30_000 ? windowMs : 1.6,
    });
    const jitter = judge({ seconds: 60, fate: at(3.7) });
    expect(check(jitter, SPIKES_CHECK)).toMatchObject({ value: "3.7 ms / 1.6 ms", passed: true });
    expect(jitter.outcome).toBe("PASS");
    const spike = judge({ seconds: 60, fate: at(6.7) });
    expect(check(spike, SPIKES_CHECK)).toMatchObject({ value: "6.7 ms / 1.6 ms", passed: false });
    expect(spike.reasons).toEqual([`${SPIKES_CHECK}: 6.7 ms / 1.6 ms (limit <= 2x or + 5 ms)`]);
  });

  it("marks a window whose generator lagged 300 ms and does not fail the soak on its p99", () => {
    const verdict = judge({
      seconds: 60,
      fate: (t) => (t >= 20_000 && t < 30_000 ? { serviceMs: 50 } : {}),
      lag: { 25_000: 300 },
    });
    expect(verdict.windows[2]).toMatchObject({
      state: "generator lagged",
      reason: "generator blocked 300 ms > 100 ms",
      generatorLagMaxMs: 300,
    });
    expect(verdict.windows.filter((w) => w.state !== "judged")).toHaveLength(1);
    expect(verdict.outcome).toBe("PASS");
    expect(check(verdict, SPIKES_CHECK)).toMatchObject({ value: "5.0 ms / 5.0 ms", passed: true });
    expect(check(verdict, DRIFT_CHECK)).toMatchObject({ value: "5.0 ms / 5.0 ms", passed: true });
  });

  it("marks a window with other work at 120 % of a core machine busy and does not fail the soak on its p99", () => {
    const verdict = judge({
      seconds: 60,
      fate: (t) => (t >= 20_000 && t < 30_000 ? { serviceMs: 50 } : {}),
      machine: (window) => (window === 3 ? busy : quiet),
    });
    expect(verdict.windows[2]).toMatchObject({
      state: "machine busy",
      reason: "other work and steal 120 % of a core",
    });
    expect(verdict.outcome).toBe("PASS");
    expect(check(verdict, SPIKES_CHECK)).toMatchObject({ value: "5.0 ms / 5.0 ms", passed: true });
    expect(check(verdict, DRIFT_CHECK)).toMatchObject({ value: "5.0 ms / 5.0 ms", passed: true });
  });

  it("counts steal with other work, and a slowed CPU, as the machine's", () => {
    const verdict = judge({
      seconds: 60,
      machine: (window) =>
        window === 2
          ? { ...quiet, cpu: { ...quiet.cpu, other: 30, steal: 20 } }
          : window === 4
            ? { ...quiet, speedPercent: 60 }
            : quiet,
    });
    expect(verdict.windows.map((w) => w.reason)).toEqual([
      undefined,
      "other work and steal 50 % of a core",
      undefined,
      "CPU at 60 % of its speed",
      undefined,
      undefined,
    ]);
  });

  it("fails on a 3-s service stall no fault explains, naming the stall", () => {
    const verdict = judge({ seconds: 60, fate: pausedAt20s });
    expect(verdict.stalls).toEqual([
      { fromMs: 19_905, toMs: 23_005, due: 31, generatorLagMaxMs: 0, cause: "service" },
    ]);
    expect(verdict.outcome).toBe("FAIL");
    expect(verdict.reasons).toContain(
      `${STALLS_CHECK}: ` +
        "no answer from 19.9 s to 23.0 s (3.1 s, 31 requests due; generator lag 0 ms) (limit none)",
    );
  });

  it("does not charge the service a stall the generator caused", () => {
    const verdict = judge({ seconds: 60, fate: pausedAt20s, lag: { 21_000: 2500 } });
    expect(verdict.stalls.map((s) => [s.cause, s.generatorLagMaxMs])).toEqual([["generator", 2500]]);
    expect(verdict.windows[2]!.state).toBe("generator lagged");
    expect(verdict.outcome).toBe("PASS");
  });

  it("passes the same stall inside an injected service pause and judges it by the fault's rule", () => {
    // After the pause the service stays slow (150 ms > the 100-ms late floor) until 25 s.
    const verdict = judge({
      seconds: 60,
      fate: (t) => (t >= 23_000 && t < 25_000 ? { serviceMs: 150 } : pausedAt20s(t)),
      faults: [servicePaused],
    });
    expect(verdict.stalls.map((s) => s.cause)).toEqual(["injected fault"]);
    // The fault answers for requests due from 1 s before it to 1 s after its recovery, [19 s,
    // 25.9 s): 30 held by the pause and 20 slow after it are late.
    expect(verdict.faults).toEqual([
      { ...servicePaused, span: [19_000, 25_900], requests: 69, late: 50, failed: 0, recoveryMs: 1900 },
    ]);
    expect(check(verdict, RECOVERY_CHECK)).toMatchObject({ value: "1.9 s", passed: true });
    expect(verdict.windows.map((w) => w.sent)).toEqual([100, 90, 41, 100, 100, 100]);
    expect(verdict.outcome).toBe("PASS");
    expect(verdict.reasons).toEqual([]);
  });

  /** Late (150 ms) for 15 s after the pause ended. */
  const slowFor15s = (t: number): Fate => (t >= 23_000 && t < 38_000 ? { serviceMs: 150 } : pausedAt20s(t));

  it("fails a soak whose service is still late 15 s after a fault", () => {
    const verdict = judge({ seconds: 60, fate: slowFor15s, faults: [servicePaused] });
    expect(verdict.outcome).toBe("FAIL");
  });

  it("fails the recovery check when late requests continue 15 s after the fault", () => {
    const verdict = judge({ seconds: 60, fate: slowFor15s, faults: [servicePaused] });
    expect(verdict.faults[0]!.recoveryMs).toBe(14_900);
    expect(check(verdict, RECOVERY_CHECK)).toMatchObject({ value: "14.9 s", passed: false });
    expect(verdict.reasons).toContain(`${RECOVERY_CHECK}: 14.9 s (limit <= 10 s)`);
  });

  it("fails on non-2xx and failed requests outside injected faults", () => {
    const verdict = judge({
      seconds: 60,
      fate: (t) =>
        t === 15_000 ? { outcome: Outcome.non2xx } : t === 45_000 ? { outcome: Outcome.failed } : {},
    });
    expect(verdict.outcome).toBe("FAIL");
    expect(verdict.reasons).toEqual([`${ERRORS_CHECK}: 2 (limit 0)`]);
  });

  const cpuHog: InjectedFault = { kind: "CPU hog", fromMs: 20_000, toMs: 23_000, detail: "2 busy processes" };

  it("fails on errors during a fault and its recovery, and counts them in the fault's failed too", () => {
    const verdict = judge({
      seconds: 60,
      // One during the fault, one half a second after it (still recovering).
      fate: (t) =>
        t === 21_000 ? { outcome: Outcome.non2xx } : t === 23_500 ? { outcome: Outcome.failed } : {},
      faults: [cpuHog],
    });
    expect(check(verdict, ERRORS_CHECK)).toMatchObject({ value: "2", passed: false });
    expect(verdict.faults[0]).toMatchObject({ late: 0, failed: 2, recoveryMs: 500, span: [19_000, 24_500] });
    // The recovery itself was in time: only the errors fail the soak.
    expect(check(verdict, "recovery after the injected CPU hog")).toMatchObject({
      value: "0.5 s",
      passed: true,
    });
    expect(verdict.outcome).toBe("FAIL");
    expect(verdict.reasons).toEqual([`${ERRORS_CHECK}: 2 (limit 0)`]);
  });

  it("counts an error long after a fault's recovery in the errors check but not in the fault's failed", () => {
    const verdict = judge({
      seconds: 60,
      // The fault is over at 23 s and every request after it is on time until this one at 32 s.
      fate: (t) =>
        t === 21_000 ? { outcome: Outcome.non2xx } : t === 32_000 ? { outcome: Outcome.failed } : {},
      faults: [cpuHog],
    });
    expect(verdict.faults[0]).toMatchObject({ failed: 1, recoveryMs: 0 });
    expect(verdict.outcome).toBe("FAIL");
    expect(verdict.reasons).toEqual([`${ERRORS_CHECK}: 2 (limit 0)`]);
  });

  it("does not judge 20 % RSS growth over a 1-minute soak", () => {
    const verdict = judge({ seconds: 60, rssGrowthPercent: 20 });
    expect(check(verdict, "service RSS growth")).toMatchObject({
      value: "20.0 % (not judged: a soak under 5 min measures the warm-up)",
      passed: undefined,
    });
    expect(verdict.outcome).toBe("PASS");
  });

  it("fails 20 % RSS growth over a 10-minute soak", () => {
    const verdict = judge({ seconds: 600, windowMs: 60_000, rssGrowthPercent: 20 });
    expect(verdict.windows).toHaveLength(10);
    expect(check(verdict, "service RSS growth")).toMatchObject({ value: "20.0 %", passed: false });
    expect(verdict.outcome).toBe("FAIL");
    expect(verdict.reasons).toEqual(["service RSS growth (late vs early window): 20.0 % (limit < 10 %)"]);
  });

  it("is inconclusive when most loaded windows were machine busy, naming them", () => {
    const verdict = judge({ seconds: 60, machine: (window) => (window <= 4 ? busy : quiet) });
    expect(verdict.outcome).toBe("INCONCLUSIVE");
    expect(verdict.reasons).toEqual([
      "only 2 of the 6 windows with requests outside injected faults could be judged: " +
        "window 1 other work and steal 120 % of a core; window 2 other work and steal 120 % of a core; " +
        "window 3 other work and steal 120 % of a core; window 4 other work and steal 120 % of a core",
    ]);
  });

  it("is inconclusive, not failed, when every window was machine busy", () => {
    const verdict = judge({ seconds: 60, machine: () => busy });
    expect(verdict.outcome).toBe("INCONCLUSIVE");
    for (const name of [SPIKES_CHECK, DRIFT_CHECK]) {
      expect(check(verdict, name)).toMatchObject({
        value: "not judged: 0 judged windows, 3 needed",
        passed: undefined,
      });
    }
    // No p99 to scale: the floor alone says what is late.
    expect(verdict.lateMs).toBe(100);
  });

  it("passes when half the loaded windows were judged", () => {
    const verdict = judge({ seconds: 60, machine: (window) => (window <= 3 ? busy : quiet) });
    expect(verdict.outcome).toBe("PASS");
  });

  it("fails on p99 drift, not spikes, when the last 5 of 10 windows are 10x the first 5", () => {
    const verdict = judge({ seconds: 100, fate: (t) => (t >= 50_000 ? { serviceMs: 50 } : {}) });
    expect(verdict.windows.map((w) => [w.state, w.serviceLatency.p99Ms.toFixed(1)])).toEqual([
      ...Array.from({ length: 5 }, () => ["judged", "5.0"]),
      ...Array.from({ length: 5 }, () => ["judged", "50.0"]),
    ]);
    // Worst 50 ms against a median of 27.5 ms: no spike. The last three windows' median against the
    // first three's: 10x.
    expect(check(verdict, SPIKES_CHECK)).toMatchObject({ value: "50.0 ms / 27.5 ms", passed: true });
    expect(check(verdict, DRIFT_CHECK)).toMatchObject({ value: "50.0 ms / 5.0 ms", passed: false });
    expect(verdict.outcome).toBe("FAIL");
    expect(verdict.reasons).toEqual([`${DRIFT_CHECK}: 50.0 ms / 5.0 ms (limit <= 2x or + 5 ms)`]);
  });

  it("does not judge p99 spikes or drift over fewer than 3 judged windows", () => {
    // Two windows, the second 10x the first: too few to say either way.
    const two = judge({ seconds: 20, fate: (t) => (t >= 10_000 ? { serviceMs: 50 } : {}) });
    for (const name of [SPIKES_CHECK, DRIFT_CHECK]) {
      expect(check(two, name)).toMatchObject({
        value: "not judged: 2 judged windows, 3 needed",
        passed: undefined,
      });
    }
    expect(two.outcome).toBe("PASS");
    expect(two.reasons).toEqual([]);
    const one = judge({ seconds: 10 });
    for (const name of [SPIKES_CHECK, DRIFT_CHECK]) {
      expect(check(one, name)).toMatchObject({
        value: "not judged: 1 judged window, 3 needed",
        passed: undefined,
      });
    }
    expect(one.outcome).toBe("PASS");
  });

  it("puts a 3-s stall in windows that were all machine busy on the machine, not the service", () => {
    // The stall runs from 19.9 s to 23.0 s: windows 2 and 3.
    const verdict = judge({
      seconds: 60,
      fate: pausedAt20s,
      machine: (window) => (window === 2 || window === 3 ? busy : quiet),
    });
    expect(verdict.stalls).toEqual([
      { fromMs: 19_905, toMs: 23_005, due: 31, generatorLagMaxMs: 0, cause: "machine busy" },
    ]);
    expect(check(verdict, STALLS_CHECK)).toMatchObject({ value: "none", passed: true });
    expect(verdict.outcome).toBe("PASS");
    expect(verdict.reasons).toEqual([]);
  });

  it("charges the service a stall that reaches into a window the machine did not take", () => {
    // Only window 3 busy: the stall's start in window 2 was judged.
    const verdict = judge({
      seconds: 60,
      fate: pausedAt20s,
      machine: (window) => (window === 3 ? busy : quiet),
    });
    expect(verdict.stalls.map((s) => s.cause)).toEqual(["service"]);
    expect(check(verdict, STALLS_CHECK)).toMatchObject({ passed: false });
    expect(verdict.outcome).toBe("FAIL");
  });

  it("charges the service a stall that starts before a fault's span, even though it ends inside it", () => {
    // The span starts 1 s before the fault, at 19.95 s; the stall started at 19.905 s.
    const late: InjectedFault = { kind: "CPU hog", fromMs: 20_950, toMs: 23_000, detail: "2 busy processes" };
    const verdict = judge({ seconds: 60, fate: pausedAt20s, faults: [late] });
    expect(verdict.faults).toEqual([
      { ...late, span: [19_950, 24_000], requests: 40, late: 30, failed: 0, recoveryMs: 0 },
    ]);
    expect(verdict.stalls).toEqual([
      { fromMs: 19_905, toMs: 23_005, due: 31, generatorLagMaxMs: 0, cause: "service" },
    ]);
    expect(verdict.outcome).toBe("FAIL");
    expect(verdict.reasons).toEqual([
      `${STALLS_CHECK}: no answer from 19.9 s to 23.0 s (3.1 s, 31 requests due; generator lag 0 ms) (limit none)`,
    ]);
    // A span starting exactly where the stall does takes it.
    const onTime: InjectedFault = { ...late, fromMs: 20_905 };
    const excused = judge({ seconds: 60, fate: pausedAt20s, faults: [onTime] });
    expect(excused.faults[0]!.span).toEqual([19_905, 24_000]);
    expect(excused.stalls.map((s) => s.cause)).toEqual(["injected fault"]);
    expect(excused.outcome).toBe("PASS");
  });
});
