/**
 * A model configuration bound to a graph's contract: which input `/predict`'s rows and instances
 * and `/predict-image`'s pixels fill, which output answers, and how. Binding happens at load, so a
 * configuration that does not fit its graph (a feature count, an image size, an output the graph
 * lacks) refuses the model with a message naming the file and the field, before it serves.
 */
import { Tensor } from "onnxruntime-node";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import {
  ModelConfigError,
  type ImagePreprocessing,
  type ModelConfig,
  type ModelTask,
} from "../model/model-config.js";
import { DYNAMIC, shapeText, type ModelContract, type TensorSpec } from "./contract.js";
import type { V2Datatype } from "./datatypes.js";
import { toHalfBits } from "./float16.js";
import { fromOrtTensor, toOrtTensor } from "./tensor-codec.js";

const FLOAT_TYPES: ReadonlySet<V2Datatype> = new Set(["FP16", "FP32", "FP64"]);
const NUMBER_TYPES: ReadonlySet<V2Datatype> = new Set([
  ...FLOAT_TYPES,
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
]);
/** Output names converters give class probabilities (skl2onnx, onnxmltools) and regressions. */
const PROBABILITY_OUTPUTS = ["probabilities", "output_probability"];
const REGRESSION_OUTPUTS = ["variable", "predictions"];

/** Where one row's values go: one input holding `width` values a row, or one input per column. */
export type RowLayout =
  | { readonly kind: "packed"; readonly input: TensorSpec; readonly width: number }
  | { readonly kind: "columns"; readonly inputs: readonly TensorSpec[] };

export interface ImageInput {
  readonly input: TensorSpec;
  readonly preprocessing: ImagePreprocessing;
}

export interface ConfiguredIo {
  readonly config: ModelConfig;
  readonly task: ModelTask;
  /** Class names (classification): the configuration's, else the class ids as text. */
  readonly labels: readonly string[] | undefined;
  /** How `/predict` rows fill the graph; undefined when rows cannot (e.g. an image-only input). */
  readonly rows: RowLayout | undefined;
  /** Feature names in row order, when the configuration names them (`instances`). */
  readonly features: readonly string[] | undefined;
  readonly image: ImageInput | undefined;
  /** The output that answers; undefined for a raw model. */
  readonly output: TensorSpec | undefined;
  readonly softmax: boolean;
}

export type ConfiguredPrediction =
  { label: string; class_id: number; probabilities: number[] } | { value: number } | { values: number[] };

function refuse(source: string, path: string, message: string): never {
  throw new ModelConfigError(`${source}: ${path}: ${message}`);
}

const names = (specs: readonly TensorSpec[]) => specs.map((s) => `"${s.name}"`).join(", ");

function namedInput(config: ModelConfig, contract: ModelContract, source: string): TensorSpec | undefined {
  const wanted = config.input.name;
  if (wanted === undefined) return contract.inputs.length === 1 ? contract.inputs[0] : undefined;
  return (
    contract.inputs.find((s) => s.name === wanted) ??
    refuse(
      source,
      "input.name",
      `the graph has no input "${wanted}"; its inputs are ${names(contract.inputs)}`,
    )
  );
}

function pickOutput(config: ModelConfig, contract: ModelContract, source: string): TensorSpec | undefined {
  if (config.task === "raw") return undefined;
  const wanted = config.output.name;
  const floats = contract.outputs.filter((s) => FLOAT_TYPES.has(s.datatype));
  const preferred = config.task === "classification" ? PROBABILITY_OUTPUTS : REGRESSION_OUTPUTS;
  const output =
    wanted !== undefined
      ? contract.outputs.find((s) => s.name === wanted)
      : (floats.find((s) => preferred.includes(s.name)) ?? (floats.length === 1 ? floats[0] : undefined));
  if (output === undefined) {
    const why =
      wanted !== undefined
        ? `the graph has no output "${wanted}"`
        : `cannot tell which output holds the ${config.task === "classification" ? "class probabilities" : "values"}`;
    refuse(source, "output.name", `${why}; its outputs are ${names(contract.outputs)}: name one`);
  }
  if (!FLOAT_TYPES.has(output.datatype)) {
    refuse(
      source,
      "output.name",
      `output "${output.name}" is ${output.datatype}; a ${config.task} output must be FP16, FP32 or FP64`,
    );
  }
  return output;
}

