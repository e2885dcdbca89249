import { describe, expect, it } from "vitest";
import { blockedWithin, PhaseLog } from "../../bench/load/generator/phase-log.js";
import { LAG_BIN_MS, Outcome, RECORD_FIELDS } from "../../bench/load/generator/protocol.js";

/** What happened to one request, in ms after the phase's start. */
interface Fate {
  readonly doneMs: number;
  readonly outcome?: Outcome;
  /** How late the generator sent it (NaN: never sent); it left at intended + lateMs. */
  readonly lateMs?: number;
}

/**
 * A phase of `seconds` at `rate` req/s, shared by `threads` generator threads, in which request `i`
 * met `fate(i, intendedMs)`.
 */
function phase(
  rate: number,
  seconds: number,
  fate: (index: number, intendedMs: number) => Fate,
  threads = 1,
): PhaseLog {
  const log = new PhaseLog(rate, seconds * 1000, 0, threads);
  for (let index = 0; index < log.total; index++) {
    const intended = (index * 1000) / rate;
    const { doneMs, outcome = Outcome.ok, lateMs = 0 } = fate(index, intended);
    log.add(Float64Array.from([index, intended + lateMs, doneMs, outcome, lateMs]));
  }
  return log;
}

/** Every request answered `ms` after it was due. */
const prompt =
  (ms: number) =>
  (_: number, intended: number): Fate => ({ doneMs: intended + ms });

describe("PhaseLog.summarise", () => {
  it("counts each outcome; non-2xx and failed answers carry no latency, unanswered ones do", () => {
    const outcomes = [
      Outcome.ok,
      Outcome.ok,
      Outcome.non2xx,
      Outcome.ok,
      Outcome.failed,
      Outcome.ok,
      Outcome.non2xx,
      Outcome.ok,
      Outcome.unanswered,
      Outcome.ok,
    ];
    const log = phase(10, 1, (i, intended) => ({ doneMs: intended + 5, outcome: outcomes[i]! }));
    const summary = log.summarise();
    expect(summary).toMatchObject({ ratePerSecond: 10, sent: 10, ok: 6, non2xx: 2, failed: 2 });
    expect(summary.latency.count).toBe(7);
    expect(summary.serviceLatency.count).toBe(7);
    // Six 2xx answers, the last at 905 ms: over the 1-s window.
    expect(summary.achievedPerSecond).toBe(6);
  });

  it("charges the service less than the client for a request the generator sent 200 ms late", () => {
    const log = phase(1, 1, () => ({ doneMs: 250, lateMs: 200 }));
    const summary = log.summarise();
    expect(summary.latency.maxMs).toBe(250);
    expect(summary.serviceLatency.maxMs).toBe(50);
    expect(summary.sentLate.maxMs).toBe(200);
    expect(log.serviceLatencyMs(0)).toBe(50);
    expect(log.sentMs[0]).toBe(200);
  });

  it("counts an unanswered request failed, with its latency to the deadline it was recorded at", () => {
    // Request 5 (due at 500 ms) was never sent: recorded unanswered at the 3-s deadline.
    const log = phase(10, 1, (i, intended) =>
      i === 5
        ? { doneMs: 3000, outcome: Outcome.unanswered, lateMs: NaN }
        : { doneMs: intended + 5, lateMs: 3 },
    );
    const summary = log.summarise();
    expect(summary).toMatchObject({ sent: 10, ok: 9, non2xx: 0, failed: 1 });
    expect(summary.latency.count).toBe(10);
    expect(summary.latency.maxMs).toBe(2500);
    expect(summary.serviceLatency.maxMs).toBe(2500);
    expect(log.serviceLatencyMs(5)).toBe(2500);
    // The unsent request has no lateness to report; the others were sent 3 ms late.
    expect(summary.sentLate.maxMs).toBe(3);
  });

  it("leaves out the requests the excluded predicate names, by intended time", () => {
    const log = phase(10, 1, (i, intended) =>
      i === 4 ? { doneMs: intended + 5, outcome: Outcome.failed } : { doneMs: intended + (i === 5 ? 80 : 5) },
    );
    const summary = log.summarise(0, 1000, (intended) => intended >= 300 && intended < 600);
    expect(summary).toMatchObject({ sent: 7, ok: 7, non2xx: 0, failed: 0 });
    expect(summary.latency.maxMs).toBe(5);
  });

  it("puts a request due exactly at a window's end in the next window", () => {
    // Request 10 is due at 1000 ms and is the only slow one.
    const log = phase(10, 2, (i, intended) => ({ doneMs: intended + (i === 10 ? 40 : 5) }));
    expect([...log.indicesDue(0, 1000)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...log.indicesDue(1000, 1200)]).toEqual([10, 11]);
    const first = log.summarise(0, 1000);
    const second = log.summarise(1000, 2000);
    expect(first.sent).toBe(10);
    expect(first.latency.maxMs).toBe(5);
    expect(second.sent).toBe(10);
    expect(second.latency.maxMs).toBe(40);
    expect(log.summarise(0, 2000).sent).toBe(20);
  });

  it("reports the worst generator lag of the window's bins", () => {
    const log = phase(10, 1, prompt(5));
    const bins = new Float32Array(10);
    bins[2] = 30;
    bins[7] = 60;
    log.addLag(bins);
    expect(log.summarise(0, 500).generatorLagMaxMs).toBe(30);
    expect(log.summarise(500, 1000).generatorLagMaxMs).toBe(60);
  });
});

