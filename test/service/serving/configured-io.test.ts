/**
 * The model configuration (service/model/model-config.ts) and its binding to a graph's contract
 * (service/serving/configured-io.ts): every refusal names the file and the field, and the encoders
 * produce exactly the tensors the configuration describes.
 */
import { Tensor } from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../service/errors/api-error.js";
import {
  modelConfigFromMetadata,
  parseModelConfig,
  parseModelConfigJson,
  type ModelConfig,
} from "../../../service/model/model-config.js";
import type { ModelMetadata } from "../../../service/model/metadata.js";
import {
  bindModelConfig,
  encodeImage,
  encodeInstances,
  encodeRows,
  toConfiguredPredictions,
} from "../../../service/serving/configured-io.js";
import type { ModelContract } from "../../../service/serving/contract.js";

const SOURCE = "/models/m/1/model-config.json";

/** skl2onnx's classifier contract: FP32 [N,4] in, INT64 labels and FP32 [N,3] probabilities out. */
const CLASSIFIER: ModelContract = {
  inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
  outputs: [
    { name: "label", datatype: "INT64", shape: [-1] },
    { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
  ],
};

const config = (raw: Record<string, unknown>): ModelConfig =>
  parseModelConfig({ schemaVersion: 1, ...raw }, SOURCE);

function apiError(run: () => unknown): ApiError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error("expected an ApiError");
}

describe("parseModelConfig", () => {
  it("fills the documented defaults", () => {
    const parsed = config({ task: "classification", input: { image: { width: 8, height: 4, channels: 3 } } });
    expect(parsed.input.image).toEqual({
      width: 8,
      height: 4,
      channels: 3,
      colorOrder: "RGB",
      layout: "NCHW",
      resize: "fill",
      background: "black",
      scale: 1 / 255,
      mean: [0],
      std: [1],
    });
    expect(parsed.output).toEqual({ kind: "probabilities" });
  });

  it.each([
    [{ task: "ranking" }, "task: Invalid option"],
    [{ task: "regression", labels: ["a", "b"] }, "labels: only a classification model has labels"],
    [{ task: "classification", labels: ["a", "a"] }, "labels: labels must be unique"],
    [{ task: "raw", input: { features: ["x", "y", "x"] } }, 'input.features: "x" appears twice'],
    [
      { task: "raw", input: { image: { width: 2, height: 2, channels: 3, mean: [0, 0] } } },
      "input.image.mean: has 2 values; give 1 (every channel) or 3 (one per channel)",
    ],
    [{ task: "raw", input: { image: { width: 2, height: 2, channels: 3, std: [0] } } }, "input.image.std.0"],
    [{ task: "raw", input: { image: { width: 2, height: 2, channels: 2 } } }, "input.image.channels"],
    [{ task: "raw", extra: 1 }, 'Unrecognized key: "extra"'],
    [
      { task: "raw", input: { features: ["a"], image: { width: 2, height: 2, channels: 1 } } },
      "input: an input takes an image or tabular features, not both",
    ],
  ])("refuses %j naming the field", (raw, message) => {
    expect(() => config(raw)).toThrow(`${SOURCE}: invalid model configuration:`);
    expect(() => config(raw)).toThrow(message);
  });

  it("names the file when it is not JSON", () => {
    expect(() => parseModelConfigJson("{task:", SOURCE)).toThrow(`${SOURCE}: not valid JSON`);
  });

  it("expresses plinth's own metadata, and survives the JSON round trip the trainer's file makes", () => {
    const metadata = {
      input: {
        name: "pixels",
        image: { width: 28, height: 28, channels: 1, background: "black" },
        pixelRange: [0, 255],
        normalization: { scale: 1 / 255, mean: 0.286, std: 0.353 },
      },
      output: { name: "probabilities", kind: "logits" },
      labels: ["t-shirt", "trouser"],
    } as unknown as ModelMetadata;
    const derived = modelConfigFromMetadata(metadata);
    expect(parseModelConfigJson(JSON.stringify(derived), SOURCE)).toEqual(derived);
    expect(derived.input.image).toMatchObject({ channels: 1, mean: [0.286], std: [0.353], resize: "fill" });
  });
});

