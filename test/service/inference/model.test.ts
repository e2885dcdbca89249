import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PlinthModel, softmaxRows, type LoadOptions } from "../../../service/inference/model.js";
import { fixtureRegistry, FIXTURE_NAME, rowForClass, type FixtureRegistry } from "./fixture-model.js";

const quiet = { batch: () => {}, queueWait: () => {}, rejected: () => {} };
function options(offload: "auto" | "never" | "always", offloadThresholdMs = 2): LoadOptions {
  return {
    ort: { intraOpThreads: 1, interOpThreads: 1, offload, offloadThresholdMs },
    batching: { maxBatchSize: 8, maxDelayMs: 1, queueMaxRows: 64 },
    observer: () => quiet,
  };
}
const normalised = (cls: number) => Float32Array.from(rowForClass(cls), (v) => v / 255);

let probs: FixtureRegistry;
let logits: FixtureRegistry;
beforeAll(async () => {
  [probs, logits] = await Promise.all([fixtureRegistry("probabilities"), fixtureRegistry("logits")]);
});
afterAll(async () => {
  await Promise.all([probs.cleanup(), logits.cleanup()]);
});

async function scores(registry: FixtureRegistry, opts: LoadOptions) {
  const model = await PlinthModel.load(await registry.registry.resolve(FIXTURE_NAME, "champion"), opts);
  try {
    const out = await Promise.all([0, 4, 9].map((c) => model.infer(normalised(c), 1)));
    return { model, out: out.map((o) => [...o]) };
  } finally {
    await model.close();
  }
}

describe("PlinthModel", () => {
  it("applies softmax to a logits model, matching the graph-softmax model", async () => {
    const a = await scores(probs, options("never"));
    const b = await scores(logits, options("never"));
    for (let i = 0; i < a.out.length; i++) {
      a.out[i]!.forEach((p, c) => expect(b.out[i]![c]).toBeCloseTo(p, 5));
      expect(a.out[i]!.indexOf(Math.max(...a.out[i]!))).toBe([0, 4, 9][i]);
    }
  });

  it("runs in a worker thread when offloaded, with identical results", async () => {
    const inProcess = await scores(probs, options("never"));
    const worker = await scores(probs, options("always"));
    expect(worker.model.warmup.offloaded).toBe(true);
    expect(inProcess.model.warmup.offloaded).toBe(false);
    expect(worker.out).toEqual(inProcess.out);
  });

  it("decides the offload from the warm-up measurement in auto mode", async () => {
    const slowThreshold = await scores(probs, options("auto", 10_000));
    expect(slowThreshold.model.warmup.offloaded).toBe(false);
    const tinyThreshold = await scores(probs, options("auto", 1e-9));
    expect(tinyThreshold.model.warmup.offloaded).toBe(true);
    expect(tinyThreshold.model.warmup.fullBatchRows).toBe(8);
  });

  it("refuses a file that is not an ONNX model, naming it", async () => {
    const version = await probs.registry.registerVersion(FIXTURE_NAME, { "model.onnx": "garbage" });
    const file = await probs.registry.resolve(FIXTURE_NAME, version);
    await expect(PlinthModel.load(file, options("never"))).rejects.toThrow(file.modelPath);
  });

  it("refuses a model whose metadata names another model", async () => {
    const file = await probs.registry.resolve(FIXTURE_NAME, "champion");
    await expect(PlinthModel.load({ ...file, name: "other-model" }, options("never"))).rejects.toThrow(
      /metadata names model "fashion-classifier", registry says "other-model"/,
    );
  });

  it("refuses a missing file", async () => {
    const missing = path.join(probs.dir, "nope.onnx");
    await expect(
      PlinthModel.load({ name: FIXTURE_NAME, version: "9", modelPath: missing }, options("never")),
    ).rejects.toThrow(/ENOENT/);
  });
});

describe("softmaxRows", () => {
  it("normalises each row independently and survives large logits", () => {
    const v = Float32Array.of(1000, 1000, 0, Math.log(3));
    softmaxRows(v, 2);
    expect([...v].map((x) => Number(x.toFixed(4)))).toEqual([0.5, 0.5, 0.25, 0.75]);
  });
});
