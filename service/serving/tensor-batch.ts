/**
 * Requests' tensors joined along the batch dimension (dimension 0) into one run's feeds, and a
 * run's outputs split back into each request's rows: the data side of graph models' dynamic
 * batching (service/inference/graph-batcher.ts). Joining copies each input once into one array of
 * its own kind (the typed array of its element type, BOOL's Uint8Array, BYTES' string array);
 * splitting takes views of typed arrays and copies only strings.
 */
import { Tensor } from "onnxruntime-node";
import { batchDimName, DYNAMIC, shapeText, type ModelContract, type TensorSpec } from "./contract.js";

type Results = Readonly<Record<string, Tensor>>;

/** Every non-string tensor's data, as far as joining and splitting it goes. */
interface PackedArray {
  readonly length: number;
  set(values: PackedArray, offset: number): void;
  subarray(begin: number, end: number): PackedArray;
}

function withoutBatch(role: "input" | "output", spec: TensorSpec): string | undefined {
  if (spec.shape[0] === DYNAMIC) return undefined;
  const shape =
    spec.shape.length === 0 ? "declares no shape" : `has a fixed first dimension ${shapeText(spec.shape)}`;
  return `${role} "${spec.name}" ${shape}`;
}

/** `input "x" N`: a tensor's first dimension as the batching rule sees it. */
function firstDimText(role: "input" | "output", spec: TensorSpec): string {
  const name = batchDimName(spec);
  return `${role} "${spec.name}" ${name === undefined ? "unnamed" : JSON.stringify(name)}`;
}

/**
 * Why a model's requests cannot share runs, or undefined when they can. Every input and every
 * output must have a dynamic first dimension, so that requests stack along it (a graph with a fixed
 * batch of 1, say, runs each request alone). Then, unless the model configuration asserts that
 * rows are independent (`batching.enabled: true`, `asserted`), that dimension must be the same
 * symbolic one everywhere ("N" on every input and output): only then does the graph itself say
 * each output's rows are its inputs' rows. A dynamic first dimension of another name or none may be
 * anything (NonZero's `[K,2]`, a top-k over the batch), and splitting it by rows could hand one
 * caller another's values.
 */
export function unbatchableReason(contract: ModelContract, asserted = false): string | undefined {
  if (contract.inputs.length === 0) return "the graph has no inputs";
  const structural =
    contract.inputs.map((spec) => withoutBatch("input", spec)).find((r) => r !== undefined) ??
    contract.outputs.map((spec) => withoutBatch("output", spec)).find((r) => r !== undefined);
  if (structural !== undefined || asserted) return structural;
  const names = [...contract.inputs, ...contract.outputs].map(batchDimName);
  if (names[0] !== undefined && names.every((n) => n === names[0])) return undefined;
  const dims = [
    ...contract.inputs.map((spec) => firstDimText("input", spec)),
    ...contract.outputs.map((spec) => firstDimText("output", spec)),
  ];
  return (
    `the first dimensions of its inputs and outputs are not one named batch dimension (${dims.join(", ")}); ` +
    "set batching.enabled to true in its model configuration if every output's rows are its inputs' rows"
  );
}

/**
 * What requests must share to be joined: the requested outputs, and each input's element type and
 * dimensions after the first (an image model with a dynamic height takes one height a run).
 */
export function batchKey(
  feeds: Results,
  inputNames: readonly string[],
  outputNames: readonly string[],
): string {
  let key = JSON.stringify(outputNames);
  for (const name of inputNames) {
    const tensor = feeds[name];
    if (tensor === undefined) {
      key += "|-";
      continue;
    }
    key += `|${tensor.type}`;
    for (let d = 1; d < tensor.dims.length; d++) key += `,${tensor.dims[d]}`;
  }
  return key;
}

function joinData(tensors: readonly Tensor[]): Tensor["data"] {
  const first = tensors[0]!.data;
  if (Array.isArray(first)) return tensors.flatMap((t) => t.data as string[]);
  let size = 0;
  for (const t of tensors) size += t.data.length;
  const joined = new (first.constructor as new (size: number) => PackedArray)(size);
  let offset = 0;
  for (const t of tensors) {
    joined.set(t.data as unknown as PackedArray, offset);
    offset += t.data.length;
  }
  return joined as unknown as Tensor["data"];
}

/**
 * The feeds of one run: each input of `parts` (requests' feeds with the same {@link batchKey}) one
 * after the other along dimension 0, `rows` rows in all.
 */
export function joinFeeds(
  parts: readonly Results[],
  inputNames: readonly string[],
  rows: number,
): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const name of inputNames) {
    const tensors = parts.map((feeds, i) => {
      const tensor = feeds[name];
      if (tensor === undefined) throw new Error(`request ${i} of the batch has no input "${name}"`);
      return tensor;
    });
    const first = tensors[0]!;
    feeds[name] = new Tensor(first.type, joinData(tensors), [rows, ...first.dims.slice(1)]);
  }
  return feeds;
}

/**
 * Why a run's outputs cannot be split by rows (an output whose first dimension is not the run's
 * `rows`), or undefined. A safety net only: an output of `rows` rows that are not per input row
 * passes it, which is why batching needs the named batch dimension or the configuration's word.
 */
export function unsplittableOutput(results: Results, rows: number): string | undefined {
  for (const [name, tensor] of Object.entries(results)) {
    if (tensor.dims[0] !== rows) {
      return `output "${name}" has shape ${shapeText(tensor.dims)} for a batch of ${rows} rows: its first dimension is not the batch`;
    }
  }
  return undefined;
}

/** Rows `[offset, offset + rows)` of every output of a run of `batchRows` rows. */
export function splitResults(
  results: Results,
  offset: number,
  rows: number,
  batchRows: number,
): Record<string, Tensor> {
  const part: Record<string, Tensor> = {};
  for (const [name, tensor] of Object.entries(results)) {
    const data = tensor.data;
    const width = data.length / batchRows;
    const begin = offset * width;
    const end = begin + rows * width;
    const rowsData = Array.isArray(data)
      ? data.slice(begin, end)
      : ((data as unknown as PackedArray).subarray(begin, end) as unknown as Tensor["data"]);
    part[name] = new Tensor(tensor.type, rowsData, [rows, ...tensor.dims.slice(1)]);
  }
  return part;
}
