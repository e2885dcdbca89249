import { beforeAll, describe, expect, it } from "vitest";
import { takeFirst, type ImageDataset } from "../../../service/data/dataset.js";
import { loadFashionMnist } from "../../../service/data/fashion-mnist.js";
import { buildArchitecture } from "../../../service/model/network.js";
import { architectureLayers } from "../../../service/train/architectures.js";
import { fitNormalization } from "../../../service/train/normalization.js";
import { trainNetwork, type TrainOptions } from "../../../service/train/trainer.js";

let train: ImageDataset;
beforeAll(async () => {
  train = takeFirst((await loadFashionMnist()).train, 128);
});

const options: TrainOptions = {
  epochs: 1,
  batchSize: 32,
  learningRate: 0.002,
  seed: 7,
  shards: 2,
  workers: 0,
};

async function run(over: Partial<TrainOptions>) {
  const arch = buildArchitecture({ c: 1, h: 28, w: 28 }, architectureLayers("cnn", 10));
  return trainNetwork(arch, train, fitNormalization(train), { ...options, ...over });
}

describe("training determinism", () => {
  it("gives identical weights and metrics for the same seed and data", async () => {
    const [a, b] = [await run({}), await run({})];
    expect(a.epochs.map((e) => [e.loss, e.trainAccuracy])).toEqual(
      b.epochs.map((e) => [e.loss, e.trainAccuracy]),
    );
    expect(Buffer.from(a.params.buffer).equals(Buffer.from(b.params.buffer))).toBe(true);
  });

  it("gives bit-identical results whether shards run in worker threads or in this thread", async () => {
    const [inline, threaded] = [await run({}), await run({ workers: 2 })];
    expect(threaded.epochs[0]!.loss).toBe(inline.epochs[0]!.loss);
    expect(Buffer.from(threaded.params.buffer).equals(Buffer.from(inline.params.buffer))).toBe(true);
  });

  it("gives different weights for another seed", async () => {
    const [a, b] = [await run({}), await run({ seed: 8 })];
    expect(Buffer.from(a.params.buffer).equals(Buffer.from(b.params.buffer))).toBe(false);
  });
});
