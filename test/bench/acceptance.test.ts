import { describe, expect, it } from "vitest";
import { acceptanceChecks } from "../../bench/report/acceptance.js";
import { rssTrend } from "../../bench/stats/rss-trend.js";
import { fixedRate, goodRun, saturation } from "./fixtures.js";

describe("acceptanceChecks", () => {
  it("passes every measured target of a good run, and marks the soak N/A without --soak", () => {
    const checks = acceptanceChecks(goodRun());
    expect(
      checks.map((c) => [c.title, c.verdict, c.ratio === undefined ? undefined : Number(c.ratio.toFixed(3))]),
    ).toEqual([
      ["JSON /predict throughput / HTTP floor, same body (goal 0.9x)", "PASS", 0.9],
      ["PNG /predict-image throughput / HTTP floor, same PNG (goal 0.5x)", "PASS", 0.4],
      ["PNG p99 at 1600 req/s (half of saturation)", "PASS", undefined],
      ["inference per row at JSON saturation (mean batch 12.0) / batch-32 floor", "PASS", 1.429],
      ["JSON throughput / FastAPI peer", "PASS", 5],
      ["PNG throughput / FastAPI peer", "PASS", 4.571],
      ["JSON p99 / FastAPI peer p99, both at 2250 req/s", "PASS", 0.004],
      ["PNG p99 / FastAPI peer p99, both at 1600 req/s", "PASS", 0.007],
      ["service peak RSS under load", "PASS", undefined],
      ["RSS growth over a soak (flat)", "N/A", undefined],
      ["JSON p99 with 100% shadowed / plain, both at 2200 req/s", "PASS", 1.2],
    ]);
    expect(checks[6]!.notes).toEqual(["reference: 500 of 22500 requests failed or non-2xx"]);
    expect(checks[9]!.notes).toEqual(["no soak in this run: add --soak 300"]);
  });

  it("fails the targets a slow, failing, memory-hungry service misses", () => {
    const run = goodRun();
    run.servers.service.json!.saturation = saturation(3500, 200);
    run.servers.service.png!.fixedRate = fixedRate(1600, 14);
    run.serviceInference.json = { perRowUs: 9, meanBatchSize: 2, rows: 1000 };
    run.serviceRss = { idleBytes: 120e6, trend: rssTrend([{ atMs: 0, bytes: 260e6 }]) };
    const verdicts = Object.fromEntries(
      acceptanceChecks(run).map((c) => [c.title.split(" (")[0], c.verdict]),
    );
    expect(verdicts).toMatchObject({
      "JSON /predict throughput / HTTP floor, same body": "FAIL",
      "PNG p99 at 1600 req/s": "FAIL",
      "inference per row at JSON saturation": "FAIL",
      "JSON throughput / FastAPI peer": "FAIL",
      "service peak RSS under load": "FAIL",
    });
  });

  it("reports N/A for the peer checks when the peer did not run", () => {
    const run = goodRun();
    run.servers.peer = {};
    const peerChecks = acceptanceChecks(run).filter((c) => c.title.includes("FastAPI peer"));
    expect(peerChecks.map((c) => c.verdict)).toEqual(["N/A", "N/A", "N/A", "N/A"]);
  });

  it("fails shadowing that more than 1.5x stable's p99 at the same rate", () => {
    const run = goodRun();
    run.shadow!.shadow.fixedRate = fixedRate(2200, 4.8);
    const shadow = acceptanceChecks(run).at(-1)!;
    expect(shadow.measured).toEqual({ value: 4.8, unit: "ms" });
    expect(shadow.reference).toEqual({ value: 3, unit: "ms" });
    expect(shadow.ratio).toBeCloseTo(1.6, 6);
    expect(shadow.target).toEqual({ comparator: "<=", value: 1.5 });
    expect(shadow.verdict).toBe("FAIL");
  });

  it("fails the shadow check when shadowed requests failed, whatever their latency", () => {
    const run = goodRun();
    run.shadow!.shadow.fixedRate = fixedRate(2200, 3, 400);
    const shadow = acceptanceChecks(run).at(-1)!;
    expect(shadow.verdict).toBe("FAIL");
    expect(shadow.notes).toEqual(["400 of 22000 requests failed or non-2xx"]);
  });

  it("marks the shadow check N/A, saying why, without a shadow phase or without its plain run", () => {
    const skipped = { ...goodRun(), shadow: undefined };
    const check = acceptanceChecks(skipped).at(-1)!;
    expect([check.title, check.verdict, check.notes]).toEqual([
      "JSON p99 with 100% shadowed / plain, both at half of the shadowed saturation",
      "N/A",
      ["no shadow phase in this run (--no-shadow)"],
    ]);
    const noPlain = goodRun();
    delete noPlain.shadow!.plain.fixedRate;
    expect(acceptanceChecks(noPlain).at(-1)!).toMatchObject({
      verdict: "N/A",
      notes: ["reference not measured"],
    });
  });

  it("judges a soak by RSS growth after warm-up", () => {
    const run = goodRun();
    const leaking = Array.from({ length: 301 }, (_, t) => ({ atMs: t * 1000, bytes: 150e6 + 0.1e6 * t }));
    run.soak = {
      seconds: 300,
      trend: rssTrend(leaking),
      timeline: [],
      json: saturation(2000),
      png: saturation(1500),
    };
    const soak = acceptanceChecks(run).find((c) => c.title.startsWith("RSS growth"))!;
    expect(soak.title).toBe("RSS growth over the 300 s soak (flat)");
    expect(soak.measured?.value).toBeCloseTo(21, 6);
    expect(soak.verdict).toBe("FAIL");
  });
});
