import { describe, expect, it } from "vitest";
import { acceptanceChecks } from "../../bench/report/acceptance.js";
import type { BenchResults } from "../../bench/results.js";
import { rssTrend } from "../../bench/stats/rss-trend.js";
import { fixedRate, goodRun, oipRun, saturation } from "./fixtures.js";

/** The v2 comparison's checks of `run`, by title. */
function v2Checks(run: BenchResults) {
  return Object.fromEntries(
    acceptanceChecks(run)
      .filter((c) => c.title.startsWith("v2 "))
      .map((c) => [c.title, c]),
  );
}

describe("acceptanceChecks", () => {
  it("passes every measured target of a good run, and marks the soak N/A without --soak", () => {
    const checks = acceptanceChecks(goodRun());
    expect(
      checks.map((c) => [c.title, c.verdict, c.ratio === undefined ? undefined : Number(c.ratio.toFixed(3))]),
    ).toEqual([
      ["PNG p99 at 1600 req/s (half of saturation)", "PASS", undefined],
      ["inference per row at JSON saturation (mean batch 12.0) / batch-32 floor", "PASS", 1.429],
      ["JSON throughput / FastAPI peer", "PASS", 5],
      ["PNG throughput / FastAPI peer", "PASS", 4.571],
      ["JSON p99 / FastAPI peer p99, both at 2250 req/s", "PASS", 0.004],
      ["PNG p99 / FastAPI peer p99, both at 1600 req/s", "PASS", 0.007],
      ["service peak RSS under load", "PASS", undefined],
      ["RSS growth over a soak (flat)", "N/A", undefined],
      ["plinth's own CPU per JSON /predict request at saturation", "N/A", undefined],
      ["plinth's own CPU per PNG /predict-image request at saturation", "N/A", undefined],
      ["v2 infer throughput, JSON body / KServe ModelServer", "N/A", undefined],
      ["v2 p99, JSON body / KServe ModelServer p99, both at the shared fixed rate", "N/A", undefined],
      ["v2 infer throughput, JSON body / Seldon MLServer", "N/A", undefined],
      ["v2 p99, JSON body / Seldon MLServer p99, both at the shared fixed rate", "N/A", undefined],
      ["v2 infer throughput, binary tensor body / KServe ModelServer", "N/A", undefined],
      [
        "v2 p99, binary tensor body / KServe ModelServer p99, both at the shared fixed rate",
        "N/A",
        undefined,
      ],
      ["v2 infer throughput, binary tensor body / Seldon MLServer", "N/A", undefined],
      ["v2 p99, binary tensor body / Seldon MLServer p99, both at the shared fixed rate", "N/A", undefined],
      ["JSON p99 with 100% shadowed / plain, both at 2200 req/s", "PASS", 1.2],
    ]);
    expect(checks[4]!.notes).toEqual(["reference: 500 of 22500 requests failed or non-2xx"]);
    expect(checks[7]!.notes).toEqual(["no soak in this run: add --soak 300"]);
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

  it("judges plinth's v2 infer against each peer, per body: throughput >= 3x, p99 < 1x at the shared rate", () => {
    const checks = v2Checks({ ...goodRun(), oip: oipRun() });
    const verdict = (title: string) => [checks[title]?.verdict, Number(checks[title]?.ratio?.toFixed(3))];
    expect(verdict("v2 infer throughput, JSON body / KServe ModelServer")).toEqual(["PASS", 3]);
    expect(verdict("v2 infer throughput, JSON body / Seldon MLServer")).toEqual(["FAIL", 2.88]);
    expect(verdict("v2 infer throughput, binary tensor body / KServe ModelServer")).toEqual(["PASS", 4]);
    expect(verdict("v2 p99, JSON body / KServe ModelServer p99, both at 600 req/s")).toEqual(["PASS", 0.278]);
    expect(verdict("v2 p99, JSON body / Seldon MLServer p99, both at 600 req/s")).toEqual(["PASS", 0.357]);
    // Level with the peer is not below it.
    expect(verdict("v2 p99, binary tensor body / KServe ModelServer p99, both at 500 req/s")).toEqual([
      "FAIL",
      1,
    ]);
    const kserve = checks["v2 infer throughput, JSON body / KServe ModelServer"]!;
    expect([kserve.measured, kserve.reference, kserve.target]).toEqual([
      { value: 3600, unit: "req/s" },
      { value: 1200, unit: "req/s" },
      { comparator: ">=", value: 3 },
    ]);
  });

  it("marks a body a peer refuses N/A with its reason, never a figure", () => {
    const checks = v2Checks({ ...goodRun(), oip: oipRun() });
    for (const title of [
      "v2 infer throughput, binary tensor body / Seldon MLServer",
      "v2 p99, binary tensor body / Seldon MLServer p99, both at 500 req/s",
    ]) {
      expect(checks[title]).toMatchObject({
        verdict: "N/A",
        reference: undefined,
        ratio: undefined,
        notes: ["not supported: reads JSON only; answered HTTP 500 in this run"],
      });
    }
  });

  it("fails a v2 ratio whose phase had failed requests, and says N/A for every v2 check without the comparison", () => {
    const run = { ...goodRun(), oip: oipRun() };
    run.oip.servers.service!.bodies!.json!.saturation = saturation(3600, 500);
    expect(v2Checks(run)["v2 infer throughput, JSON body / KServe ModelServer"]).toMatchObject({
      verdict: "FAIL",
      notes: ["500 of 36500 requests failed or non-2xx"],
    });
    const none = Object.values(v2Checks(goodRun()));
    expect(none).toHaveLength(8);
    for (const check of none) {
      expect([check.verdict, check.notes]).toEqual(["N/A", ["no v2 comparison in this run (--no-peer)"]]);
    }
  });
});
