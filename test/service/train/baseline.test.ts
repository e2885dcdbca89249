/** The drift baseline written by training: features (service/drift/features.ts) and quantile bins. */
import { describe, expect, it } from "vitest";
import {
  binIndex,
  buildBaseline,
  classProportions,
  parseBaseline,
  quantileBins,
} from "../../../service/drift/baseline.js";
import { IMAGE_FEATURE_NAMES, imageFeatures } from "../../../service/drift/features.js";

describe("imageFeatures", () => {
  it("computes mean, std, ink fraction and 4x4 block means on 0..1 intensities", () => {
    // 8x8 image: left half 255, right half 0.
    const img = Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 255 : 0));
    const f = imageFeatures(img, 8, 8);
    expect(IMAGE_FEATURE_NAMES).toHaveLength(19);
    expect(f).toHaveLength(19);
    expect(f.slice(0, 3)).toEqual([0.5, 0.5, 0.5]);
    // Every grid row: two bright blocks then two dark ones.
    expect(f.slice(3)).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
  });

  it("reads an image at an offset and handles sizes not divisible by the grid", () => {
    const pixels = new Uint8Array(2 + 30).fill(51, 2);
    const f = imageFeatures(pixels, 5, 6, 2);
    expect(f[0]).toBeCloseTo(0.2, 10);
    expect(f[1]).toBeCloseTo(0, 6);
    expect(f.slice(3).every((v) => Math.abs(v - 0.2) < 1e-12)).toBe(true);
  });
});

describe("quantileBins", () => {
  it("puts about a tenth of uniform data in each decile bin", () => {
    const values = Array.from({ length: 1000 }, (_, i) => i);
    const bins = quantileBins("x", values);
    expect(bins.edges).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(bins.proportions).toEqual([0.101, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.099]);
  });

  it("collapses tied quantiles, unlike uniform bins, and still sums to 1", () => {
    // 80% zeros (an empty corner of most images), 20% spread out.
    const values = [...new Array(800).fill(0), ...Array.from({ length: 200 }, (_, i) => i / 200)];
    const bins = quantileBins("corner", values);
    expect(bins.edges[0]).toBe(0);
    expect(bins.edges).toEqual([...new Set(bins.edges)]);
    expect(bins.proportions[0]).toBeCloseTo(0.801, 6);
    expect(bins.proportions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it("binIndex: values up to an edge fall in its bin, larger ones in the next", () => {
    expect([
      binIndex([1, 2], 0),
      binIndex([1, 2], 1),
      binIndex([1, 2], 1.5),
      binIndex([1, 2], 2),
      binIndex([1, 2], 9),
    ]).toEqual([0, 0, 1, 1, 2]);
    expect(binIndex([], 5)).toBe(0);
  });
});

describe("buildBaseline / parseBaseline", () => {
  it("builds per-feature bins and the predicted-class distribution, and parses its own JSON", () => {
    const count = 20;
    const pixels = new Uint8Array(count * 16).map((_, i) => (i * 37) % 256);
    const baseline = buildBaseline({ pixels, width: 4, height: 4, count }, Uint8Array.of(0, 0, 1, 2), [
      "a",
      "b",
      "c",
    ]);
    expect(baseline.featureSamples).toBe(20);
    expect(baseline.features.map((f) => f.name)).toEqual(IMAGE_FEATURE_NAMES);
    expect(baseline.predictions).toEqual({
      samples: 4,
      labels: ["a", "b", "c"],
      proportions: [0.5, 0.25, 0.25],
    });
    expect(parseBaseline(JSON.stringify(baseline), "b.json")).toEqual(baseline);
  });

  it("names the file and field of an invalid baseline", () => {
    expect(() => parseBaseline("{", "b.json")).toThrow(/^b\.json: not valid JSON/);
    expect(() => parseBaseline('{"schemaVersion":2}', "b.json")).toThrow(
      /^b\.json: invalid baseline: schemaVersion: /,
    );
  });

  it("classProportions counts each class", () => {
    expect(classProportions([1, 1, 1, 0], 3)).toEqual([0.25, 0.75, 0]);
  });
});
