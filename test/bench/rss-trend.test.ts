import { describe, expect, it } from "vitest";
import { rssTimeline, rssTrend, type RssSample } from "../../bench/stats/rss-trend.js";

/** One sample per second for five minutes. */
function series(bytesAt: (seconds: number) => number): RssSample[] {
  return Array.from({ length: 301 }, (_, t) => ({ atMs: t * 1000, bytes: bytesAt(t) }));
}

describe("rssTrend", () => {
  it("calls memory that only oscillates around a level flat", () => {
    const trend = rssTrend(series((t) => 150e6 + (t % 2 === 0 ? -2e6 : 2e6)));
    expect(trend.peakBytes).toBe(152e6);
    expect(trend.earlyBytes).toBe(148e6);
    expect(trend.lateBytes).toBe(148e6);
    expect(trend.growthBytes).toBe(0);
    expect(Math.abs(trend.slopeBytesPerMinute)).toBeLessThan(0.01e6);
    expect(trend.flat).toBe(true);
  });

  it("calls a 5 MB/min leak not flat, with its growth and slope", () => {
    const trend = rssTrend(series((t) => 100e6 + (5e6 * t) / 60));
    // Early window 30..90 s (median at 60 s), late window 240..300 s (median at 270 s).
    expect(trend.earlyBytes).toBeCloseTo(105e6, 0);
    expect(trend.lateBytes).toBeCloseTo(122.5e6, 0);
    expect(trend.growthBytes).toBeCloseTo(17.5e6, 0);
    expect(trend.slopeBytesPerMinute).toBeCloseTo(5e6, 0);
    expect(trend.toleranceBytes).toBe(10e6);
    expect(trend.flat).toBe(false);
  });

  it("ignores the warm-up: growth while caches fill does not count", () => {
    const trend = rssTrend(series((t) => (t < 20 ? 80e6 + t * 3e6 : 140e6)));
    expect(trend.growthBytes).toBe(0);
    expect(trend.flat).toBe(true);
  });

  it("allows 5% growth when that is more than 10 MB", () => {
    // 400 MB early -> 415 MB late: 15 MB is within 5% (20 MB).
    const trend = rssTrend(series((t) => (t < 150 ? 400e6 : 415e6)));
    expect(trend.toleranceBytes).toBe(20e6);
    expect(trend.growthBytes).toBe(15e6);
    expect(trend.flat).toBe(true);
  });

  it("refuses an empty series", () => {
    expect(() => rssTrend([])).toThrow("no RSS samples");
  });
});

describe("rssTimeline", () => {
  it("reports the peak of each window", () => {
    const samples = [
      { atMs: 0, bytes: 10 },
      { atMs: 400, bytes: 30 },
      { atMs: 999, bytes: 20 },
      { atMs: 1000, bytes: 5 },
      { atMs: 2500, bytes: 7 },
    ];
    expect(rssTimeline(samples, 1000)).toEqual([
      { fromMs: 0, peakBytes: 30 },
      { fromMs: 1000, peakBytes: 5 },
      { fromMs: 2000, peakBytes: 7 },
    ]);
  });
});