describe("PhaseLog.stalls", () => {
  it("finds a 2-s silence at 10 req/s", () => {
    // The server answers nothing due in [1 s, 3 s) until 3005 ms.
    const log = phase(10, 5, (_, intended) => ({
      doneMs: intended >= 1000 && intended < 3000 ? 3005 : intended + 5,
    }));
    // From the answer to request 9 (905 ms) to 3005 ms; requests 10..30 were due in it.
    expect(log.stalls(1000)).toEqual([{ fromMs: 905, toMs: 3005, due: 21, generatorLagMaxMs: 0 }]);
  });

  it("finds none for prompt answers at 1 req/s: a quiet second between them is no stall", () => {
    const log = phase(1, 5, prompt(5));
    expect(log.stalls(1000)).toEqual([]);
  });

  it("carries the generator's lag during a stall", () => {
    const log = phase(10, 5, (_, intended) => ({
      doneMs: intended >= 1000 && intended < 3000 ? 3005 : intended + 5,
    }));
    const bins = new Float32Array((5000 / LAG_BIN_MS) | 0);
    bins[20] = 1800; // 2.0-2.1 s: inside the stall
    bins[40] = 5000; // 4.0-4.1 s: after it
    log.addLag(bins);
    expect(log.stalls(1000)).toEqual([{ fromMs: 905, toMs: 3005, due: 21, generatorLagMaxMs: 1800 }]);
  });

  it("finds a stall from the last answer to the deadline when the rest went unanswered", () => {
    const log = phase(10, 3, (_, intended) =>
      intended >= 2000
        ? { doneMs: 4000, outcome: Outcome.unanswered, lateMs: NaN }
        : { doneMs: intended + 5 },
    );
    expect(log.stalls(1000)).toEqual([{ fromMs: 1905, toMs: 4000, due: 10, generatorLagMaxMs: 0 }]);
  });
});

describe("PhaseLog lag and accounting", () => {
  it("merges the workers' lag bins by taking the worst of each", () => {
    const log = new PhaseLog(10, 1000, 0);
    log.addLag(Float32Array.from([1, 5, 2]));
    log.addLag(Float32Array.from([3, 1, 2, 7]));
    expect([...log.lagBins]).toEqual([3, 5, 2, 7]);
    expect(log.lagMaxMs(0, 100)).toBe(3);
    expect(log.lagMaxMs(0, 200)).toBe(5);
    expect(log.lagMaxMs(200, 300)).toBe(2);
    expect(log.lagMaxMs(200, 400)).toBe(7);
    expect(log.lagMaxMs(0, Infinity)).toBe(7);
  });

  it("counts the requests no worker recorded", () => {
    const log = new PhaseLog(10, 1000, 0);
    expect(log.unrecorded()).toBe(10);
    const batch = new Float64Array(7 * RECORD_FIELDS);
    for (let i = 0; i < 7; i++) batch.set([i, i * 100, i * 100 + 5, Outcome.ok, 0], i * RECORD_FIELDS);
    log.add(batch);
    expect(log.unrecorded()).toBe(3);
    expect(log.summarise().ok).toBe(7);
  });
});

