/**
 * Candidate versions for the live gate tests, all built from the bundled trained model
 * (models/fashion-classifier/1, with its training baseline so drift is measured):
 *
 * - healthy: the same model under a new version number;
 * - slow: the same predictions behind a stack of identity convolutions, so it answers correctly
 *   but spends real CPU time in ONNX Runtime (a latency regression, nothing faked in the service);
 * - broken: valid ONNX whose dense layer has the wrong shape, so ONNX Runtime rejects it when the
 *   service loads it and every request routed to it falls back to stable.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { createSession } from "../../service/inference/ort-session.js";
import {
  encodeOnnxModel,
  readOnnxInitializers,
  readOnnxMetadataProps,
  readOnnxNodes,
  type OnnxInitializer,
  type OnnxNode,
} from "../../service/model/onnx-format.js";

const BUNDLED = fileURLToPath(new URL("../../models/fashion-classifier/1/", import.meta.url));
export const MODEL_NAME = "fashion-classifier";

export type VersionFiles = Record<string, Uint8Array>;

/** Every file of the bundled version 1 (model, baseline, training summary, data-quality report). */
export async function bundledVersion(): Promise<VersionFiles> {
  const files: VersionFiles = {};
  for (const name of await readdir(BUNDLED))
    files[name] = new Uint8Array(await readFile(path.join(BUNDLED, name)));
  return files;
}

function rebuilt(
  model: Uint8Array,
  edit: (
    nodes: OnnxNode[],
    initializers: OnnxInitializer[],
  ) => { nodes: OnnxNode[]; initializers: OnnxInitializer[] },
): Uint8Array {
  const { nodes, initializers } = edit(readOnnxNodes(model), [...readOnnxInitializers(model).values()]);
  return encodeOnnxModel({
    graphName: "plinth-test-candidate",
    producerName: "plinth-tests",
    producerVersion: "1",
    inputs: [{ name: "input", shape: ["N", 1, 28, 28] }],
    outputs: [{ name: "probabilities", shape: ["N", 10] }],
    nodes,
    initializers,
    metadataProps: readOnnxMetadataProps(model),
  });
}

/** A channels x inChannels x k x k kernel that copies input channel `from(c)` to output channel c. */
function copyKernel(
  channels: number,
  inChannels: number,
  k: number,
  from: (c: number) => number | undefined,
) {
  const data = new Float32Array(channels * inChannels * k * k);
  const centre = Math.floor(k / 2);
  for (let c = 0; c < channels; c++) {
    const source = from(c);
    if (source !== undefined) data[((c * inChannels + source) * k + centre) * k + centre] = 1;
  }
  return data;
}

/**
 * The bundled model behind `layers` 3x3 convolutions of `channels` channels that compute the
 * identity (channel 0 carries the image, the rest stay zero): ~7,000 x channels² multiply-adds per
 * layer and row, with exactly the bundled model's predictions.
 */
export function slowModel(model: Uint8Array, layers: number, channels: number): Uint8Array {
  return rebuilt(model, (nodes, initializers) => {
    const prefix: OnnxNode[] = [];
    const weights: OnnxInitializer[] = [];
    const conv = (
      name: string,
      input: string,
      output: string,
      out: number,
      inC: number,
      k: number,
      from: (c: number) => number | undefined,
    ) => {
      weights.push({ name: `${name}.weight`, dims: [out, inC, k, k], data: copyKernel(out, inC, k, from) });
      weights.push({ name: `${name}.bias`, dims: [out], data: new Float32Array(out) });
      const pad = Math.floor(k / 2);
      prefix.push({
        opType: "Conv",
        name,
        inputs: [input, `${name}.weight`, `${name}.bias`],
        outputs: [output],
        intAttributes: { kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [1, 1] },
      });
    };
    conv("slow_in", "input", "slow_0", channels, 1, 3, (c) => (c === 0 ? 0 : undefined));
    for (let i = 1; i <= layers; i++)
      conv(
        `slow_${i}`,
        `slow_${i - 1}`,
        `slow_${i}_out`.replace(`_${i}_out`, `_${i}`),
        channels,
        channels,
        3,
        (c) => c,
      );
    conv("slow_out", `slow_${layers}`, "slow_image", 1, channels, 1, () => 0);
    const rewired = nodes.map((n) => ({
      ...n,
      inputs: n.inputs.map((i) => (i === "input" ? "slow_image" : i)),
    }));
    return { nodes: [...prefix, ...rewired], initializers: [...weights, ...initializers] };
  });
}

/** Median seconds of one single-row run, with the service's own session settings. */
async function secondsPerRow(model: Uint8Array, runs: number): Promise<number> {
  const session = await createSession(model, { intraOpThreads: 1, interOpThreads: 1 });
  try {
    const feeds = { input: new ort.Tensor("float32", new Float32Array(28 * 28), [1, 1, 28, 28]) };
    await session.run(feeds); // the first run allocates
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await session.run(feeds);
      times.push((performance.now() - started) / 1000);
    }
    return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
  } finally {
    await session.release();
  }
}

/**
 * slowModel() with as many layers as this machine needs to add `addedSeconds` per row: a fixed
 * layer count is ~20 ms slower on one machine and ~50 ms on another, so a latency gate test with a
 * fixed margin would pass or fail by the machine. Measured on a few layers, then scaled.
 */
export async function calibratedSlowModel(
  model: Uint8Array,
  addedSeconds: number,
  channels = 64,
): Promise<{ model: Uint8Array; layers: number; addedSeconds: number }> {
  const probeLayers = 16;
  const [base, probe] = [
    await secondsPerRow(model, 9),
    await secondsPerRow(slowModel(model, probeLayers, channels), 9),
  ];
  const perLayer = Math.max((probe - base) / probeLayers, 1e-5);
  const layers = Math.min(400, Math.max(probeLayers, Math.ceil(addedSeconds / perLayer)));
  return { model: slowModel(model, layers, channels), layers, addedSeconds: layers * perLayer };
}

/** The bundled model with its first dense layer one input short: ONNX Runtime refuses the graph. */
export function brokenModel(model: Uint8Array): Uint8Array {
  return rebuilt(model, (nodes, initializers) => ({
    nodes,
    initializers: initializers.map((init) =>
      init.name === "layer7.weight"
        ? {
            ...init,
            dims: [init.dims[0]!, init.dims[1]! - 1],
            data: init.data.subarray(0, init.dims[0]! * (init.dims[1]! - 1)),
          }
        : init,
    ),
  }));
}
