/**
 * A tiny, fully predictable ONNX classifier for service tests, written with the project's own ONNX
 * encoder: input `pixels` [N,1,28,28] -> Flatten -> Gemm(784 -> 10) [-> Softmax].
 *
 * Weight (c, i) is 1 when `i % 10 === c`, so a row whose bright pixels all sit at positions
 * `i % 10 === k` is classified as class k: tests can tell rows apart and check routing.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { METADATA_KEY, type ModelMetadata } from "../../../service/model/metadata.js";
import { encodeOnnxModel } from "../../../service/model/onnx-format.js";
import { LocalRegistry } from "../../../service/registry/local.js";

export const FIXTURE_NAME = "fashion-classifier";
export const FIXTURE_LABELS = [
  "t-shirt",
  "trouser",
  "pullover",
  "dress",
  "coat",
  "sandal",
  "shirt",
  "sneaker",
  "bag",
  "boot",
];
export const ROW_SIZE = 784;

export function fixtureMetadata(kind: "probabilities" | "logits"): ModelMetadata {
  return {
    schemaVersion: 1,
    name: FIXTURE_NAME,
    architecture: "fc(784->10)",
    input: {
      name: "pixels",
      shape: [1, 28, 28],
      image: { width: 28, height: 28, channels: 1, background: "black" },
      pixelRange: [0, 255],
      normalization: { scale: 1 / 255, mean: 0, std: 1 },
    },
    output: { name: "probs", kind },
    labels: FIXTURE_LABELS,
    training: {
      datasetSha256: "0".repeat(64),
      seed: 1,
      trainedAt: "2025-01-01T00:00:00.000Z",
      metrics: { accuracy: 0.5, macroF1: 0.5 },
    },
  };
}

/**
 * `shift` moves every prediction to the next class(es): a row built by `rowForClass(k)` is
 * classified as `(k + shift) % 10`. Two versions with different shifts disagree on every row.
 */
export function fixtureModelBytes(kind: "probabilities" | "logits" = "probabilities", shift = 0): Uint8Array {
  const weight = new Float32Array(10 * ROW_SIZE);
  for (let c = 0; c < 10; c++) {
    const source = (((c - shift) % 10) + 10) % 10;
    for (let i = source; i < ROW_SIZE; i += 10) weight[c * ROW_SIZE + i] = 1;
  }
  const gemmOut = kind === "logits" ? "probs" : "logits";
  return encodeOnnxModel({
    graphName: "fixture",
    producerName: "plinth-tests",
    producerVersion: "1",
    inputs: [{ name: "pixels", shape: ["N", 1, 28, 28] }],
    outputs: [{ name: "probs", shape: ["N", 10] }],
    nodes: [
      {
        opType: "Flatten",
        name: "flatten",
        inputs: ["pixels"],
        outputs: ["flat"],
        intAttributes: { axis: 1 },
      },
      {
        opType: "Gemm",
        name: "fc",
        inputs: ["flat", "W", "B"],
        outputs: [gemmOut],
        intAttributes: { transB: 1 },
      },
      ...(kind === "logits"
        ? []
        : [
            {
              opType: "Softmax",
              name: "softmax",
              inputs: ["logits"],
              outputs: ["probs"],
              intAttributes: { axis: 1 },
            },
          ]),
    ],
    initializers: [
      { name: "W", dims: [10, ROW_SIZE], data: weight },
      { name: "B", dims: [10], data: new Float32Array(10) },
    ],
    metadataProps: { [METADATA_KEY]: JSON.stringify(fixtureMetadata(kind)) },
  });
}

/** A row of raw pixels classified as `cls`: 255 at positions `i % 10 === cls`, 0 elsewhere. */
export function rowForClass(cls: number): number[] {
  return Array.from({ length: ROW_SIZE }, (_, i) => (i % 10 === cls ? 255 : 0));
}

export interface FixtureRegistry {
  readonly dir: string;
  readonly registry: LocalRegistry;
  cleanup(): Promise<void>;
}

/** A temporary local registry holding version 1 (alias champion) of the fixture model. */
export async function fixtureRegistry(
  kind: "probabilities" | "logits" = "probabilities",
): Promise<FixtureRegistry> {
  const dir = await mkdtemp(path.join(tmpdir(), "plinth-registry-"));
  const registry = new LocalRegistry(dir);
  const version = await registry.registerVersion(FIXTURE_NAME, { "model.onnx": fixtureModelBytes(kind) });
  await registry.setAlias(FIXTURE_NAME, "champion", version);
  return { dir, registry, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
