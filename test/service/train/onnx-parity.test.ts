/**
 * The bundled model, run two ways on every bundled sample PNG: the exported ONNX graph in
 * onnxruntime-node, and the TypeScript network on the weights read back from that file. They must
 * agree on every label and closely on every probability; and the bundled model must meet the
 * accuracy target its summary claims.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeToGray, DEFAULT_MAX_INPUT_PIXELS } from "../../../service/image/decode.js";
import type { ModelMetadata } from "../../../service/model/metadata.js";
import {
  Activations,
  argmax,
  buildArchitecture,
  forward,
  softmaxRows,
} from "../../../service/model/network.js";
import { readModelMetadata } from "../../../service/model/onnx-format.js";
import { LocalRegistry } from "../../../service/registry/local.js";
import { architectureLayers, isArchitectureName } from "../../../service/train/architectures.js";
import { paramsFromOnnx } from "../../../service/train/export-onnx.js";
import { SAMPLES_DIR, type SampleEntry } from "../../../service/train/samples.js";

let meta: ModelMetadata;
let bytes: Uint8Array;
let summary: {
  parameters: { architectureName: string };
  test: { accuracy: number; macroF1: number; samples: number };
};
let samples: SampleEntry[];
let inputs: Float32Array;
const SIZE = 28 * 28;

beforeAll(async () => {
  const model = await new LocalRegistry().resolve("fashion-classifier", "champion");
  bytes = new Uint8Array(readFileSync(model.modelPath));
  meta = readModelMetadata(bytes, model.modelPath);
  summary = JSON.parse(readFileSync(path.join(model.dir, "training_summary.json"), "utf8"));
  samples = JSON.parse(readFileSync(path.join(SAMPLES_DIR, "labels.json"), "utf8"));
  const { scale, mean, std } = meta.input.normalization;
  inputs = new Float32Array(samples.length * SIZE);
  for (const [i, s] of samples.entries()) {
    const gray = await decodeToGray(readFileSync(path.join(SAMPLES_DIR, s.file)), {
      width: 28,
      height: 28,
      maxPixels: DEFAULT_MAX_INPUT_PIXELS,
    });
    for (let p = 0; p < SIZE; p++) inputs[i * SIZE + p] = (gray[p]! * scale - mean) / std;
  }
});

describe("bundled fashion-classifier", () => {
  it("ships about 100 labelled sample PNGs from the test set, every class present", () => {
    expect(samples.length).toBe(100);
    expect(new Set(samples.map((s) => s.label)).size).toBe(10);
    for (const s of samples) expect(s.labelName).toBe(meta.labels[s.label]);
  });

  it("meets the accuracy target on the official 10k test set", () => {
    expect(summary.test.samples).toBe(10000);
    expect(summary.test.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(summary.test.macroF1).toBeGreaterThanOrEqual(0.9);
    expect(meta.training.metrics).toEqual({ accuracy: summary.test.accuracy, macroF1: summary.test.macroF1 });
  });

  it("gives the same label in ONNX and TypeScript on every sample, with close probabilities", async () => {
    const archName = summary.parameters.architectureName;
    if (!isArchitectureName(archName)) throw new Error(`unknown architecture ${archName}`);
    const [c, h, w] = meta.input.shape as [number, number, number];
    const arch = buildArchitecture({ c, h, w }, architectureLayers(archName, meta.labels.length));
    const params = paramsFromOnnx(arch, bytes);
    const n = samples.length;
    const k = meta.labels.length;
    const ts = softmaxRows(forward(arch, params, inputs, n, new Activations(arch, n)).slice(), k);

    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ [meta.input.name]: new ort.Tensor("float32", inputs, [n, c, h, w]) });
    const onnx = out[meta.output.name]!.data as Float32Array;

    let maxDiff = 0;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      expect(argmax(onnx, i * k, k), `sample ${samples[i]!.file}`).toBe(argmax(ts, i * k, k));
      for (let j = 0; j < k; j++) maxDiff = Math.max(maxDiff, Math.abs(onnx[i * k + j]! - ts[i * k + j]!));
      if (argmax(onnx, i * k, k) === samples[i]!.label) correct++;
    }
    expect(maxDiff).toBeLessThan(1e-4);
    // The samples are ordinary test images: the model gets most of them right.
    expect(correct / n).toBeGreaterThanOrEqual(0.85);
  });
});
