/**
 * Acceptance: the service's drift, end to end, on the bundled trained model and its training
 * baseline (models/fashion-classifier/1/baseline.json, written by the training job). Live traffic
 * is the sample test-set PNGs (samples/fashion-mnist) through POST /predict-image: as they are,
 * inverted and brightened.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DriftEntry } from "../../../service/drift/history.js";
import { KEY_HEADERS, startTestService, type TestService } from "../server/service-fixture.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SAMPLES = path.join(ROOT, "samples/fashion-mnist");

let svc: TestService;
let pngs: Buffer[];

beforeAll(async () => {
  svc = await startTestService({
    PLINTH_REGISTRY_DIR: path.join(ROOT, "models"),
    DRIFT_WINDOW_SIZE: "100",
    DRIFT_MIN_SAMPLES: "100",
  });
  const files = (await readdir(SAMPLES)).filter((f) => f.endsWith(".png")).sort();
  pngs = await Promise.all(files.map((f) => readFile(path.join(SAMPLES, f))));
}, 60_000);

afterAll(() => svc?.close());

/** Sends every sample through /predict-image and summarises the drift window. */
async function driftOf(images: Buffer[]): Promise<DriftEntry> {
  for (const png of images) {
    const res = await svc.app.inject({
      method: "POST",
      url: "/predict-image",
      headers: { ...KEY_HEADERS, "content-type": "image/png" },
      payload: png,
    });
    expect(res.statusCode).toBe(200);
  }
  const [entry] = svc.observability.drift.summarise();
  return entry!;
}

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
    const inverted = await Promise.all(pngs.map((p) => sharp(p).negate({ alpha: false }).png().toBuffer()));
    const entry = await driftOf(inverted);
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