describe("bindModelConfig", () => {
  it("finds a converter's probabilities output and labels the classes by id when no labels are given", () => {
    const io = bindModelConfig(config({ task: "classification" }), CLASSIFIER, SOURCE);
    expect(io.output?.name).toBe("probabilities");
    expect(io.labels).toEqual(["0", "1", "2"]);
    expect(io.rows).toEqual({ kind: "packed", input: CLASSIFIER.inputs[0], width: 4 });
  });

  it.each([
    [
      { task: "classification", output: { name: "scores" } },
      'output.name: the graph has no output "scores"; its outputs are "label", "probabilities"',
    ],
    [
      { task: "classification", output: { name: "label" } },
      'output.name: output "label" is INT64; a classification output must be FP16, FP32 or FP64',
    ],
    [
      { task: "classification", labels: ["a", "b"] },
      'labels: 2 labels, but output "probabilities" has 3 classes',
    ],
    [
      { task: "raw", input: { name: "pixels" } },
      'input.name: the graph has no input "pixels"; its inputs are "input"',
    ],
    [
      { task: "classification", input: { features: ["a", "b", "c"] } },
      'input.features: 3 features, but input "input" has shape [-1,4]',
    ],
    [
      { task: "raw", input: { image: { width: 2, height: 2, channels: 1 } } },
      'input.image: NCHW 1x2x2 does not fit input "input" of shape [-1,4]',
    ],
  ])("refuses %j naming the file and the field", (raw, message) => {
    expect(() => bindModelConfig(config(raw), CLASSIFIER, SOURCE)).toThrow(`${SOURCE}: ${message}`);
  });

  it("asks which output to read when the graph has several float outputs", () => {
    const contract: ModelContract = {
      inputs: CLASSIFIER.inputs,
      outputs: [
        { name: "a", datatype: "FP32", shape: [-1, 1] },
        { name: "b", datatype: "FP32", shape: [-1, 1] },
      ],
    };
    expect(() => bindModelConfig(config({ task: "regression" }), contract, SOURCE)).toThrow(
      'output.name: cannot tell which output holds the values; its outputs are "a", "b": name one',
    );
    expect(
      bindModelConfig(config({ task: "regression", output: { name: "b" } }), contract, SOURCE).output?.name,
    ).toBe("b");
  });
});

