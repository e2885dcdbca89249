/**
 * A tiny ONNX model with no plinth metadata, written with the project's own ONNX encoder: input
 * `x` [N,3] float, output `y = x W` [N,2], the batch dimension symbolic. Two weight matrices give
 * two models whose outputs tell them apart.
 */
import { encodeOnnxModel } from "../../../service/model/onnx-format.js";

/** `weights` is W [3,2], row-major; `outputName` renames the output (a contract change). */
export function matmulModel(weights: readonly number[], outputName = "y"): Uint8Array {
  return encodeOnnxModel({
    graphName: "matmul",
    producerName: "plinth-test",
    producerVersion: "1",
    inputs: [{ name: "x", shape: ["N", 3] }],
    outputs: [{ name: outputName, shape: ["N", 2] }],
    nodes: [{ opType: "MatMul", name: "matmul", inputs: ["x", "w"], outputs: [outputName] }],
    initializers: [{ name: "w", dims: [3, 2], data: Float32Array.from(weights) }],
    metadataProps: {},
  });
}