/** Elements a row of `spec` holds, or undefined when a non-batch dimension is dynamic. */
function rowWidth(spec: TensorSpec): number | undefined {
  if (spec.shape.length === 0) return undefined;
  const rest = spec.shape.slice(1);
  return rest.some((d) => d === DYNAMIC) ? undefined : rest.reduce((a, b) => a * b, 1);
}

function featureLayout(
  features: readonly string[],
  target: TensorSpec | undefined,
  contract: ModelContract,
  source: string,
): RowLayout {
  const columns = features.map((f) => contract.inputs.find((s) => s.name === f));
  if (columns.every((s) => s !== undefined) && contract.inputs.length === features.length) {
    for (const spec of columns) {
      if (rowWidth(spec) !== 1)
        refuse(
          source,
          "input.features",
          `input "${spec.name}" has shape ${shapeText(spec.shape)}; a column input takes [N,1]`,
        );
    }
    return { kind: "columns", inputs: columns };
  }
  if (target === undefined) {
    refuse(
      source,
      "input.features",
      `the graph's inputs ${names(contract.inputs)} are neither one input of ${features.length} columns nor one input per feature; name the input (input.name)`,
    );
  }
  const width = target.shape.length === 2 ? target.shape[1] : undefined;
  if (width !== features.length && width !== DYNAMIC) {
    refuse(
      source,
      "input.features",
      `${features.length} features, but input "${target.name}" has shape ${shapeText(target.shape)}`,
    );
  }
  if (!NUMBER_TYPES.has(target.datatype)) {
    refuse(
      source,
      "input.features",
      `input "${target.name}" is ${target.datatype}; packed features must be numbers`,
    );
  }
  return { kind: "packed", input: target, width: features.length };
}

function imageInput(
  preprocessing: ImagePreprocessing,
  target: TensorSpec | undefined,
  contract: ModelContract,
  source: string,
): ImageInput {
  if (target === undefined) {
    refuse(source, "input.name", `the graph has inputs ${names(contract.inputs)}: name the image input`);
  }
  if (!FLOAT_TYPES.has(target.datatype)) {
    refuse(
      source,
      "input.image",
      `input "${target.name}" is ${target.datatype}; an image input must be FP16, FP32 or FP64`,
    );
  }
  const { width, height, channels, layout } = preprocessing;
  const expected = layout === "NCHW" ? [channels, height, width] : [height, width, channels];
  const actual = target.shape.slice(1);
  const fits = target.shape.length === 4 && actual.every((d, i) => d === DYNAMIC || d === expected[i]);
  const batch = target.shape[0];
  if (batch !== undefined && batch !== DYNAMIC && batch !== 1) {
    refuse(
      source,
      "input.image",
      `input "${target.name}" has a fixed batch of ${batch}; an image request is one row`,
    );
  }
  if (!fits) {
    refuse(
      source,
      "input.image",
      `${layout} ${channels}x${height}x${width} does not fit input "${target.name}" of shape ${shapeText(target.shape)}`,
    );
  }
  return { input: target, preprocessing };
}

