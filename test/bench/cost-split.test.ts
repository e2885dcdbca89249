import { describe, expect, it } from "vitest";
import { acceptanceChecks } from "../../bench/report/acceptance.js";
import { costSplit } from "../../bench/report/cost-split.js";
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
});
