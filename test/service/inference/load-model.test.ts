/**
 * A plinth model's two descriptions, its embedded metadata and a model-config.json beside it, must
 * agree, or one of them would be silently ignored: the load refuses a file that disagrees, naming
 * it, and says why when the difference is a `batching` member (plinth's models batch by BATCH_*).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../../../service/inference/load-model.js";
import type { LoadOptions } from "../../../service/inference/model.js";
import { MODEL_CONFIG_FILE, modelConfigFromMetadata } from "../../../service/model/model-config.js";
import { FIXTURE_NAME, fixtureMetadata, fixtureModelBytes } from "./fixture-model.js";

const OPTIONS: LoadOptions = {
  ort: { intraOpThreads: 1, interOpThreads: 1, offload: "never", offloadThresholdMs: 5 },
  batching: { maxBatchSize: 8, maxDelayMs: 1, queueMaxRows: 64 },
  observer: () => ({ batch: () => undefined, queueWait: () => undefined, rejected: () => undefined }),
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "plinth-load-model-"));
  await writeFile(path.join(dir, "model.onnx"), fixtureModelBytes());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Loads the fixture model with `config` written beside it. */
async function loadWith(config: object) {
  await writeFile(path.join(dir, MODEL_CONFIG_FILE), JSON.stringify(config));
  const model = await loadModel(
    { name: FIXTURE_NAME, version: "1", modelPath: path.join(dir, "model.onnx") },
    OPTIONS,
  );
  await model.close();
  return model;
}

describe("a plinth model with a model-config.json", () => {
  const written = modelConfigFromMetadata(fixtureMetadata("probabilities"));

  it("loads when the file is the one the trainer writes from the metadata", async () => {
    const model = await loadWith(written);
    expect(model.kind).toBe("plinth");
  });

  it("is refused when the file disagrees, naming the file and the metadata", async () => {
    const labels = [...written.labels!].reverse();
    await expect(loadWith({ ...written, labels })).rejects.toThrow(
      `${path.join(dir, MODEL_CONFIG_FILE)} disagrees with the "plinth.metadata" embedded in ${path.join(dir, "model.onnx")}; remove the file`,
    );
  });

  it("is refused with the reason when the file adds batching, which plinth models take from BATCH_*", async () => {
    await expect(loadWith({ ...written, batching: { maxDelayMs: 0 } })).rejects.toThrow(
      /"batching" configures models served by their graph; plinth's own models batch by BATCH_MAX_DELAY_MS/,
    );
  });
});