/** Binds `config` to the graph; throws a ModelConfigError naming `source` and the field. */
export function bindModelConfig(config: ModelConfig, contract: ModelContract, source: string): ConfiguredIo {
  const target = namedInput(config, contract, source);
  const output = pickOutput(config, contract, source);
  const classes = output?.shape.length === 2 && output.shape[1] !== DYNAMIC ? output.shape[1] : undefined;
  if (
    config.task === "classification" &&
    config.labels !== undefined &&
    classes !== undefined &&
    classes !== config.labels.length
  ) {
    refuse(
      source,
      "labels",
      `${config.labels.length} labels, but output "${output!.name}" has ${classes} classes`,
    );
  }
  const features = config.input.features;
  let rows: RowLayout | undefined;
  // A raw model serves over the Open Inference Protocol only: its features bind nothing.
  if (features !== undefined && config.task !== "raw")
    rows = featureLayout(features, target, contract, source);
  else if (target !== undefined && NUMBER_TYPES.has(target.datatype) && config.input.image === undefined) {
    const width = rowWidth(target);
    if (width !== undefined) rows = { kind: "packed", input: target, width };
  }
  const labels =
    config.labels ??
    (config.task === "classification" && classes !== undefined
      ? Array.from({ length: classes }, (_, i) => String(i))
      : undefined);
  return {
    config,
    task: config.task,
    labels,
    rows,
    features: config.task === "raw" ? undefined : features,
    image:
      config.input.image === undefined ? undefined : imageInput(config.input.image, target, contract, source),
    output,
    softmax: config.task === "classification" && config.output.kind === "logits",
  };
}

// --- requests -> feeds ---------------------------------------------------------------------------

export interface EncodedFeeds {
  readonly feeds: Record<string, Tensor>;
  readonly rows: number;
}

/** The rows a request must hold when the graph fixes its batch dimension (an export without dynamic axes). */
function fixedBatch(layout: RowLayout): number | undefined {
  const first = layout.kind === "packed" ? layout.input : layout.inputs[0]!;
  const batch = first.shape[0];
  return batch === undefined || batch === DYNAMIC ? undefined : batch;
}

function checkRowCount(count: number, maxRows: number, where: string, layout: RowLayout): void {
  const fixed = fixedBatch(layout);
  if (fixed !== undefined && count !== fixed && count > 0) {
    throw new ApiError(
      ErrorCode.INVALID_SHAPE,
      `${where}: ${count} rows; this model's graph takes exactly ${fixed} row${fixed === 1 ? "" : "s"} a request (its batch dimension is fixed)`,
    );
  }
  if (count === 0) throw new ApiError(ErrorCode.EMPTY_BATCH, `${where}: no rows`);
  if (count > maxRows)
    throw new ApiError(ErrorCode.BATCH_TOO_LARGE, `${where}: ${count} rows, at most ${maxRows} per request`);
}

function checkRange(io: ConfiguredIo, values: readonly unknown[], where: string): void {
  const range = io.config.input.valueRange;
  if (range === undefined) return;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === "number" && !(v >= range[0] && v <= range[1]))
      throw new ApiError(
        ErrorCode.INVALID_VALUE,
        `${where}[${i}]: expected a number in [${range[0]}, ${range[1]}], got ${v}`,
      );
  }
}

/** Names the value of row `row`, column `column` in the request's own terms, for refusals. */
type CellSite = (row: number, column: number) => string;

/** Row-major rows -> the feeds of `layout` (one tensor, or one `[N,1]` tensor per column). */
function feedsOfRows(
  layout: RowLayout,
  rows: readonly (readonly unknown[])[],
  site: CellSite,
): Record<string, Tensor> {
  if (layout.kind === "packed") {
    const flat = rows.flat();
    const shape = [
      rows.length,
      ...layout.input.shape.slice(1).map((d) => (d === DYNAMIC ? layout.width : d)),
    ];
    const where = (i: number) => site(Math.floor(i / layout.width), i % layout.width);
    return { [layout.input.name]: toOrtTensor(layout.input.datatype, flat, shape, where) };
  }
  const feeds: Record<string, Tensor> = {};
  layout.inputs.forEach((spec, c) => {
    feeds[spec.name] = toOrtTensor(
      spec.datatype,
      rows.map((row) => row[c]),
      [rows.length, 1],
      (r) => site(r, c),
    );
  });
  return feeds;
}

