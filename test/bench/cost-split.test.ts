import { describe, expect, it } from "vitest";
import { acceptanceChecks, ownCpuCheck, TARGETS } from "../../bench/report/acceptance.js";
import { costSplit, splitTerms } from "../../bench/report/cost-split.js";
import { renderMarkdown } from "../../bench/report/render.js";
import type { BenchResults } from "../../bench/results.js";
import { goodRun, saturation } from "./fixtures.js";

/** The 12:33 bench of 2026-11-22, rounded: what the split must explain. */
function measuredRun(): BenchResults {
  const run = goodRun();
  return {
    ...run,
    inferenceFloor: { singleRowUs: 81.7, batchCallUs: 1419, batchPerRowUs: 44.3, batchSize: 32 },
    imageFloor: { sharpUs: 1955, fastPngUs: 175, serviceUs: 23.3 },
    servers: {
      ...run.servers,
      floor: {
        json: { saturation: saturation(12_000), saturationCpu: { server: 1.0, generator: 0.5 } },
        png: { saturation: saturation(18_000), saturationCpu: { server: 1.0, generator: 0.7 } },
      },
      service: {
        json: { saturation: saturation(5_000), saturationCpu: { server: 1.0, generator: 0.2 } },
        png: { saturation: saturation(4_000), saturationCpu: { server: 1.0, generator: 0.2 } },
      },
    },
    serviceInference: {
      json: { perRowUs: 57, meanBatchSize: 15, rows: 50_000 },
      png: { perRowUs: 62, meanBatchSize: 13, rows: 40_000 },
    },
  };
}

describe("the service's CPU per request, split", () => {
  it("splits a JSON row into floor, inference and plinth's own path", () => {
    const split = costSplit(measuredRun(), "json")!;
    expect(split.serviceUs).toBeCloseTo(200, 6); // 1 core / 5,000 req/s
    expect(split.floorUs).toBeCloseTo(83.333, 2);
    expect(split.inferenceUs).toBe(57);
    expect(split.decodeUs).toBe(0);
    expect(split.restUs).toBeCloseTo(200 - 83.333 - 57, 2);
    expect(split.ceilingRatio).toBeCloseTo(83.333 / (83.333 + 44.3), 4); // 0.65x
  });

  it("counts the image decode for PNGs, in the split and in the ceiling", () => {
    const split = costSplit(measuredRun(), "png")!;
    expect(split.serviceUs).toBeCloseTo(250, 6);
    expect(split.decodeUs).toBe(23.3);
    expect(split.restUs).toBeCloseTo(250 - 55.556 - 62 - 23.3, 2);
    expect(split.ceilingRatio).toBeCloseTo(55.556 / (55.556 + 44.3 + 23.3), 3); // 0.45x
  });

  it("is undefined when a phase or floor it needs did not run", () => {
    const run = measuredRun();
    expect(costSplit({ ...run, inferenceFloor: undefined }, "json")).toBeUndefined();
    expect(costSplit({ ...run, imageFloor: undefined }, "png")).toBeUndefined();
    expect(costSplit({ ...run, imageFloor: undefined }, "json")).toBeDefined();
    expect(costSplit({ ...run, serviceInference: {} }, "png")).toBeUndefined();
    const noCpu = {
      ...run,
      servers: { ...run.servers, floor: { json: { saturation: saturation(12_000) } } },
    };
    expect(costSplit(noCpu, "json")).toBeUndefined();
  });

  it("shows one row per body in the report, with the ceiling", () => {
    const run = measuredRun();
    const lines = renderMarkdown(run, acceptanceChecks(run)).split("\n");
    expect(lines).toContain("## CPU per request at saturation, and the ceiling this model allows");
    expect(lines.find((l) => l.startsWith("| JSON row "))).toMatch(
      /\| 200 us +\| 83\.3 us +\| 57\.0 us +\| — +\| 59\.7 us +\| 0\.65x +\|$/,
    );
    expect(lines.find((l) => l.startsWith("| 28x28 PNG ") && l.includes("23.3 us"))).toMatch(
      /\| 250 us +\| 55\.6 us +\| 62\.0 us +\| 23\.3 us +\| 109 us +\| 0\.45x +\|$/,
    );
  });

  it("says so when nothing could be split", () => {
    const markdown = renderMarkdown(goodRun(), acceptanceChecks(goodRun()));
    expect(markdown).toContain("Not measured: a saturation phase or a floor did not run.");
  });

  it("writes the split as its arithmetic", () => {
    expect(splitTerms(costSplit(measuredRun(), "json")!)).toBe(
      "service 200 us − HTTP floor 83.3 us − inference 57.0 us = 59.7 us",
    );
    expect(splitTerms(costSplit(measuredRun(), "png")!)).toBe(
      "service 250 us − HTTP floor 55.6 us − inference 62.0 us − image decode 23.3 us = 109 us",
    );
  });
});

