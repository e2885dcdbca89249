import { describe, expect, it } from "vitest";
import {
  CAPACITY_STEP_SHARES,
  MAX_STEP_P99_MS,
  searchCapacity,
  stepFailure,
} from "../../bench/load/capacity-search.js";
import type { FixedRateResult } from "../../bench/load/fixed-rate.js";
import { fixedRate } from "./fixtures.js";

describe("stepFailure", () => {
  it("holds a step with no errors, the whole rate answered and p99 under the limit", () => {
    expect(stepFailure(fixedRate(1000, MAX_STEP_P99_MS))).toBeUndefined();
  });

  it("fails a step with any failed or non-2xx request, and says how many", () => {
    expect(stepFailure(fixedRate(1000, 20, 3))).toBe("3 of 10000 requests failed or were not 2xx");
    expect(stepFailure({ ...fixedRate(1000, 20), non2xx: 1 })).toBe(
      "1 of 10000 requests failed or were not 2xx",
    );
  });

  it("fails a step that answered under 98 % of its rate (the backlog grew)", () => {
    expect(stepFailure({ ...fixedRate(1000, 20), achievedPerSecond: 979 })).toBe(
      "answered 979 req/s of 1000",
    );
    expect(stepFailure({ ...fixedRate(1000, 20), achievedPerSecond: 980 })).toBeUndefined();
  });

  it("fails a step whose p99 is over the limit", () => {
    expect(stepFailure(fixedRate(1000, MAX_STEP_P99_MS + 1))).toBe(
      `p99 ${MAX_STEP_P99_MS + 1} ms > ${MAX_STEP_P99_MS} ms`,
    );
  });
});

/** A target that sustains `limit` req/s: steps above it come back with p99 in seconds. */
function targetSustaining(limit: number) {
  const rates: number[] = [];
  const runStep = async (rate: number): Promise<FixedRateResult> => {
    rates.push(rate);
    return fixedRate(rate, rate <= limit ? 40 : 3000);
  };
  return { rates, runStep };
}

describe("searchCapacity", () => {
  it("steps up from the lowest share, stops at the first step that fails and returns the last that held", async () => {
    const { rates, runStep } = targetSustaining(1700);
    const seen: (string | undefined)[] = [];
    const search = await searchCapacity(2500, runStep, (step) => seen.push(step.failure));
    expect(rates).toEqual([1000, 1250, 1500, 1750]);
    expect(search.ratePerSecond).toBe(1500);
    expect(search.steps.map((s) => s.share)).toEqual([0.4, 0.5, 0.6, 0.7]);
    expect(seen).toEqual([undefined, undefined, undefined, `p99 3000 ms > ${MAX_STEP_P99_MS} ms`]);
  });

  it("returns the top of the ladder when every step holds", async () => {
    const { rates, runStep } = targetSustaining(Infinity);
    const search = await searchCapacity(1000, runStep);
    expect(rates).toHaveLength(CAPACITY_STEP_SHARES.length);
    expect(search.ratePerSecond).toBe(1200);
    expect(search.steps.every((s) => s.failure === undefined)).toBe(true);
  });

  it("throws, naming the lowest step and why it failed, when no step holds", async () => {
    const { rates, runStep } = targetSustaining(10);
    await expect(searchCapacity(2500, runStep)).rejects.toThrow(
      `no open-loop rate held: the lowest step, 1000 req/s (40 % of the closed-loop 2500), failed: p99 3000 ms > ${MAX_STEP_P99_MS} ms`,
    );
    expect(rates).toEqual([1000]);
  });

  it("refuses an estimate that is not a positive rate", async () => {
    const { runStep } = targetSustaining(100);
    await expect(searchCapacity(0, runStep)).rejects.toThrow("capacity estimate must be positive, got 0");
    await expect(searchCapacity(Number.NaN, runStep)).rejects.toThrow("got NaN");
  });
});