function rowLayoutOrRefuse(io: ConfiguredIo, name: string): RowLayout {
  if (io.rows !== undefined) return io.rows;
  throw new ApiError(
    ErrorCode.INVALID_REQUEST,
    `model "${name}" takes no rows of values (its configured input is an image, or its input has dynamic dimensions); use /predict-image or /v2/models/${name}/infer`,
  );
}

/** `/predict`'s `inputs`: one row of values, or an array of rows. */
export function encodeRows(
  io: ConfiguredIo,
  name: string,
  inputs: readonly unknown[],
  maxRows: number,
): EncodedFeeds {
  const layout = rowLayoutOrRefuse(io, name);
  const width = layout.kind === "packed" ? layout.width : layout.inputs.length;
  const rows = inputs.length > 0 && !Array.isArray(inputs[0]) ? [inputs] : (inputs as unknown[][]);
  checkRowCount(rows.length, maxRows, "inputs", layout);
  rows.forEach((row, r) => {
    const where = rows.length === 1 && row === inputs ? "inputs" : `inputs[${r}]`;
    if (!Array.isArray(row))
      throw new ApiError(ErrorCode.INVALID_SHAPE, `${where}: expected a row (array of ${width} values)`);
    if (row.length !== width)
      throw new ApiError(ErrorCode.INVALID_SHAPE, `${where}: expected ${width} values, got ${row.length}`);
    checkRange(io, row, where);
  });
  const single = rows.length === 1 && rows[0] === inputs;
  const feature = (c: number) => (io.features === undefined ? "" : ` (feature "${io.features[c]}")`);
  const site: CellSite = (r, c) => `${single ? `inputs[${c}]` : `inputs[${r}][${c}]`}${feature(c)}`;
  return { feeds: feedsOfRows(layout, rows, site), rows: rows.length };
}

/** `/predict`'s `instances`: one object of feature values per row. */
export function encodeInstances(
  io: ConfiguredIo,
  name: string,
  instances: readonly unknown[],
  maxRows: number,
): EncodedFeeds {
  const features = io.features;
  if (features === undefined) {
    throw new ApiError(
      ErrorCode.INVALID_REQUEST,
      `model "${name}" names no features (input.features in its model configuration); send rows as "inputs"`,
    );
  }
  const layout = rowLayoutOrRefuse(io, name);
  checkRowCount(instances.length, maxRows, "instances", layout);
  const known = new Set(features);
  const rows = instances.map((instance, r) => {
    const where = `instances[${r}]`;
    if (typeof instance !== "object" || instance === null || Array.isArray(instance)) {
      throw new ApiError(ErrorCode.INVALID_SHAPE, `${where}: expected an object of feature values`);
    }
    const record = instance as Record<string, unknown>;
    const unknown = Object.keys(record).find((k) => !known.has(k));
    if (unknown !== undefined)
      throw new ApiError(
        ErrorCode.INVALID_VALUE,
        `${where}: unknown feature ${JSON.stringify(unknown.slice(0, 64))}; the features are ${features.join(", ")}`,
      );
    const row = features.map((f) => {
      if (!Object.hasOwn(record, f))
        throw new ApiError(ErrorCode.INVALID_VALUE, `${where}: missing feature "${f}"`);
      return record[f];
    });
    checkRange(io, row, where);
    return row;
  });
  const site: CellSite = (r, c) => `instances[${r}]: feature "${features[c]}"`;
  return { feeds: feedsOfRows(layout, rows, site), rows: rows.length };
}

/**
 * Decoded pixels (`height x width x channels`, RGB interleaved, 0-255) -> the image input: colour
 * order, `(x * scale - mean[c]) / std[c]`, layout. `invert` negates the pixels first.
 */
