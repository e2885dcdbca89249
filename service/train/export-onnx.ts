/**
 * Exports a trained {@link Architecture} as an ONNX graph: NCHW float32 input of normalised pixels
 * with a symbolic batch dimension, the layers as standard operators, and a final Softmax, so the
 * output is class probabilities. The model's metadata travels inside the file.
 */
import { METADATA_KEY, type ModelMetadata } from "../model/metadata.js";
import type { Architecture } from "../model/network.js";
import { view } from "../model/network.js";
import {
  encodeOnnxModel,
  readOnnxInitializers,
  type OnnxInitializer,
  type OnnxNode,
} from "../model/onnx-format.js";

export const INPUT_NAME = "input";
export const OUTPUT_NAME = "probabilities";
const BATCH_DIM = "N";

export function exportOnnx(arch: Architecture, params: Float32Array, metadata: ModelMetadata): Uint8Array {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxInitializer[] = [];
  let current = INPUT_NAME;
  arch.layers.forEach((layer, i) => {
    const out = `l${i}_${layer.spec.kind}`;
    const name = `layer${i}`;
    switch (layer.spec.kind) {
      case "conv2d": {
        const { kernel: k, padding: p, outChannels } = layer.spec;
        initializers.push(
          {
            name: `${name}.weight`,
            dims: [outChannels, layer.input.c, k, k],
            data: view(params, layer.weight),
          },
          { name: `${name}.bias`, dims: [outChannels], data: view(params, layer.bias) },
        );
        nodes.push({
          opType: "Conv",
          name,
          inputs: [current, `${name}.weight`, `${name}.bias`],
          outputs: [out],
          intAttributes: { kernel_shape: [k, k], pads: [p, p, p, p], strides: [1, 1] },
        });
        break;
      }
      case "dense":
        initializers.push(
          {
            name: `${name}.weight`,
            dims: [layer.spec.outputs, layer.input.c],
            data: view(params, layer.weight),
          },
          { name: `${name}.bias`, dims: [layer.spec.outputs], data: view(params, layer.bias) },
        );
        nodes.push({
          opType: "Gemm",
          name,
          inputs: [current, `${name}.weight`, `${name}.bias`],
          outputs: [out],
          intAttributes: { transB: 1 },
        });
        break;
      case "relu":
        nodes.push({ opType: "Relu", name, inputs: [current], outputs: [out] });
        break;
      case "maxpool2":
        nodes.push({
          opType: "MaxPool",
          name,
          inputs: [current],
          outputs: [out],
          intAttributes: { kernel_shape: [2, 2], strides: [2, 2] },
        });
        break;
      case "flatten":
        nodes.push({
          opType: "Flatten",
          name,
          inputs: [current],
          outputs: [out],
          intAttributes: { axis: 1 },
        });
        break;
    }
    current = out;
  });
  nodes.push({
    opType: "Softmax",
    name: "softmax",
    inputs: [current],
    outputs: [OUTPUT_NAME],
    intAttributes: { axis: 1 },
  });
  const classes = arch.layers[arch.layers.length - 1]!.output.c;
  return encodeOnnxModel({
    graphName: metadata.name,
    producerName: "plinth-train",
    producerVersion: "1",
    docString: metadata.architecture,
    inputs: [{ name: INPUT_NAME, shape: [BATCH_DIM, arch.input.c, arch.input.h, arch.input.w] }],
    outputs: [{ name: OUTPUT_NAME, shape: [BATCH_DIM, classes] }],
    nodes,
    initializers,
    metadataProps: { [METADATA_KEY]: JSON.stringify(metadata) },
  });
}

/**
 * The inverse of {@link exportOnnx} for the weights: reads a model's initializers back into a flat
 * parameter buffer for `arch`, checking every shape. Used to compare the ONNX graph with the
 * TypeScript forward pass on the very same weights.
 */
export function paramsFromOnnx(arch: Architecture, bytes: Uint8Array): Float32Array {
  const inits = readOnnxInitializers(bytes);
  const params = new Float32Array(arch.paramCount);
  arch.layers.forEach((layer, i) => {
    for (const [suffix, slice] of [
      ["weight", layer.weight],
      ["bias", layer.bias],
    ] as const) {
      if (slice === undefined) continue;
      const init = inits.get(`layer${i}.${suffix}`);
      if (init === undefined || init.data.length !== slice.length) {
        throw new Error(
          `ONNX initializer layer${i}.${suffix}: expected ${slice.length} values, found ${init?.data.length ?? "none"}`,
        );
      }
      params.set(init.data, slice.offset);
    }
  });
  return params;
}
