import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { METADATA_KEY, type ModelMetadata } from "../../../service/model/metadata.js";
import {
  encodeOnnxModel,
  readModelMetadata,
  readOnnxInitializers,
  readOnnxMetadataProps,
  type OnnxModelSpec,
} from "../../../service/model/onnx-format.js";

const metadata: ModelMetadata = {
  schemaVersion: 1,
  name: "tiny",
  architecture: "dense(2→2)",
  input: {
    name: "x",
    shape: [2],
    image: { width: 2, height: 1, channels: 1, background: "black" },
    pixelRange: [0, 255],
    normalization: { scale: 1, mean: 0, std: 1 },
  },
  output: { name: "p", kind: "probabilities" },
  labels: ["a", "b"],
  training: {
    datasetSha256: "a".repeat(64),
    seed: 1,
    trainedAt: "2025-01-01T00:00:00.000Z",
    metrics: { accuracy: 0.5, macroF1: 0.5 },
  },
};

/** y = softmax(x · W^T + b) with W = [[1, 2], [3, -1]], b = [0.5, -0.5]. */
function tinySpec(meta: Record<string, string>): OnnxModelSpec {
  return {
    graphName: "tiny",
    producerName: "test",
    producerVersion: "0",
    inputs: [{ name: "x", shape: ["N", 2] }],
    outputs: [{ name: "p", shape: ["N", 2] }],
    initializers: [
      { name: "W", dims: [2, 2], data: Float32Array.of(1, 2, 3, -1) },
      { name: "b", dims: [2], data: Float32Array.of(0.5, -0.5) },
    ],
    nodes: [
      {
        opType: "Gemm",
        name: "fc",
        inputs: ["x", "W", "b"],
        outputs: ["z"],
        intAttributes: { transB: 1 },
        floatAttributes: { alpha: 1 },
      },
      { opType: "Softmax", name: "sm", inputs: ["z"], outputs: ["p"], intAttributes: { axis: 1 } },
    ],
    metadataProps: meta,
  };
}

describe("encodeOnnxModel", () => {
  it("produces a graph onnxruntime runs with a dynamic batch dimension", async () => {
    const bytes = encodeOnnxModel(tinySpec({}));
    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(["x"]);
    expect(session.outputNames).toEqual(["p"]);
    for (const batch of [1, 3]) {
      const x = Float32Array.from({ length: batch * 2 }, (_, i) => i - 1);
      const out = (await session.run({ x: new ort.Tensor("float32", x, [batch, 2]) })).p!;
      expect(out.dims).toEqual([batch, 2]);
      for (let r = 0; r < batch; r++) {
        const [x0, x1] = [x[2 * r]!, x[2 * r + 1]!];
        const z0 = x0 + 2 * x1 + 0.5;
        const z1 = 3 * x0 - x1 - 0.5;
        const p0 = 1 / (1 + Math.exp(z1 - z0));
        expect((out.data as Float32Array)[2 * r]).toBeCloseTo(p0, 5);
        expect((out.data as Float32Array)[2 * r + 1]).toBeCloseTo(1 - p0, 5);
      }
    }
  });

  it("refuses an initializer whose data does not match its dims", () => {
    const spec = tinySpec({});
    expect(() =>
      encodeOnnxModel({ ...spec, initializers: [{ name: "W", dims: [2, 3], data: new Float32Array(4) }] }),
    ).toThrow("initializer W: dims [2,3] need 6 values, got 4");
  });
});

describe("reading metadata and weights back", () => {
  it("round-trips metadata_props and the validated plinth metadata", () => {
    const bytes = encodeOnnxModel(tinySpec({ [METADATA_KEY]: JSON.stringify(metadata), other: "x" }));
    expect(readOnnxMetadataProps(bytes)).toEqual({ [METADATA_KEY]: JSON.stringify(metadata), other: "x" });
    expect(readModelMetadata(bytes, "tiny.onnx")).toEqual(metadata);
  });

  it("round-trips initializers bit for bit", () => {
    const inits = readOnnxInitializers(encodeOnnxModel(tinySpec({})));
    expect([...inits.keys()]).toEqual(["W", "b"]);
    expect(inits.get("W")).toEqual({ name: "W", dims: [2, 2], data: Float32Array.of(1, 2, 3, -1) });
  });

  it("names the file when metadata is missing, invalid, or the bytes are not ONNX", () => {
    expect(() => readModelMetadata(encodeOnnxModel(tinySpec({})), "m.onnx")).toThrow(
      'm.onnx: ONNX metadata_props has no "plinth.metadata" entry',
    );
    const invalid = encodeOnnxModel(
      tinySpec({ [METADATA_KEY]: JSON.stringify({ ...metadata, labels: ["only"] }) }),
    );
    expect(() => readModelMetadata(invalid, "m.onnx")).toThrow(/^m\.onnx: invalid model metadata: labels:/);
    expect(() => readModelMetadata(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]), "junk.onnx")).toThrow(
      /^junk\.onnx: not an ONNX model: /,
    );
  });
});