describe("the encoders", () => {
  const columns: ModelContract = {
    inputs: [
      { name: "region", datatype: "BYTES", shape: [-1, 1] },
      { name: "size", datatype: "FP64", shape: [-1, 1] },
    ],
    outputs: [{ name: "variable", datatype: "FP32", shape: [-1, 1] }],
  };

  it("fills one [N,1] tensor per column from instances, each with its own type", () => {
    const io = bindModelConfig(
      config({ task: "regression", input: { features: ["region", "size"] } }),
      columns,
      SOURCE,
    );
    const { feeds, rows } = encodeInstances(
      io,
      "m",
      [
        { region: "north", size: 2.5 },
        { size: 1, region: "" },
      ],
      8,
    );
    expect(rows).toBe(2);
    expect(feeds.region!.type).toBe("string");
    expect(feeds.region!.data).toEqual(["north", ""]);
    expect(feeds.size!.dims).toEqual([2, 1]);
    expect(Array.from(feeds.size!.data as Float64Array)).toEqual([2.5, 1]);
  });

  it("refuses instances and rows that do not fit, naming the row and the column", () => {
    const io = bindModelConfig(
      config({ task: "regression", input: { features: ["region", "size"] } }),
      columns,
      SOURCE,
    );
    expect(apiError(() => encodeInstances(io, "m", [{ region: 1, size: 2 }], 8)).message).toBe(
      'instances[0]: feature "region": expected a string, got 1',
    );
    expect(
      apiError(() =>
        encodeRows(
          io,
          "m",
          [
            ["a", 1],
            ["b", "big"],
          ],
          8,
        ),
      ).message,
    ).toBe('inputs[1][1] (feature "size"): expected a number, got "big"');
    expect(
      apiError(() => encodeInstances(io, "m", new Array(9).fill({ region: "a", size: 1 }), 8)).message,
    ).toBe("instances: 9 rows, at most 8 per request");
    expect(apiError(() => encodeRows(io, "m", [["a", 1, 2]], 8)).message).toBe(
      "inputs[0]: expected 2 values, got 3",
    );
    expect(apiError(() => encodeRows(io, "m", ["a"], 8)).message).toBe("inputs: expected 2 values, got 1");
  });

  it("answers a 400 naming the fixed batch of a graph exported without dynamic axes", () => {
    const fixed: ModelContract = {
      ...CLASSIFIER,
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
    };
    const io = bindModelConfig(config({ task: "classification" }), fixed, SOURCE);
    expect(encodeRows(io, "m", [0, 1, 2, 3], 8).rows).toBe(1);
    expect(
      apiError(() =>
        encodeRows(
          io,
          "m",
          [
            [0, 1, 2, 3],
            [0, 1, 2, 3],
          ],
          8,
        ),
      ).message,
    ).toBe("inputs: 2 rows; this model's graph takes exactly 1 row a request (its batch dimension is fixed)");
  });

  it("binds no features for a raw model, so an MLflow column signature never refuses a /v2-only model", () => {
    const io = bindModelConfig(
      config({ task: "raw", input: { features: ["a", "b", "c"] } }),
      CLASSIFIER,
      SOURCE,
    );
    expect(io.features).toBeUndefined();
  });

  it("checks the configured value range", () => {
    expect(() => config({ task: "raw", input: { valueRange: [255, 0] } })).toThrow(
      "input.valueRange: [min, max] with min <= max",
    );
    const io = bindModelConfig(
      config({ task: "classification", input: { valueRange: [0, 1] } }),
      CLASSIFIER,
      SOURCE,
    );
    expect(apiError(() => encodeRows(io, "m", [0, 0.5, 1, 1.5], 8)).message).toBe(
      "inputs[3]: expected a number in [0, 1], got 1.5",
    );
  });

  it("normalises an image per channel in the model's colour order and layout", () => {
    const contract: ModelContract = {
      inputs: [{ name: "image", datatype: "FP32", shape: [-1, 1, 2, 3] }],
      outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, 2] }],
    };
    const image = {
      width: 2,
      height: 1,
      channels: 3,
      colorOrder: "BGR",
      layout: "NHWC",
      scale: 1,
      mean: [10, 20, 30],
      std: [1, 2, 4],
    };
    const io = bindModelConfig(config({ task: "classification", input: { image } }), contract, SOURCE);
    // Two RGB pixels: (100, 50, 10) and (0, 255, 128).
    const pixels = Uint8Array.from([100, 50, 10, 0, 255, 128]);
    const { feeds } = encodeImage(io, "m", pixels, false);
    // BGR per pixel: (10, 50, 100) and (128, 255, 0); then (x - mean[c]) / std[c].
    expect(Array.from(feeds.image!.data as Float32Array)).toEqual([0, 15, 17.5, 118, 117.5, -7.5]);
    const nchw = bindModelConfig(
      config({ task: "classification", input: { image: { ...image, layout: "NCHW" } } }),
      { ...contract, inputs: [{ name: "image", datatype: "FP32", shape: [-1, 3, 1, 2] }] },
      SOURCE,
    );
    expect(Array.from(encodeImage(nchw, "m", pixels, false).feeds.image!.data as Float32Array)).toEqual([
      0, 118, 15, 117.5, 17.5, -7.5,
    ]);
    const inverted = encodeImage(nchw, "m", Uint8Array.from([255, 255, 255, 255, 255, 255]), true);
    expect(Array.from(inverted.feeds.image!.data as Float32Array)).toEqual([-10, -10, -10, -10, -7.5, -7.5]);
  });

  it("turns logits into probabilities and labels the top class", () => {
    const io = bindModelConfig(
      config({ task: "classification", labels: ["no", "yes"], output: { name: "logits", kind: "logits" } }),
      { inputs: CLASSIFIER.inputs, outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 2] }] },
      SOURCE,
    );
    const logits = new Tensor("float32", Float32Array.from([0, Math.log(3), 2, 0]), [2, 2]);
    const [first, second] = toConfiguredPredictions(io, { logits }, 2) as {
      label: string;
      class_id: number;
      probabilities: number[];
    }[];
    expect(first).toMatchObject({ label: "yes", class_id: 1 });
    expect(first!.probabilities[0]).toBeCloseTo(0.25, 6);
    expect(second).toMatchObject({ label: "no", class_id: 0 });
  });

  it("answers a regression's value, or values when a row has several", () => {
    const contract: ModelContract = {
      inputs: CLASSIFIER.inputs,
      outputs: [{ name: "variable", datatype: "FP64", shape: [-1, 2] }],
    };
    const io = bindModelConfig(config({ task: "regression" }), contract, SOURCE);
    const variable = new Tensor("float64", Float64Array.from([1, 2, 3, 4]), [2, 2]);
    expect(toConfiguredPredictions(io, { variable }, 2)).toEqual([{ values: [1, 2] }, { values: [3, 4] }]);
  });
});
