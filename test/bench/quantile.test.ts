import { describe, expect, it } from "vitest";
import { median, quantile } from "../../bench/stats/quantile.js";

describe("quantile", () => {
  it("interpolates between the closest ranks of the sorted values", () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([10, 20, 30, 40, 50], 0.9)).toBe(46);
    expect(quantile([10, 20, 30, 40, 50], 0.25)).toBe(20);
  });

  it("gives the minimum at 0 and the maximum at 1", () => {
    expect(quantile([7, -2, 5], 0)).toBe(-2);
    expect(quantile([7, -2, 5], 1)).toBe(7);
  });

  it("takes the middle value as the median of an odd count, without reordering the input", () => {
    const values = [9, 1, 5];
    expect(median(values)).toBe(5);
    expect(values).toEqual([9, 1, 5]);
  });

  it("refuses an empty list and a quantile outside [0, 1]", () => {
    expect(() => quantile([], 0.5)).toThrow("quantile of an empty list");
    expect(() => quantile([1], 1.5)).toThrow("quantile must be within [0, 1], got 1.5");
  });
});
