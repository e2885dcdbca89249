/**
 * Third-party models served with no plinth metadata (issue 20): a scikit-learn pipeline (scaler +
 * random forest) converted by skl2onnx with zipmap=False, a double-precision and a single-precision
 * regression, a ColumnTransformer over a string column and four float columns (string labels), a
 * multi-class XGBoost classifier and a LightGBM regression converted by onnxmltools, and a graph of
 * every protocol datatype. Each is made at test time, served by the real service
 * process from a local registry folder, and scored through plain HTTP and through the unmodified
 * tritonclient[http] (JSON and binary tensors); every output must equal onnxruntime-in-Python's on
 * the same inputs (floats within 1e-5, relative above 1; integers, booleans and strings exactly).
 * The same classifier converted with ZipMap is refused at load, naming the converter option.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzzVenvProgram, runProgram } from "../support/fuzz-venv.js";
import { startServiceProcess, type ServiceProcess } from "../support/service-process.js";
import {
  makeThirdPartyModels,
  MODEL_NAMES,
  type ModelCase,
  type V2Tensor,
} from "../support/third-party-models.js";

/** Models whose team wrote a model-config.json (test/support/third-party-models.py MODEL_CONFIGS). */
const CONFIGURED = new Set(["iris-forest", "diabetes-ridge", "iris-mixed", "rgb-cnn"]);
/**
 * Models whose requests are batched: a configuration that vouches for independent rows
 * (`batching.enabled`), or a graph with one named batch dimension ("N") on every input and output.
 */
const BATCHED = new Set(["iris-forest", "iris-mixed", "rgb-cnn", "all-types"]);
const IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
const IRIS_LABELS = ["setosa", "versicolor", "virginica"];
/** A 1x1 black PNG. */
const PNG_1X1 = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABc3UBGAAAAABJRU5ErkJggg==",
  "base64",
);

const API_KEY = "third-party-key-0123456789abcdef";
const DRIVER = path.join(import.meta.dirname, "v2_tensors_client.py");
/** Every model the generator makes but the ZipMap one, which is refused at load (last test). */
const SERVED = MODEL_NAMES.filter((name) => name !== "iris-forest-zipmap");
const FLOAT_TYPES = new Set(["FP16", "FP32", "FP64"]);

interface ReadTensor {
  datatype: string;
  shape: number[];
  data: V2Tensor["data"];
}

interface DriverOutput {
  model_ready: boolean;
  model_metadata: { name: string; inputs: unknown[]; outputs: unknown[] };
  json: Record<string, ReadTensor>;
  binary: Record<string, ReadTensor>;
}

interface ErrorBody {
  error: { code: string; message: string };
}

let workDir: string;
let registryDir: string;
let madeDir: string;
let cases: Map<string, ModelCase>;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), "plinth-third-party-"));
  ({ registryDir, madeDir, cases } = await makeThirdPartyModels(workDir));
}, 240_000);

