/**
 * Third-party models served with no plinth metadata (issue 20): a scikit-learn pipeline (scaler +
 * random forest) converted by skl2onnx with zipmap=False, a double-precision and a single-precision
 * regression, a ColumnTransformer over a string column and four float columns (string labels),
 * and a graph of every protocol datatype. Each is made at test time, served by the real service
 * process from a local registry folder, and scored through plain HTTP and through the unmodified
 * tritonclient[http] (JSON and binary tensors); every output must equal onnxruntime-in-Python's on
 * the same inputs (floats within 1e-5, relative above 1; integers, booleans and strings exactly).
 * The same classifier converted with ZipMap is refused at load, naming the converter option.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzzVenvProgram, runProgram } from "../support/fuzz-venv.js";
import { startServiceProcess, type ServiceProcess } from "../support/service-process.js";
import { makeThirdPartyModels, type ModelCase, type V2Tensor } from "../support/third-party-models.js";

const API_KEY = "third-party-key-0123456789abcdef";
const DRIVER = path.join(import.meta.dirname, "v2_tensors_client.py");
const SERVED = ["iris-forest", "diabetes-ridge", "diabetes-forest", "iris-mixed", "all-types"] as const;
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
let cases: Map<string, ModelCase>;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), "plinth-third-party-"));
  ({ registryDir, cases } = await makeThirdPartyModels(workDir));
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

  it("says that the plinth-only endpoints need plinth metadata, with a 400 naming the model", async () => {
    const res = await fetch(`${service.url}/predict`, {
      method: "POST",
      headers: { "x-api-key": API_KEY, "content-type": "application/json" },
      body: JSON.stringify({ inputs: [0, 0, 0, 0] }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.message).toContain(`/predict is not available for model "${name}" version 1`);
    expect(body.error.message).toContain("no plinth metadata");
  });
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
