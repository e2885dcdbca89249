/**
 * Live traffic for drift tests: the service with the bundled trained model and its training
 * baseline (models/), a 100-sample window, and the sample test-set PNGs (samples/fashion-mnist)
 * sent through POST /predict-image.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { expect } from "vitest";
import type { DriftEntry } from "../../../service/drift/history.js";
import { KEY_HEADERS, startTestService, type TestService } from "../server/service-fixture.js";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SAMPLES = path.join(REPO_ROOT, "samples/fashion-mnist");

/** The service on the bundled registry, summarising drift over windows of exactly 100 samples. */
export function startDriftService(env: Record<string, string> = {}): Promise<TestService> {
  return startTestService({
    PLINTH_REGISTRY_DIR: path.join(REPO_ROOT, "models"),
    DRIFT_WINDOW_SIZE: "100",
    DRIFT_MIN_SAMPLES: "100",
    ...env,
  });
}

/** The 100 sample PNGs, in file-name order. */
export async function samplePngs(): Promise<Buffer[]> {
  const files = (await readdir(SAMPLES)).filter((f) => f.endsWith(".png")).sort();
  return Promise.all(files.map((f) => readFile(path.join(SAMPLES, f))));
}

/** The same images with every grey level inverted: a shift drift must flag. */
export function invert(pngs: readonly Buffer[]): Promise<Buffer[]> {
  return Promise.all(pngs.map((p) => sharp(p).negate({ alpha: false }).png().toBuffer()));
}

/** Sends the images through /predict-image and summarises the drift window, as the interval timer would. */
export async function driftOf(svc: TestService, images: readonly Buffer[]): Promise<DriftEntry> {
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
