/**
 * externalDataFiles (service/registry/onnx-external-data.ts) on ModelProto bytes written field by
 * field with onnx.proto's numbers, and on a model plinth's own codec writes. The real case (a model
 * logged by mlflow.onnx.log_model with its default save_as_external_data=True) is in
 * test/interop/mlflow-onnx-flavor.test.ts.
 */
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { externalDataFiles } from "../../../service/registry/onnx-external-data.js";
import { encodeOnnxModel } from "../../../service/model/onnx-format.js";

type Field = [id: number, value: string | number | Uint8Array];

/** A message of length-delimited (string, bytes, sub-message) and varint fields. */
function message(fields: readonly Field[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const [id, value] of fields) {
    if (typeof value === "number") w.uint32((id << 3) | 0).int32(value);
    else if (typeof value === "string") w.uint32((id << 3) | 2).string(value);
    else w.uint32((id << 3) | 2).bytes(value);
  }
  return w.finish();
}

/** TensorProto: name (8), external_data (13) entries, data_location (14) EXTERNAL = 1. */
function externalTensor(name: string, location: string): Uint8Array {
  return message([
    [8, name],
    [
      13,
      message([
        [1, "location"],
        [2, location],
      ]),
    ],
    [
      13,
      message([
        [1, "offset"],
        [2, "0"],
      ]),
    ],
    [14, 1],
  ]);
}

const inlineTensor = (name: string) =>
  message([
    [8, name],
    [9, new Uint8Array([0, 0, 128, 63])],
  ]);
/** ModelProto with its graph (7). */
const model = (graph: readonly Field[]) =>
  message([
    [1, 8],
    [7, message(graph)],
  ]);

describe("externalDataFiles", () => {
  it("is empty for a self-contained model", () => {
    expect(externalDataFiles(model([[5, inlineTensor("w")]]))).toEqual([]);
    const own = encodeOnnxModel({
      graphName: "g",
      producerName: "plinth",
      producerVersion: "test",
      inputs: [{ name: "x", shape: [1, 2] }],
      outputs: [{ name: "y", shape: [1, 2] }],
      initializers: [{ name: "w", dims: [2], data: new Float32Array([1, 2]) }],
      nodes: [{ opType: "Add", name: "add", inputs: ["x", "w"], outputs: ["y"] }],
      metadataProps: {},
    });
    expect(externalDataFiles(own)).toEqual([]);
  });

  it("names every file graph initializers keep their data in, once each and sorted", () => {
    const bytes = model([
      [5, externalTensor("w2", "weights.bin")],
      [5, inlineTensor("b")],
      [5, externalTensor("w1", "a1b2.data")],
      [5, externalTensor("w3", "weights.bin")],
    ]);
    expect(externalDataFiles(bytes)).toEqual(["a1b2.data", "weights.bin"]);
  });

  it("finds them in sparse initializers, node attributes and subgraphs (an If's branch)", () => {
    const sparse = message([[1, externalTensor("values", "sparse.data")]]);
    const branch = message([[5, externalTensor("inner", "branch.data")]]);
    const ifNode = message([
      [5, message([[6, branch]])],
      [5, message([[5, externalTensor("t", "attr.data")]])],
    ]);
    expect(
      externalDataFiles(
        model([
          [15, sparse],
          [1, ifNode],
        ]),
      ),
    ).toEqual(["attr.data", "branch.data", "sparse.data"]);
  });

  it("throws on bytes that are not a ModelProto", () => {
    expect(() => externalDataFiles(new Uint8Array([0x3a, 0xff, 0xff, 0xff, 0x0f]))).toThrow();
  });
});