export function encodeImage(
  io: ConfiguredIo,
  name: string,
  pixels: Uint8Array,
  invert: boolean,
): EncodedFeeds {
  if (io.image === undefined) {
    throw new ApiError(
      ErrorCode.INVALID_REQUEST,
      `model "${name}" has no image input in its model configuration (input.image); use /predict or /v2/models/${name}/infer`,
    );
  }
  const { input, preprocessing } = io.image;
  const { width, height, channels, layout, colorOrder, scale, mean, std } = preprocessing;
  const plane = width * height;
  if (pixels.length !== plane * channels) {
    throw new Error(
      `model "${name}": ${pixels.length} decoded bytes for a ${width}x${height}x${channels} image input`,
    );
  }
  // Written straight into the typed array ONNX Runtime takes (binding allows float inputs only).
  const { type, data, store } = floatTensorData(input.datatype, plane * channels);
  for (let c = 0; c < channels; c++) {
    // The decoder gives RGB; a BGR model's channel 0 is the decoder's channel 2.
    const from = colorOrder === "BGR" && channels === 3 ? 2 - c : c;
    const m = mean.length === 1 ? mean[0]! : mean[c]!;
    const s = std.length === 1 ? std[0]! : std[c]!;
    for (let p = 0; p < plane; p++) {
      const raw = pixels[p * channels + from]!;
      const x = ((invert ? 255 - raw : raw) * scale - m) / s;
      data[layout === "NCHW" ? c * plane + p : p * channels + c] = store(x);
    }
  }
  const shape = layout === "NCHW" ? [1, channels, height, width] : [1, height, width, channels];
  return { feeds: { [input.name]: new Tensor(type, data, shape) }, rows: 1 };
}

/** A float input's elements as ONNX Runtime holds them: FP16 as half-precision bit patterns. */
function floatTensorData(datatype: V2Datatype, length: number) {
  switch (datatype) {
    case "FP16":
      return { type: "float16", data: new Uint16Array(length), store: toHalfBits } as const;
    case "FP64":
      return { type: "float64", data: new Float64Array(length), store: (x: number) => x } as const;
    case "FP32":
      return { type: "float32", data: new Float32Array(length), store: (x: number) => x } as const;
    default:
      throw new Error(`an image input is FP16, FP32 or FP64, not ${datatype}`);
  }
}

// --- results -> predictions ----------------------------------------------------------------------

function softmaxRow(values: number[]): number[] {
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** The answering output of a run as one prediction per row. */
export function toConfiguredPredictions(
  io: ConfiguredIo,
  results: Readonly<Record<string, Tensor>>,
  rows: number,
): ConfiguredPrediction[] {
  const output = io.output;
  if (output === undefined) throw new Error("a raw model has no configured predictions");
  const tensor = results[output.name];
  if (tensor === undefined) throw new Error(`the run returned no output "${output.name}"`);
  const values = fromOrtTensor(output.datatype, tensor) as number[];
  const width = rows === 0 ? 0 : values.length / rows;
  const out: ConfiguredPrediction[] = [];
  for (let r = 0; r < rows; r++) {
    const row = values.slice(r * width, (r + 1) * width);
    if (io.task === "regression") {
      out.push(width === 1 ? { value: row[0]! } : { values: row });
      continue;
    }
    const probabilities = io.softmax ? softmaxRow(row) : row;
    let best = 0;
    for (let c = 1; c < width; c++) if (probabilities[c]! > probabilities[best]!) best = c;
    out.push({ label: io.labels?.[best] ?? String(best), class_id: best, probabilities });
  }
  return out;
}

/**
 * A configured classification's predictions in a run's results (the Open Inference Protocol's
 * answer), when the run returned its answering output; else undefined.
 */
export function classificationsInResults(
  io: ConfiguredIo | undefined,
  results: Readonly<Record<string, Tensor>>,
  rows: number,
): ConfiguredPrediction[] | undefined {
  if (io?.task !== "classification" || io.output === undefined || results[io.output.name] === undefined)
    return undefined;
  return toConfiguredPredictions(io, results, rows);
}

/** The outputs a run needs for `/predict`. */
export function predictionOutputs(io: ConfiguredIo): readonly TensorSpec[] {
  return io.output === undefined ? [] : [io.output];
}
