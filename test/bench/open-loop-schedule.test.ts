import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../../bench/stats/latency-histogram.js";
import { OpenLoopSchedule } from "../../bench/stats/open-loop-schedule.js";

describe("OpenLoopSchedule", () => {
  it("spaces intended send times evenly at the rate", () => {
    const s = new OpenLoopSchedule(200, 2000);
    expect(s.total).toBe(400);
    expect(s.intendedAtMs(0)).toBe(0);
    expect(s.intendedAtMs(3)).toBe(15);
    expect(s.intendedAtMs(399)).toBe(1995);
  });

  it("counts the requests due at a given time, bounded by the total", () => {
    const s = new OpenLoopSchedule(200, 2000);
    expect(s.dueBy(-1)).toBe(0);
    expect(s.dueBy(0)).toBe(1);
    expect(s.dueBy(4.99)).toBe(1);
    expect(s.dueBy(5)).toBe(2);
    expect(s.dueBy(1000)).toBe(201);
    expect(s.dueBy(60_000)).toBe(400);
  });

  it("measures latency from the intended send time", () => {
    const s = new OpenLoopSchedule(100, 1000);
    expect(s.latencyMs(10, 130)).toBe(30);
  });

  it("refuses a rate or duration that is not positive", () => {
    expect(() => new OpenLoopSchedule(0, 1000)).toThrow(
      "rate must be a positive number of requests per second, got 0",
    );
    expect(() => new OpenLoopSchedule(100, Number.NaN)).toThrow(
      "duration must be a positive number of milliseconds, got NaN",
    );
  });
});

/**
 * A synthetic server: one request at a time, 1 ms each, frozen from 5000 to 6000 ms. Load: 100
 * requests per second for 10 s. Returns each request's completion time for a given send time.
 */
function simulate(sendTimes: (index: number, previousCompletion: number) => number): {
  sent: number[];
  completed: number[];
} {
  const sent: number[] = [];
  const completed: number[] = [];
  let freeAt = 0;
  for (let i = 0; i < 1000; i++) {
    const sendAt = sendTimes(i, completed[i - 1] ?? 0);
    let start = Math.max(sendAt, freeAt);
    if (start >= 5000 && start < 6000) start = 6000;
    sent.push(sendAt);
    completed.push(start + 1);
    freeAt = start + 1;
  }
  return { sent, completed };
}

describe("coordinated omission correction on a server that stalls for 1 s", () => {
  const schedule = new OpenLoopSchedule(100, 10_000);

  it("open loop, latency from intended send time: the stall shows in the p99", () => {
    const { completed } = simulate((i) => schedule.intendedAtMs(i));
    const h = new LatencyHistogram();
    completed.forEach((done, i) => h.record(schedule.latencyMs(i, done)));
    const s = h.summary();
    // Requests 500..599 were due during the stall: latencies 1001, 992, ..., 110 ms. The backlog then
    // drains: 101, 92, ..., 2 ms. The other 888 take 1 ms. The 990th smallest of 1000 is 911 ms.
    expect(s.count).toBe(1000);
    expect(s.p50Ms).toBe(1);
    expect(Math.abs(s.p99Ms - 911)).toBeLessThanOrEqual(0.911);
    expect(Math.abs(s.maxMs - 1001)).toBeLessThanOrEqual(1.001);
  });

  it("closed loop, latency from actual send time: the same stall hides in one sample", () => {
    // The client waits for each answer before it sends the next request.
    const { sent, completed } = simulate((i, previous) => Math.max(schedule.intendedAtMs(i), previous));
    const h = new LatencyHistogram();
    completed.forEach((done, i) => h.record(done - sent[i]!));
    const s = h.summary();
    expect(s.p50Ms).toBe(1);
    expect(s.p99Ms).toBe(1);
    expect(Math.abs(s.maxMs - 1001)).toBeLessThanOrEqual(1.001);
  });
});
