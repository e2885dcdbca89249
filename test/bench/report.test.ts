import { describe, expect, it } from "vitest";
import { limitCheck, ratioCheck } from "../../bench/report/checks.js";
import {
  checksTable,
  formatNumber,
  formatRatio,
  formatTarget,
  markdownTable,
} from "../../bench/report/format.js";

const reqs = (value: number, caveat?: string) =>
  caveat === undefined ? { value, unit: "req/s" as const } : { value, unit: "req/s" as const, caveat };

describe("formatNumber", () => {
  it("writes throughput as whole requests with thousands separators", () => {
    expect(formatNumber(4210.4, "req/s")).toBe("4,210 req/s");
    expect(formatNumber(28999.6, "req/s")).toBe("29,000 req/s");
  });

  it("keeps three significant figures of latencies and floors", () => {
    expect(formatNumber(0.4123, "ms")).toBe("0.41 ms");
    expect(formatNumber(6.126, "ms")).toBe("6.13 ms");
    expect(formatNumber(48.26, "ms")).toBe("48.3 ms");
    expect(formatNumber(512.4, "ms")).toBe("512 ms");
    expect(formatNumber(3.456, "us")).toBe("3.46 us");
  });

  it("writes memory in MB with one decimal below 100", () => {
    expect(formatNumber(9.87, "MB")).toBe("9.9 MB");
    expect(formatNumber(182.4, "MB")).toBe("182 MB");
  });
});

describe("formatRatio and formatTarget", () => {
  it("writes ratios with an x, two decimals below 10", () => {
    expect(formatRatio(0.8234)).toBe("0.82x");
    expect(formatRatio(12.34)).toBe("12.3x");
    expect(formatRatio(undefined)).toBe("—");
  });

  it("writes a ratio target with an x and a limit with its unit", () => {
    expect(formatTarget({ comparator: ">=", value: 0.8 })).toBe(">= 0.8x");
    expect(formatTarget({ comparator: "<=", value: 10, unit: "ms" })).toBe("<= 10 ms");
    expect(formatTarget({ comparator: "<", value: 1 })).toBe("< 1x");
  });
});

describe("ratioCheck", () => {
  const atLeast = { comparator: ">=", value: 0.8 } as const;

  it("passes when measured / reference meets the target, the boundary included", () => {
    const check = ratioCheck("JSON / floor", reqs(4100), reqs(5000), atLeast);
    expect(check.ratio).toBeCloseTo(0.82, 10);
    expect(check.verdict).toBe("PASS");
    expect(ratioCheck("JSON / floor", reqs(4000), reqs(5000), atLeast).verdict).toBe("PASS");
  });

  it("fails below the target", () => {
    const check = ratioCheck("JSON / floor", reqs(3900), reqs(5000), atLeast);
    expect(check.verdict).toBe("FAIL");
    expect(check.notes).toEqual([]);
  });

  it("fails a strict target at equality", () => {
    const ms = { value: 5, unit: "ms" } as const;
    expect(ratioCheck("p99 / peer", ms, ms, { comparator: "<", value: 1 }).verdict).toBe("FAIL");
  });

  it("cannot pass on a figure from a phase with failed requests", () => {
    const check = ratioCheck(
      "JSON / floor",
      reqs(6000, "40 of 9000 requests failed or non-2xx"),
      reqs(5000),
      atLeast,
    );
    expect(check.verdict).toBe("FAIL");
    expect(check.notes).toEqual(["40 of 9000 requests failed or non-2xx"]);
  });

  it("keeps its verdict when only the reference had failures, and says so", () => {
    const check = ratioCheck(
      "p99 / peer",
      { value: 4, unit: "ms" },
      { value: 900, unit: "ms", caveat: "overloaded" },
      {
        comparator: "<",
        value: 1,
      },
    );
    expect(check.verdict).toBe("PASS");
    expect(check.notes).toEqual(["reference: overloaded"]);
  });

  it("is N/A when either figure is missing", () => {
    expect(ratioCheck("x", reqs(1), undefined, atLeast)).toMatchObject({
      verdict: "N/A",
      ratio: undefined,
      notes: ["reference not measured"],
    });
    expect(ratioCheck("x", undefined, reqs(1), atLeast)).toMatchObject({
      verdict: "N/A",
      notes: ["not measured"],
    });
  });

  it("refuses to divide figures in different units", () => {
    expect(() => ratioCheck("x", reqs(1), { value: 1, unit: "ms" }, atLeast)).toThrow(
      "x: cannot divide req/s by ms",
    );
  });
});

describe("limitCheck", () => {
  const p99Limit = { comparator: "<=", value: 10, unit: "ms" } as const;

  it("compares the figure itself with the limit", () => {
    expect(limitCheck("p99", { value: 6.1, unit: "ms" }, p99Limit).verdict).toBe("PASS");
    expect(limitCheck("p99", { value: 10, unit: "ms" }, p99Limit).verdict).toBe("PASS");
    expect(limitCheck("p99", { value: 12, unit: "ms" }, p99Limit).verdict).toBe("FAIL");
    expect(limitCheck("p99", undefined, p99Limit).verdict).toBe("N/A");
  });

  it("refuses a limit in another unit", () => {
    expect(() =>
      limitCheck("rss", { value: 1, unit: "ms" }, { comparator: "<=", value: 250, unit: "MB" }),
    ).toThrow("rss: a ms figure against a limit in MB");
  });
});

describe("tables", () => {
  it("pads every column to its widest cell", () => {
    expect(markdownTable(["a", "long header"], [["wide cell", "x"]])).toBe(
      ["| a         | long header |", "|-----------|-------------|", "| wide cell | x           |"].join(
        "\n",
      ),
    );
  });

  it("prints a check per row: figures, ratio, target and verdict with its notes", () => {
    const table = checksTable([
      ratioCheck("JSON / floor", reqs(4100), reqs(5000), { comparator: ">=", value: 0.8 }),
      limitCheck("PNG p99", { value: 12.5, unit: "ms" }, { comparator: "<=", value: 10, unit: "ms" }),
      ratioCheck("PNG / peer", reqs(900), undefined, { comparator: ">=", value: 3 }),
    ]);
    expect(table).toBe(
      [
        "| check        | measured    | reference   | ratio | target   | result                       |",
        "|--------------|-------------|-------------|-------|----------|------------------------------|",
        "| JSON / floor | 4,100 req/s | 5,000 req/s | 0.82x | >= 0.8x  | PASS                         |",
        "| PNG p99      | 12.5 ms     | —           | —     | <= 10 ms | FAIL                         |",
        "| PNG / peer   | 900 req/s   | —           | —     | >= 3x    | N/A (reference not measured) |",
      ].join("\n"),
    );
  });
});