describe("blockedWithin", () => {
  const pairs = (...values: number[]) => Float64Array.from(values);

  it("is 0 with no blocked intervals", () => {
    expect(blockedWithin(pairs(), 0, 1000)).toBe(0);
  });

  it("counts only the part of intervals overlapping the range at either end", () => {
    // [10, 30] overlaps [20, 80] by 10 ms, [70, 90] by 10 ms.
    expect(blockedWithin(pairs(10, 30, 70, 90), 20, 80)).toBe(20);
  });

  it("adds up several intervals, whole and in part", () => {
    expect(blockedWithin(pairs(10, 20, 30, 40, 50, 60), 0, 100)).toBe(30);
    // From the middle of the 2nd interval to the middle of the 4th: 5 + 10 + 5.
    expect(blockedWithin(pairs(10, 20, 30, 40, 50, 60, 70, 80, 90, 100), 35, 75)).toBe(20);
    // Past every interval but the last.
    expect(blockedWithin(pairs(10, 20, 30, 40, 50, 60, 70, 80, 90, 100), 95, 200)).toBe(5);
  });

  it("is 0 for a range between intervals, including one that only touches them", () => {
    expect(blockedWithin(pairs(10, 20, 50, 60), 25, 45)).toBe(0);
    expect(blockedWithin(pairs(10, 20, 50, 60), 20, 50)).toBe(0);
  });

  it("is 0 for an empty or reversed range", () => {
    expect(blockedWithin(pairs(0, 100), 50, 50)).toBe(0);
    expect(blockedWithin(pairs(0, 100), 60, 40)).toBe(0);
  });
});

describe("PhaseLog.serviceLatencyMs", () => {
  it("leaves out the time the request's own thread was blocked, not another thread's", () => {
    // Two threads: request 2 (due at 200 ms) is thread 0's, request 3 (due at 300 ms) thread 1's;
    // both answered 200 ms after they were due.
    const log = phase(10, 1, (i, intended) => ({ doneMs: intended + (i === 2 || i === 3 ? 200 : 5) }), 2);
    expect(log.serviceLatencyMs(2)).toBe(200);
    // Thread 0 blocked 250-350 ms (100 ms of request 2's 200-400 ms) and 420-480 ms (inside request
    // 3's 300-500 ms, but request 3 was on thread 1).
    log.addBlocked(0, Float64Array.from([250, 350, 420, 480]));
    expect(log.serviceLatencyMs(2)).toBe(100);
    expect(log.serviceLatencyMs(3)).toBe(200);
    // Thread 1 blocked 450-500 ms: request 3's now.
    log.addBlocked(1, Float64Array.from([450, 500]));
    expect(log.serviceLatencyMs(3)).toBe(150);
    // The summary charges the service what serviceLatencyMs says; the client saw the whole 200 ms.
    const summary = log.summarise(0, 300);
    expect(summary.latency.maxMs).toBe(200);
    expect(summary.serviceLatency.maxMs).toBe(100);
  });

  it("leaves out the larger of the sending delay and the blocked time, not their sum", () => {
    // Request 0: sent 100 ms late, thread blocked 0-120 ms: 250 - 120.
    // Request 5: sent 100 ms late, thread blocked 500-560 ms: 250 - 100.
    // Request 8: never sent (NaN lateness), unanswered at 3000 ms, blocked 900-1400 ms: 2200 - 500.
    const log = phase(10, 1, (i, intended) =>
      i === 0 || i === 5
        ? { doneMs: intended + 250, lateMs: 100 }
        : i === 8
          ? { doneMs: 3000, outcome: Outcome.unanswered, lateMs: NaN }
          : { doneMs: intended + 5 },
    );
    log.addBlocked(0, Float64Array.from([0, 120, 500, 560, 900, 1400]));
    expect(log.serviceLatencyMs(0)).toBe(130);
    expect(log.serviceLatencyMs(5)).toBe(150);
    expect(log.serviceLatencyMs(8)).toBe(1700);
  });
});
