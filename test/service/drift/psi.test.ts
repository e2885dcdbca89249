import { describe, expect, it } from "vitest";
import { trendOf, TREND_TOLERANCE } from "../../../service/drift/history.js";
import { levelOf } from "../../../service/drift/monitor.js";
import { psi, PSI_EPSILON } from "../../../service/drift/psi.js";
import { BinnedWindow } from "../../../service/drift/window.js";

describe("psi", () => {
  it("is 0 when the live shares equal the baseline", () => {
    expect(psi([0.25, 0.25, 0.5], [25, 25, 50], 100)).toBe(0);
  });

  it("matches the textbook sum of (a - e) * ln(a / e)", () => {
    const expected = 0.1 * Math.log(0.6 / 0.5) + -0.1 * Math.log(0.4 / 0.5);
    expect(psi([0.5, 0.5], [60, 40], 100)).toBeCloseTo(expected, 12);
  });

  it("floors empty bins at epsilon instead of going infinite", () => {
    const value = psi([0.5, 0.5], [100, 0], 100);
    const expected = 0.5 * Math.log(1 / 0.5) + (PSI_EPSILON - 0.5) * Math.log(PSI_EPSILON / 0.5);
    expect(value).toBeCloseTo(expected, 10);
    expect(Number.isFinite(value)).toBe(true);
  });

  it("is 0 for an empty window and refuses mismatched bins", () => {
    expect(psi([0.5, 0.5], [0, 0], 0)).toBe(0);
    expect(() => psi([0.5, 0.5], [1, 2, 3], 6)).toThrow("psi: 2 baseline bins but 3 live bins");
  });
});

describe("BinnedWindow", () => {
  it("keeps per-bin counts of the last `capacity` samples", () => {
    const window = new BinnedWindow(3, [2, 4]);
    window.add([0, 3]);
    window.add([1, 3]);
    window.add([1, 2]);
    expect(Array.from(window.countsOf(0))).toEqual([1, 2]);
    expect(Array.from(window.countsOf(1))).toEqual([0, 0, 1, 2]);
    window.add([0, 0]); // evicts [0, 3]
    window.add([0, 0]); // evicts [1, 3]
    expect(window.size).toBe(3);
    expect(Array.from(window.countsOf(0))).toEqual([2, 1]);
    expect(Array.from(window.countsOf(1))).toEqual([2, 0, 1, 0]);
  });
});

describe("drift levels and trends", () => {
  const thresholds = { warnPsi: 0.1, alertPsi: 0.25 };
  it("classifies a score against the warn and alert thresholds (inclusive)", () => {
    expect(levelOf(0.0999, thresholds)).toBe("ok");
    expect(levelOf(0.1, thresholds)).toBe("warn");
    expect(levelOf(0.25, thresholds)).toBe("alert");
  });

  it("calls changes within the tolerance steady", () => {
    expect(trendOf(null)).toBe("steady");
    expect(trendOf(TREND_TOLERANCE / 2)).toBe("steady");
    expect(trendOf(TREND_TOLERANCE)).toBe("rising");
    expect(trendOf(-0.5)).toBe("falling");
  });
});