/** measuredRun with the service at `rps` on `route` (1 core): its CPU per request is 1e6 / rps us. */
function withService(route: "json" | "png", rps: number, failed = 0): BenchResults {
  const run = measuredRun();
  run.servers.service[route] = {
    saturation: saturation(rps, failed),
    saturationCpu: { server: 1.0, generator: 0.2 },
  };
  return run;
}

describe("the check on plinth's own CPU per request", () => {
  const check = (run: BenchResults, route: "json" | "png") =>
    acceptanceChecks(run).find((c) => c.title.includes(`own CPU per ${route === "json" ? "JSON" : "PNG"}`))!;

  it("passes a JSON request whose own path costs <= 25 us, showing the split's terms", () => {
    // 1e6 / 6,250 = 160 us; 160 - 83.333 - 57 = 19.67 us.
    const json = check(withService("json", 6250), "json");
    expect(json.title).toBe("plinth's own CPU per JSON /predict request at saturation");
    expect(json.measured?.value).toBeCloseTo(19.667, 2);
    expect([json.measured?.unit, json.target, json.verdict]).toEqual(["us", TARGETS.ownCpuJson, "PASS"]);
    expect(json.notes).toEqual(["service 160 us − HTTP floor 83.3 us − inference 57.0 us = 19.7 us"]);
  });

  it("fails above the target: the measured run's 59.7 us per JSON row, 109 us per PNG", () => {
    const run = measuredRun();
    expect([check(run, "json").verdict, check(run, "json").measured?.value]).toEqual([
      "FAIL",
      expect.closeTo(59.667, 2),
    ]);
    expect([check(run, "png").verdict, check(run, "png").measured?.value]).toEqual([
      "FAIL",
      expect.closeTo(109.144, 2),
    ]);
  });

  it("holds a PNG to 40 us, not 25 us: 1e6 / 5,000 - 55.6 - 62 - 23.3 = 59.1, then 1e6 / 5,800 -> 31.5", () => {
    expect(check(withService("png", 5000), "png").verdict).toBe("FAIL");
    const png = check(withService("png", 5800), "png");
    expect(png.measured?.value).toBeCloseTo(1e6 / 5800 - 1e6 / 18_000 - 62 - 23.3, 6);
    expect([png.target, png.verdict]).toEqual([TARGETS.ownCpuPng, "PASS"]);
  });

  it("cannot pass when the service's saturation phase had failed requests", () => {
    const json = check(withService("json", 6250, 1000), "json");
    expect(json.verdict).toBe("FAIL");
    expect(json.notes[0]).toBe("1000 of 63500 requests failed or non-2xx");
  });

  it("is N/A, saying why, when a phase or floor it needs did not run", () => {
    for (const run of [
      { ...measuredRun(), inferenceFloor: undefined },
      { ...measuredRun(), serviceInference: {} },
      { ...measuredRun(), servers: { ...measuredRun().servers, floor: {} } },
    ]) {
      const json = ownCpuCheck(run, "json", TARGETS.ownCpuJson);
      expect([json.verdict, json.measured, json.notes]).toEqual([
        "N/A",
        undefined,
        ["not measured: a saturation phase or a floor did not run"],
      ]);
    }
    expect(ownCpuCheck({ ...measuredRun(), imageFloor: undefined }, "png", TARGETS.ownCpuPng).verdict).toBe(
      "N/A",
    );
    expect(ownCpuCheck({ ...measuredRun(), imageFloor: undefined }, "json", TARGETS.ownCpuJson).verdict).toBe(
      "FAIL",
    );
  });
});
