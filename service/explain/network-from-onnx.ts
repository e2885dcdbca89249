/**
 * Rebuilds the TypeScript network (service/model/network.ts) of a plinth ONNX classifier from its
 * graph and initializers, so the explainer can run a forward and a backward pass on exactly the
 * weights ONNX Runtime serves. The graph must be the chain the trainer exports: Conv (stride 1,
 * symmetric padding), Relu, MaxPool 2x2/2, Flatten, Gemm (transB=1), optionally ending in Softmax.
 *
 * One layer is prepended: a 1x1 convolution with identity weights. It changes nothing in the
 * forward pass, but makes the trainer's backward pass (which never computes its first layer's
 * input gradient) produce the gradient with respect to the image.
 */
import {
  buildArchitecture,
  shapeSize,
  view,
  type Architecture,
  type LayerSpec,
  type Shape,
} from "../model/network.js";
import { readOnnxInitializers, readOnnxNodes, type OnnxNode } from "../model/onnx-format.js";

/** The graph uses an operator or attribute the explainer cannot differentiate. */
export class UnsupportedGraphError extends Error {
  override readonly name = "UnsupportedGraphError";
}

export interface ExplainableNetwork {
  readonly arch: Architecture;
  readonly params: Float32Array;
  /** Layer whose input gradient is the gradient w.r.t. the image (after the identity layer). */
  readonly inputGradientLayer: number;
}

const ints = (node: OnnxNode, name: string): readonly number[] | undefined => {
  const v = node.intAttributes?.[name];
  return v === undefined ? undefined : typeof v === "number" ? [v] : v;
};
const all = (values: readonly number[] | undefined, expected: number) =>
  values === undefined || values.every((v) => v === expected);

function unsupported(node: OnnxNode, why: string): never {
  throw new UnsupportedGraphError(`node ${node.name || node.opType} (${node.opType}): ${why}`);
}

/** Layer spec and the names of its weight and bias initializers. */
function layerOf(node: OnnxNode): { spec: LayerSpec; weight?: string; bias?: string } {
  switch (node.opType) {
    case "Conv": {
      const kernel = ints(node, "kernel_shape");
      const pads = ints(node, "pads") ?? [0, 0, 0, 0];
      if (kernel === undefined || kernel.length !== 2 || kernel[0] !== kernel[1])
        unsupported(node, "needs a square kernel_shape");
      if (!pads.every((p) => p === pads[0])) unsupported(node, "needs equal padding on every side");
      if (!all(ints(node, "strides"), 1) || !all(ints(node, "dilations"), 1) || !all(ints(node, "group"), 1))
        unsupported(node, "needs stride 1, dilation 1 and one group");
      if (node.inputs.length !== 3) unsupported(node, "needs a weight and a bias");
      return {
        spec: { kind: "conv2d", outChannels: 0, kernel: kernel[0]!, padding: pads[0]! },
        weight: node.inputs[1],
        bias: node.inputs[2],
      };
    }
    case "Gemm":
      if (ints(node, "transB")?.[0] !== 1 || !all(ints(node, "transA"), 0))
        unsupported(node, "needs transB=1");
      if (node.inputs.length !== 3) unsupported(node, "needs a weight and a bias");
      return { spec: { kind: "dense", outputs: 0 }, weight: node.inputs[1], bias: node.inputs[2] };
    case "Relu":
      return { spec: { kind: "relu" } };
    case "MaxPool":
      if (
        !all(ints(node, "kernel_shape"), 2) ||
        !all(ints(node, "strides"), 2) ||
        !all(ints(node, "pads"), 0)
      )
        unsupported(node, "needs a 2x2 window with stride 2");
      return { spec: { kind: "maxpool2" } };
    case "Flatten":
      if (!all(ints(node, "axis"), 1)) unsupported(node, "needs axis 1");
      return { spec: { kind: "flatten" } };
    default:
      return unsupported(node, "operator not supported by the explainer");
  }
}

/** The network of `bytes` for inputs of `input` shape (the model metadata's `[c, h, w]`). */
export function networkFromOnnx(bytes: Uint8Array, input: Shape): ExplainableNetwork {
  const nodes = readOnnxNodes(bytes);
  const inits = readOnnxInitializers(bytes);
  const last = nodes[nodes.length - 1];
  const body = last?.opType === "Softmax" ? nodes.slice(0, -1) : nodes;
  if (body.length === 0) throw new UnsupportedGraphError("the graph has no layers");
  const layers = body.map((node, i) => {
    if (i > 0 && node.inputs[0] !== body[i - 1]!.outputs[0])
      unsupported(node, "the graph is not a single chain of layers");
    const layer = layerOf(node);
    const weight = layer.weight === undefined ? undefined : inits.get(layer.weight);
    if (layer.weight !== undefined && weight === undefined)
      unsupported(node, `initializer ${layer.weight} missing`);
    if (layer.spec.kind === "conv2d") layer.spec = { ...layer.spec, outChannels: weight!.dims[0]! };
    if (layer.spec.kind === "dense") layer.spec = { ...layer.spec, outputs: weight!.dims[0]! };
    return { ...layer, node };
  });
  const identity: LayerSpec = { kind: "conv2d", outChannels: input.c, kernel: 1, padding: 0 };
  let arch: Architecture;
  try {
    arch = buildArchitecture(input, [identity, ...layers.map((l) => l.spec)]);
  } catch (err) {
    throw new UnsupportedGraphError(
      `the graph does not fit input ${input.c}x${input.h}x${input.w}: ${(err as Error).message}`,
    );
  }
  const params = new Float32Array(arch.paramCount);
  const identityWeight = view(params, arch.layers[0]!.weight);
  for (let c = 0; c < input.c; c++) identityWeight[c * input.c + c] = 1;
  layers.forEach((l, i) => {
    const layer = arch.layers[i + 1]!;
    for (const [name, slice] of [
      [l.weight, layer.weight],
      [l.bias, layer.bias],
    ] as const) {
      if (name === undefined || slice === undefined) continue;
      const init = inits.get(name);
      if (init === undefined || init.data.length !== slice.length)
        unsupported(
          l.node,
          `initializer ${name} has ${init?.data.length ?? "no"} values, ${slice.length} expected`,
        );
      params.set(init.data, slice.offset);
    }
  });
  // backward() passes flatten's gradient through without writing it: skip flatten layers.
  let inputGradientLayer = 1;
  while (arch.layers[inputGradientLayer]?.spec.kind === "flatten") inputGradientLayer++;
  if (shapeSize(arch.layers[arch.layers.length - 1]!.output) < 2)
    throw new UnsupportedGraphError("the graph's output is not a class vector");
  return { arch, params, inputGradientLayer };
}
