import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { relativeSpeedPercent, SpeedProbe } from "../../bench/soak/speed-probe.js";

describe("soak CPU speed probe", () => {
  it("states speed against the reference: slower work is a lower percentage", () => {
    expect(relativeSpeedPercent(100, 100)).toBe(100);
    expect(relativeSpeedPercent(100, 125)).toBe(80);
    expect(relativeSpeedPercent(100, 80)).toBe(125);
  });

  it("samples the fixed work on its timer and takes medians over a window", async () => {
    const start = performance.now();
    const probe = new SpeedProbe(20);
    await new Promise((r) => setTimeout(r, 150));
    probe.stop();
    const count = probe.samples.length;
    expect(count).toBeGreaterThanOrEqual(3);
    for (const s of probe.samples) {
      expect(s.microseconds).toBeGreaterThan(0);
      expect(s.microseconds).toBeLessThan(100_000);
    }
    const all = probe.medianBetween(start, performance.now() + 1);
    const sorted = probe.samples.map((s) => s.microseconds).sort((a, b) => a - b);
    expect(all).toBeGreaterThanOrEqual(sorted[0]!);
    expect(all).toBeLessThanOrEqual(sorted.at(-1)!);
    expect(probe.medianBetween(start - 1000, start - 500)).toBeNaN();
    // Stopped: no more samples.
    await new Promise((r) => setTimeout(r, 60));
    expect(probe.samples).toHaveLength(count);
  });
});