afterAll(async () => {
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

/** Equal up to float rounding: same name, datatype and shape; floats within 1e-5, the rest exact. */
function expectSameTensor(actual: ReadTensor & { name?: string }, expected: V2Tensor): void {
  expect({ datatype: actual.datatype, shape: actual.shape }).toEqual({
    datatype: expected.datatype,
    shape: expected.shape,
  });
  if (!FLOAT_TYPES.has(expected.datatype)) {
    expect(actual.data).toEqual(expected.data);
    return;
  }
  expect(actual.data).toHaveLength(expected.data.length);
  const worst = Math.max(
    0,
    ...expected.data.map((e, i) => {
      const want = e as number;
      return Math.abs((actual.data[i] as number) - want) / Math.max(1, Math.abs(want));
    }),
  );
  expect(worst).toBeLessThanOrEqual(1e-5);
}

/** The first row of a batched tensor (every test tensor's leading dimension is the batch). */
function firstRow(tensor: V2Tensor): V2Tensor {
  const perRow = tensor.shape.slice(1).reduce((a, b) => a * b, 1);
  return { ...tensor, shape: [1, ...tensor.shape.slice(1)], data: tensor.data.slice(0, perRow) };
}

describe.each(SERVED)("%s, served with no plinth metadata", (name) => {
  let service: ServiceProcess;
  let modelCase: ModelCase;
  let expected: V2Tensor[];
  let viaClient: DriverOutput;

  const infer = async (body: unknown) => {
    const res = await fetch(`${service.url}/v2/models/${name}/infer`, {
      method: "POST",
      headers: { "x-api-key": API_KEY, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { outputs: V2Tensor[] } & ErrorBody };
  };

  beforeAll(async () => {
    modelCase = cases.get(name)!;
    expected = modelCase.outputs!;
    service = await startServiceProcess({
      API_KEYS: `third-party:${API_KEY}`,
      PLINTH_REGISTRY_DIR: registryDir,
      MODEL_NAME: name,
    });
    const caseFile = path.join(workDir, `${name}.case.json`);
    await writeFile(caseFile, JSON.stringify(modelCase));
    const run = await runProgram(
      fuzzVenvProgram("python"),
      [DRIVER, new URL(service.url).host, name, caseFile],
      {
        env: { PATH: process.env.PATH, PLINTH_API_KEY: API_KEY },
        timeoutMs: 120_000,
      },
    );
    if (run.code !== 0) throw new Error(`v2_tensors_client.py exited ${run.code}:\n${run.stderr}`);
    viaClient = JSON.parse(run.stdout) as DriverOutput;
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
  });

  it("reports the graph's own tensors as its v2 metadata, the batch dimension dynamic", () => {
    const spec = (t: V2Tensor) => ({ name: t.name, datatype: t.datatype, shape: [-1, ...t.shape.slice(1)] });
    expect(viaClient.model_ready).toBe(true);
    expect(viaClient.model_metadata).toMatchObject({
      name,
      inputs: modelCase.inputs.map(spec),
      outputs: expected.map(spec),
    });
  });

  it("answers plain HTTP JSON tensors as onnxruntime in Python does", async () => {
    const res = await infer({ inputs: modelCase.inputs });
    expect(res.status).toBe(200);
    expect(res.body.outputs.map((o) => o.name)).toEqual(expected.map((o) => o.name));
    res.body.outputs.forEach((o, i) => expectSameTensor(o, expected[i]!));
  });

  it("answers a batch of one row (the batch dimension is dynamic)", async () => {
    const res = await infer({ inputs: modelCase.inputs.map(firstRow) });
    expect(res.status).toBe(200);
    res.body.outputs.forEach((o, i) => expectSameTensor(o, firstRow(expected[i]!)));
  });

  it("returns only the requested outputs, in the requested order", async () => {
    const wanted = [...expected].reverse().slice(0, Math.min(2, expected.length));
    const res = await infer({ inputs: modelCase.inputs, outputs: wanted.map((o) => ({ name: o.name })) });
    expect(res.status).toBe(200);
    expect(res.body.outputs.map((o) => o.name)).toEqual(wanted.map((o) => o.name));
    res.body.outputs.forEach((o, i) => expectSameTensor(o, wanted[i]!));
  });

  it.each(["json", "binary"] as const)(
    "answers tritonclient's %s tensors as onnxruntime in Python does",
    (kind) => {
      const read = viaClient[kind];
      expect(Object.keys(read)).toEqual(expected.map((o) => o.name));
      for (const tensor of expected) expectSameTensor(read[tensor.name]!, tensor);
    },
  );

  it("refuses a bad tensor per input with a 400 that names the input and what is wrong", async () => {
    const { inputs } = modelCase;
    for (const [index, input] of inputs.entries()) {
      const quoted = `input "${input.name}"`;
      const withInput = (bad: V2Tensor) => inputs.map((t, i) => (i === index ? bad : t));
      const otherType = input.datatype === "FP32" ? "FP64" : "FP32";
      const wrongShape = [input.shape[0]!, input.shape[1]! + 1];
      const refusals = [
        [{ ...input, datatype: otherType }, `datatype ${otherType}, the model's is ${input.datatype}`],
        [{ ...input, shape: wrongShape }, `shape [${wrongShape.join(",")}] does not fit the model's`],
        [{ ...input, data: input.data.slice(1) }, `data has ${input.data.length - 1}`],
      ] as const;
      for (const [bad, what] of refusals) {
        const res = await infer({ inputs: withInput(bad) });
        expect(res.status, `${input.name}: ${what}`).toBe(400);
        expect(res.body.error.message).toContain(quoted);
        expect(res.body.error.message).toContain(what);
      }
      const missing = await infer({ inputs: inputs.filter((_, i) => i !== index) });
      expect(missing.status).toBe(400);
      // With no input at all the request schema (minItems 1) refuses it first.
      const why =
        inputs.length > 1
          ? `missing input ${input.name} (${input.datatype}`
          : "body/inputs must NOT have fewer";
      expect(missing.body.error.message).toContain(why);
    }
    const unknown = await infer({ inputs: [...inputs, { ...inputs[0]!, name: "no_such_input" }] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('unknown input "no_such_input"; the model\'s inputs are');
  });

  it("refuses explain, which needs plinth's own metadata, with a 400 naming the model", async () => {
    const res = await post(service, "/predict-image/explain", PNG_1X1, "image/png");
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(`is not available for model "${name}" version 1`);
    expect(res.body.error.message).toContain("needs plinth's own model metadata");
  });

  it("reports its model configuration in /metadata; without one, /predict says where it is served", async () => {
    const metadata = await fetch(`${service.url}/metadata`, { headers: { "x-api-key": API_KEY } });
    const { configuration, batching } = (await metadata.json()) as {
      configuration: { task: string } | null;
      batching: { enabled: boolean; unbatched?: string };
    };
    // The converters leave the batch dimension unnamed: batched only where the configuration vouches.
    if (BATCHED.has(name)) expect(batching).toMatchObject({ enabled: true, maxDelayMs: 0 });
    else expect(batching.unbatched).toMatch(/not one named batch dimension|fixed first dimension/);
    if (CONFIGURED.has(name)) {
      expect(configuration?.task).toMatch(/^(classification|regression)$/);
      return;
    }
    expect(configuration).toBeNull();
    const res = await post(service, "/predict", { inputs: [0, 0, 0, 0] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(`/predict is not available for model "${name}" version 1`);
    expect(res.body.error.message).toContain("it has no model configuration (model-config.json");
    expect(res.body.error.message).toContain(`/v2/models/${name}/infer`);
  });
});

/** POSTs JSON (or raw bytes with their content type) with the test's key. */
async function post(service: ServiceProcess, route: string, body: unknown, contentType = "application/json") {
  const res = await fetch(`${service.url}${route}`, {
    method: "POST",
    headers: { "x-api-key": API_KEY, "content-type": contentType },
    body: contentType === "application/json" ? JSON.stringify(body) : (body as Uint8Array),
  });
  return { status: res.status, body: (await res.json()) as PredictBody & ErrorBody };
}

interface PredictBody {
  prediction_id: string;
  model: { name: string; version: string; variant: string };
  predictions: { label?: string; class_id?: number; probabilities?: number[]; value?: number }[];
}

/** A v2 tensor of `[rows, columns]` as one array per row. */
function rowsOf(tensor: V2Tensor): V2Tensor["data"][] {
  const width = tensor.shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: tensor.shape[0]! }, (_, r) => tensor.data.slice(r * width, (r + 1) * width));
}

/** `instances` for /predict: one object a row, one member per feature (each input a column or one packed input). */
function instancesOf(inputs: V2Tensor[], features: readonly string[]): Record<string, unknown>[] {
  const columns = inputs.length === features.length ? inputs.map((t) => t.data) : undefined;
  const packed = columns === undefined ? rowsOf(inputs[0]!) : undefined;
  const rows = inputs[0]!.shape[0]!;
  return Array.from({ length: rows }, (_, r) =>
    Object.fromEntries(features.map((f, c) => [f, columns?.[c]![r] ?? packed![r]![c]])),
  );
}

function expectClose(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) =>
    expect(Math.abs(a - expected[i]!) / Math.max(1, Math.abs(expected[i]!))).toBeLessThanOrEqual(1e-5),
  );
}

function output(name: string, output: string): V2Tensor {
  return cases.get(name)!.outputs!.find((o) => o.name === output)!;
}

describe("models served by the model configuration their team wrote (model-config.json)", () => {
  const services = new Map<string, ServiceProcess>();
  /** Each model's prediction log (PREDICTION_LOG_PATH), flushed every 20 ms. */
  const logOf = (name: string) => path.join(workDir, `${name}.predictions.jsonl`);
  const serve = async (name: string) => {
    const started = await startServiceProcess({
      API_KEYS: `third-party:${API_KEY}`,
      PLINTH_REGISTRY_DIR: registryDir,
      MODEL_NAME: name,
      PREDICTION_LOG_PATH: logOf(name),
      PREDICTION_LOG_FLUSH_MS: "20",
    });
    services.set(name, started);
    return started;
  };
  afterAll(async () => {
    await Promise.all([...services.values()].map((s) => s.stop()));
  });
  /** The first `count` records of a model's prediction log, once written. */
  const predictionLog = async (name: string, count: number) => {
    for (let waited = 0; ; waited += 20) {
      const text = await readFile(logOf(name), "utf8").catch(() => "");
      const lines = text.split("\n").filter((l) => l !== "");
      if (lines.length >= count)
        return lines
          .slice(0, count)
          .map((l) => JSON.parse(l) as Record<string, unknown> & { confidence: number });
      if (waited > 5_000)
        throw new Error(`${name}: ${lines.length} of ${count} prediction log records after 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it("classifies iris instances by feature name (one packed input) as onnxruntime in Python does", async () => {
    const service = await serve("iris-forest");
    const instances = instancesOf(cases.get("iris-forest")!.inputs, IRIS_FEATURES);
    const res = await post(service, "/predict", { instances });
    expect(res.status).toBe(200);
    const probabilities = rowsOf(output("iris-forest", "probabilities"));
    const labels = output("iris-forest", "label").data as number[];
    expect(res.body.predictions).toHaveLength(instances.length);
    res.body.predictions.forEach((p, r) => {
      expectClose(p.probabilities!, probabilities[r] as number[]);
      expect(p.class_id).toBe(labels[r]);
      expect(p.label).toBe(IRIS_LABELS[labels[r]!]);
    });
    // The same rows as plain arrays in feature order give the same answers.
    const asRows = await post(service, "/predict", { inputs: rowsOf(cases.get("iris-forest")!.inputs[0]!) });
    expect(asRows.status).toBe(200);
    expect(asRows.body.predictions).toEqual(res.body.predictions);
    // Each row is in the prediction log, its input digested as float32 little-endian bytes: the
    // same row hashes the same whether it came as instances or as rows.
    const records = await predictionLog("iris-forest", 2 * instances.length);
    const first = rowsOf(cases.get("iris-forest")!.inputs[0]!)[0] as number[];
    const digest = createHash("sha256")
      .update(Buffer.from(Float32Array.from(first).buffer))
      .digest("hex");
    expect(records[0]).toMatchObject({
      id: res.body.prediction_id,
      row: 0,
      model: "iris-forest",
      version: "1",
    });
    expect(records[0]).toMatchObject({ label: res.body.predictions[0]!.label, input_sha256: digest });
    expect(records[0]!.confidence).toBeCloseTo(Math.max(...res.body.predictions[0]!.probabilities!), 5);
    expect(records[instances.length]).toMatchObject({ id: asRows.body.prediction_id, input_sha256: digest });
  }, 120_000);

  it("refuses malformed instances and rows with a 400 naming the row and the feature", async () => {
    const service = services.get("iris-forest")!;
    const good = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
    const { petal_width: _dropped, ...missing } = good;
    const refusals: [unknown, number, string][] = [
      [{ instances: [good, missing] }, 400, 'instances[1]: missing feature "petal_width"'],
      [
        { instances: [{ ...good, colour: 1 }] },
        400,
        'instances[0]: unknown feature "colour"; the features are sepal_length',
      ],
      [{ instances: [{ ...good, sepal_width: "wide" }] }, 400, '"wide"'],
      [{ instances: [[5.1, 3.5, 1.4, 0.2]] }, 400, "body/instances/0 must be object"],
      [{ instances: [] }, 400, "instances: no rows"],
      [{ inputs: [[5.1, 3.5, 1.4]] }, 400, "inputs[0]: expected 4 values, got 3"],
      [{ inputs: [5.1, 3.5, 1.4, 0.2], instances: [good] }, 400, "must match exactly one schema"],
    ];
    for (const [body, status, message] of refusals) {
      const res = await post(service, "/predict", body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.error.message).toContain(message);
    }
    const image = await post(service, "/predict-image", PNG_1X1, "image/png");
    expect(image.status).toBe(400);
    expect(image.body.error.message).toContain(
      'model "iris-forest" has no image input in its model configuration',
    );
  }, 60_000);

  it("answers a regression's value per row (FP64 features by name) as onnxruntime in Python does", async () => {
    const service = await serve("diabetes-ridge");
    const features = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"];
    const res = await post(service, "/predict", {
      instances: instancesOf(cases.get("diabetes-ridge")!.inputs, features),
    });
    expect(res.status).toBe(200);
    expectClose(
      res.body.predictions.map((p) => p.value!),
      output("diabetes-ridge", "variable").data as number[],
    );
    expect(res.body.predictions[0]).not.toHaveProperty("label");
    const records = await predictionLog("diabetes-ridge", res.body.predictions.length);
    expect(records.map((r) => r.value)).toEqual(res.body.predictions.map((p) => p.value));
    expect(records[0]).not.toHaveProperty("label");
  }, 120_000);

  it("fills one input per column (a string column and four floats) from instances", async () => {
    const service = await serve("iris-mixed");
    const instances = instancesOf(cases.get("iris-mixed")!.inputs, ["region", ...IRIS_FEATURES]);
    const res = await post(service, "/predict", { instances });
    expect(res.status).toBe(200);
    const probabilities = rowsOf(output("iris-mixed", "probabilities"));
    res.body.predictions.forEach((p, r) => expectClose(p.probabilities!, probabilities[r] as number[]));
    // The model's own string labels, from its label output, are the configured label names.
    expect(res.body.predictions.map((p) => p.label)).toEqual(output("iris-mixed", "label").data);
    const badRegion = await post(service, "/predict", { instances: [{ ...instances[0], region: 3 }] });
    expect(badRegion.status).toBe(400);
    expect(badRegion.body.error.message).toBe('instances[0]: feature "region": expected a string, got 3');
  }, 120_000);

  it("classifies a 24x32 colour PNG (BGR, NHWC, per-channel mean and std) as onnxruntime in Python does", async () => {
    const service = await serve("rgb-cnn");
    const rgb = await readFile(path.join(madeDir, "rgb-cnn", "pixels.rgb"));
    const png = await sharp(rgb, { raw: { width: 32, height: 24, channels: 3 } })
      .png()
      .toBuffer();
    const res = await post(service, "/predict-image", png, "image/png");
    expect(res.status).toBe(200);
    const expected = output("rgb-cnn", "probabilities").data as number[];
    expectClose(res.body.predictions[0]!.probabilities!, expected);
    const best = expected.indexOf(Math.max(...expected));
    expect(res.body.predictions[0]).toMatchObject({ class_id: best, label: ["a", "b", "c", "d", "e"][best] });
    // A larger upload is resized to the model's size; a greyscale one is expanded to three channels.
    const grey = await sharp(rgb, { raw: { width: 32, height: 24, channels: 3 } })
      .resize(64, 48)
      .greyscale()
      .png()
      .toBuffer();
    const resized = await post(service, "/predict-image", grey, "image/png");
    expect(resized.status).toBe(200);
    expect(resized.body.predictions[0]!.probabilities).toHaveLength(5);
    const rows = await post(service, "/predict", { inputs: [1, 2, 3] });
    expect(rows.status).toBe(400);
    expect(rows.body.error.message).toContain('model "rgb-cnn" takes no rows of values');
  }, 120_000);
});

describe("a scikit-learn classifier converted with ZipMap", () => {
  it("is refused at load with a message naming the converter option zipmap=False", async () => {
    const start = startServiceProcess({
      API_KEYS: `third-party:${API_KEY}`,
      PLINTH_REGISTRY_DIR: registryDir,
      MODEL_NAME: "iris-forest-zipmap",
    });
    await expect(start).rejects.toThrow(/output \\"output_probability\\" is not a tensor .*zipmap=False/);
  }, 120_000);
});
