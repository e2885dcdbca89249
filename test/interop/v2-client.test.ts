/**
 * Protocol interop: the unmodified third-party Open Inference Protocol v2 client tritonclient[http]
 * (pinned, .tools/fuzz-venv), driven by v2_client.py, against the real service on the bundled
 * model. It reads server and model metadata and health, and scores the ~100 labelled sample PNGs as
 * JSON FP32, binary FP32 and binary UINT8 tensors; every row must get the class `/predict` gives it.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeToGray, DEFAULT_MAX_INPUT_PIXELS } from "../../service/image/decode.js";
import { SAMPLES_DIR, type SampleEntry } from "../../service/train/samples.js";
import { fuzzVenvProgram, runProgram } from "../support/fuzz-venv.js";
import { startServiceProcess, type ServiceProcess } from "../support/service-process.js";

const API_KEY = "interop-key-0123456789abcdef";
const DRIVER = path.join(import.meta.dirname, "v2_client.py");
/** Rows per request: within the default MAX_ROWS_PER_REQUEST (64) and not a divisor of 100. */
const BATCH = 30;

interface Scored {
  argmax: number[];
  shapes: number[][];
  model_versions: string[];
}

interface DriverOutput {
  server_live: boolean;
  server_ready: boolean;
  server_metadata: unknown;
  model_ready: boolean;
  model_version_ready: boolean;
  model_metadata: unknown;
  model_version_metadata: unknown;
  infer: Record<"json_FP32" | "binary_FP32" | "binary_UINT8", Scored>;
  unknown_model_error: { status: string; message: { code: string; message: string } } | null;
}

interface Prediction {
  label: string;
  class_id: number;
}

interface Metadata {
  model: { name: string; version: string };
  metadata: { input: { name: string; shape: number[] }; output: { name: string }; labels: string[] };
}

let service: ServiceProcess;
let workDir: string;
let samples: SampleEntry[];
let viaPredict: Prediction[];
let metadata: Metadata;
let driver: DriverOutput;

async function api<T>(url: string, body?: unknown): Promise<T> {
  const res = await fetch(`${service.url}${url}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "x-api-key": API_KEY, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

beforeAll(async () => {
  const python = fuzzVenvProgram("python");
  samples = JSON.parse(await readFile(path.join(SAMPLES_DIR, "labels.json"), "utf8"));
  const rows = await Promise.all(
    samples.map(async (s) =>
      Array.from(
        await decodeToGray(await readFile(path.join(SAMPLES_DIR, s.file)), {
          width: 28,
          height: 28,
          maxPixels: DEFAULT_MAX_INPUT_PIXELS,
        }),
      ),
    ),
  );
  service = await startServiceProcess({ API_KEYS: `interop:${API_KEY}` });
  metadata = await api<Metadata>("/metadata");
  viaPredict = [];
  for (let start = 0; start < rows.length; start += BATCH) {
    const body = await api<{ predictions: Prediction[] }>("/predict", {
      inputs: rows.slice(start, start + BATCH),
    });
    viaPredict.push(...body.predictions);
  }

  workDir = await mkdtemp(path.join(tmpdir(), "plinth-v2-client-"));
  const rowsFile = path.join(workDir, "rows.json");
  await writeFile(rowsFile, JSON.stringify({ rows }));
  const run = await runProgram(
    python,
    [DRIVER, new URL(service.url).host, metadata.model.name, rowsFile, "--batch", String(BATCH)],
    { env: { PATH: process.env.PATH, PLINTH_API_KEY: API_KEY }, timeoutMs: 120_000 },
  );
  if (run.code !== 0) throw new Error(`v2_client.py exited ${run.code}:\n${run.stderr}`);
  driver = JSON.parse(run.stdout);
}, 180_000);

afterAll(async () => {
  await service?.stop();
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

describe("tritonclient[http] against /v2", () => {
  it("reads server health and metadata", () => {
    expect(driver.server_live).toBe(true);
    expect(driver.server_ready).toBe(true);
    expect(driver.server_metadata).toEqual({ name: "plinth", version: "0.1.0", extensions: [] });
  });

  it("reads model readiness and metadata: name, version, tensor names, datatypes and shapes", () => {
    const { input, output, labels } = metadata.metadata;
    const expected = {
      name: "fashion-classifier",
      versions: [metadata.model.version],
      platform: "onnxruntime_onnx",
      inputs: [{ name: input.name, datatype: "FP32", shape: [-1, ...input.shape] }],
      outputs: [{ name: output.name, datatype: "FP32", shape: [-1, labels.length] }],
    };
    expect(expected.inputs[0]!.shape).toEqual([-1, 1, 28, 28]);
    expect(driver.model_ready).toBe(true);
    expect(driver.model_version_ready).toBe(true);
    expect(driver.model_metadata).toEqual(expected);
    expect(driver.model_version_metadata).toEqual(expected);
  });

  it.each(["json_FP32", "binary_FP32", "binary_UINT8"] as const)(
    "scores every sample PNG as %s tensors with the class /predict gives it",
    (kind) => {
      const scored = driver.infer[kind];
      expect(samples.length).toBe(100);
      expect(scored.shapes).toEqual([
        [30, 10],
        [30, 10],
        [30, 10],
        [10, 10],
      ]);
      expect(scored.model_versions).toEqual([metadata.model.version]);
      expect(scored.argmax).toEqual(viaPredict.map((p) => p.class_id));
      expect(scored.argmax.map((c) => metadata.metadata.labels[c])).toEqual(viaPredict.map((p) => p.label));
    },
  );

  it("scores the samples as labelled (the rows reach the model intact)", () => {
    const correct = viaPredict.filter((p, i) => p.class_id === samples[i]!.label).length;
    expect(correct).toBeGreaterThanOrEqual(85);
  });

  it("reports an unknown model as the client's exception with status 404 and the error code", () => {
    expect(driver.unknown_model_error?.status).toBe("404");
    expect(driver.unknown_model_error?.message.code).toBe("MODEL_NOT_FOUND");
    expect(driver.unknown_model_error?.message.message).toBe('model "no-such-model" is not served here');
  });
});
