/**
 * The soak tested on itself: the whole local stack under a one-minute fixed-rate soak, with the
 * service stopped for 3 s (SIGSTOP/SIGCONT) and later the machine squeezed by a CPU hog. The
 * generator must keep its schedule through both, the report must name both, the requests due
 * during them must be the only late ones, and the rest of the run must pass.
 *
 * It runs on its own after the rest of the suite (scripts/test.sh): beside forty test files in
 * parallel, the machine would not be the one the soak measures.
 */
import { describe, expect, it } from "vitest";
import { runSoak, type SoakResult } from "../../bench/soak/run.js";
import { GENERATOR_LAG_LIMIT_MS, RECOVERY_LIMIT_MS } from "../../bench/soak/verdict.js";

const RATE = 300;
const PAUSE = { atSeconds: 15, seconds: 3 };
const HOG = { atSeconds: 36, seconds: 8 };

let result: SoakResult;

describe("the soak with a 3-s service pause and a CPU hog", () => {
  it("runs a one-minute soak at a fixed rate with both faults injected", { timeout: 300_000 }, async () => {
    const lines: string[] = [];
    result = await runSoak(
      {
        minutes: 1,
        share: 0.7,
        ratePerSecond: RATE,
        capacitySeconds: 0,
        stepSeconds: 0,
        warmupSeconds: 0,
        settleSeconds: 10,
        connections: 32,
        windowSeconds: 10,
        faults: { pauseService: PAUSE, cpuHog: HOG },
      },
      { stackLog: () => {}, progress: (line) => lines.push(line), onStarted: () => {} },
    );
    expect(result.verdict.windows).toHaveLength(6);
    expect(lines.filter((line) => line.startsWith("window "))).toHaveLength(6);
  });

  it("names the pause, finds the stall it caused, and blames no one else", () => {
    const pause = result.verdict.faults.find((fault) => fault.kind === "service paused")!;
    // Timers fire within a millisecond or so of the soak's clock (set in another thread).
    expect(pause.fromMs).toBeGreaterThan(PAUSE.atSeconds * 1000 - 20);
    expect(pause.fromMs).toBeLessThan(PAUSE.atSeconds * 1000 + 100);
    expect(pause.toMs - pause.fromMs).toBeGreaterThan(PAUSE.seconds * 1000 - 20);
    expect(pause.toMs - pause.fromMs).toBeLessThan(PAUSE.seconds * 1000 + 100);
    // Everything due in its first two seconds waited past the late bound.
    expect(pause.late + pause.failed).toBeGreaterThanOrEqual(RATE * 2);
    expect(pause.recoveryMs).toBeLessThan(RECOVERY_LIMIT_MS);
    const stalls = result.verdict.stalls;
    expect(stalls.map((stall) => stall.cause)).toEqual(["injected fault"]);
    expect(stalls[0]!.fromMs).toBeGreaterThan(pause.fromMs - 500);
    expect(stalls[0]!.toMs).toBeGreaterThan(pause.toMs - 200);
    expect(stalls[0]!.toMs).toBeLessThan(pause.toMs + 2000);
  });

  it("names the CPU hog and sees the machine busy while it ran", () => {
    const hog = result.verdict.faults.find((fault) => fault.kind === "CPU hog")!;
    expect(hog.toMs - hog.fromMs).toBeGreaterThan(HOG.seconds * 1000 - 20);
    expect(hog.recoveryMs).toBeLessThan(RECOVERY_LIMIT_MS);
    // Window 4 (30-40 s) holds the hog's first four seconds: other work took most of a core.
    expect(result.verdict.windows[3]!.cpu.other).toBeGreaterThan(50);
  });

  it("kept the generator on its schedule through both", () => {
    expect(result.generator.lagMaxMs).toBeLessThan(GENERATOR_LAG_LIMIT_MS);
    for (const window of result.verdict.windows) {
      expect(window.sentLate.maxMs).toBeLessThan(GENERATOR_LAG_LIMIT_MS);
    }
  });

  it("judges the rest of the run and passes it", () => {
    const { verdict } = result;
    expect(verdict.reasons).toEqual([]);
    expect(verdict.outcome).toBe("PASS");
    const judged = verdict.windows.filter((window) => window.state === "judged");
    expect(judged.length).toBeGreaterThanOrEqual(3);
    for (const window of judged) {
      expect(window.non2xx + window.failed).toBe(0);
      expect(window.serviceLatency.maxMs).toBeLessThan(verdict.lateMs * 5);
    }
  });
});
