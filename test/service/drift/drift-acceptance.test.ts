/**
 * Acceptance: the service's drift, end to end, on the bundled trained model and its training
 * baseline (models/fashion-classifier/1/baseline.json, written by the training job). Live traffic
 * is the sample test-set PNGs (samples/fashion-mnist) through POST /predict-image: as they are,
 * inverted and brightened.
 */
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestService } from "../server/service-fixture.js";
import { driftOf as driftIn, invert, samplePngs, startDriftService } from "./sample-traffic.js";

let svc: TestService;
let pngs: Buffer[];

beforeAll(async () => {
  svc = await startDriftService();
  pngs = await samplePngs();
}, 60_000);

afterAll(() => svc?.close());

const driftOf = (images: Buffer[]) => driftIn(svc, images);

describe("drift on the trained model", () => {
  it("stays below the alert threshold on the sample test-set images", async () => {
    expect(pngs).toHaveLength(100);
    const entry = await driftOf(pngs);
    expect(entry.samples).toBe(100);
    expect(svc.observability.drift.variants()[0]).toMatchObject({ version: "1", baseline: "loaded" });
    expect(entry.score).toBeLessThan(0.25);
    expect(entry.level).not.toBe("alert");
  });

  it("rises past the alert threshold on the same images inverted", async () => {
    const entry = await driftOf(await invert(pngs));
    expect(entry.score).toBeGreaterThan(0.25);
    expect(entry.level).toBe("alert");
    expect(entry.trend).toBe("rising");
    expect(entry.features.mean_intensity).toBeGreaterThan(1);
  });

  it("rises past the alert threshold on the same images brightened", async () => {
    const brightened = await Promise.all(pngs.map((p) => sharp(p).linear(1, 70).png().toBuffer()));
    const entry = await driftOf(brightened);
    expect(entry.score).toBeGreaterThan(0.25);
    expect(entry.level).toBe("alert");
    expect(entry.features.mean_intensity).toBeGreaterThan(0.25);
  });
});
