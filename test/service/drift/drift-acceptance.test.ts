/**
 * Acceptance: the service's drift, end to end on the trained model. The baseline is built exactly as
 * the training job builds baseline.json (buildBaseline over the Fashion-MNIST training images and
 * the model's predictions on the test set); live traffic is the sample test-set PNGs
 * (samples/fashion-mnist) through POST /predict-image, as they are, inverted and brightened.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFashionMnist } from "../../../service/data/fashion-mnist.js";
import { buildBaseline } from "../../../service/drift/baseline.js";
import type { DriftEntry } from "../../../service/drift/history.js";
import { readModelMetadata } from "../../../service/model/onnx-format.js";
import { LocalRegistry } from "../../../service/registry/local.js";
import { KEY_HEADERS, startTestService, type TestService } from "../server/service-fixture.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const MODEL = path.join(ROOT, "models/fashion-classifier/1/model.onnx");
const SAMPLES = path.join(ROOT, "samples/fashion-mnist");
const SIZE = 784;
/** Test images whose predictions form the baseline's class distribution. */
const TEST_PREDICTIONS = 2000;

let dir: string;
let svc: TestService;
let pngs: Buffer[];

/** The model's predicted class for the first `count` test images, via ONNX Runtime. */
async function testPredictions(bytes: Uint8Array, pixels: Uint8Array, count: number): Promise<Uint8Array> {
  const meta = readModelMetadata(bytes, MODEL);
  const { scale, mean, std } = meta.input.normalization;
  const input = Float32Array.from(pixels.subarray(0, count * SIZE), (p) => (p * scale - mean) / std);
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ [meta.input.name]: new ort.Tensor("float32", input, [count, 1, 28, 28]) });
  const probs = out[meta.output.name]!.data as Float32Array;
  await session.release();
  return Uint8Array.from({ length: count }, (_, r) => {
    let best = 0;
    for (let c = 1; c < 10; c++) if (probs[r * 10 + c]! > probs[r * 10 + best]!) best = c;
    return best;
  });
}

beforeAll(async () => {
  const bytes = new Uint8Array(await readFile(MODEL));
  const data = await loadFashionMnist();
  const baseline = buildBaseline(
    { pixels: data.train.pixels, width: 28, height: 28, count: data.train.labels.length },
    await testPredictions(bytes, data.test.pixels, TEST_PREDICTIONS),
    data.train.labelNames,
  );
  dir = await mkdtemp(path.join(tmpdir(), "plinth-drift-registry-"));
  const registry = new LocalRegistry(dir);
  const version = await registry.registerVersion("fashion-classifier", {
    "model.onnx": bytes,
    "baseline.json": JSON.stringify(baseline),
  });
  await registry.setAlias("fashion-classifier", "champion", version);
  svc = await startTestService({
    PLINTH_REGISTRY_DIR: dir,
    DRIFT_WINDOW_SIZE: "100",
    DRIFT_MIN_SAMPLES: "100",
  });
  const files = (await readdir(SAMPLES)).filter((f) => f.endsWith(".png")).sort();
  pngs = await Promise.all(files.map((f) => readFile(path.join(SAMPLES, f))));
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await rm(dir, { recursive: true, force: true });
});

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
