/**
 * A model logged with `mlflow.onnx.log_model` serves from `models:/<name>@champion` with no plinth
 * file (issue 20): a real MLflow server (the pinned mlflow, .tools/mlflow-venv), models logged by
 * test/support/mlflow-onnx-models.py with MLflow's own Python client (signature, input example,
 * `metadata={"plinth": ...}`, registered, alias champion, no plinth tag), and the real service
 * process. The version's MLmodel names the ONNX file; the service caches it as model.onnx with
 * MLmodel beside it, and reads the model configuration from MLmodel.
 *
 * Integrity: the untagged version is refused by default with a message naming both ways out; it
 * serves with MODEL_ALLOW_UNTAGGED=true (and a warning naming it unverified); it serves without the
 * setting once the data scientist tags it as the message says. Outputs equal onnxruntime in Python
 * over /v2 (plain HTTP and tritonclient JSON and binary) and /predict. A model of another flavor
 * and an ONNX model with external tensor data are refused, naming why.
 *
 * One MLflow server for the file; the tests run in order (the tag is set half-way).
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowClient, tagsOf } from "../../service/mlflow/client.js";
import { MlflowModelRegistry } from "../../service/registry/mlflow-model-registry.js";
import { modelConfigFromMlmodel } from "../../service/registry/mlflow-model-file.js";
import { ModelCache } from "../../service/registry/model-cache.js";
import { CONFIG_SHA256_TAG, RegistryError, SHA256_TAG } from "../../service/registry/registry.js";
import { fuzzVenvProgram, runProgram } from "../support/fuzz-venv.js";
import { MlflowServer, runPython, VENV_PYTHON } from "../support/mlflow-server.js";
import { REPO_ROOT, startServiceProcess, type ServiceProcess } from "../support/service-process.js";
import type { ModelCase, V2Tensor } from "../support/third-party-models.js";

const SLOW = 300_000;
const API_KEY = "mlflow-onnx-key-0123456789abcdef";
const NAME = "iris-onnx-flavor";
const MAKER = path.join(REPO_ROOT, "test", "support", "mlflow-onnx-models.py");
const DRIVER = path.join(import.meta.dirname, "v2_tensors_client.py");
const FIXTURES = path.join(REPO_ROOT, "test", "service", "registry", "fixtures", "mlmodel");
const LABELS = ["setosa", "versicolor", "virginica"];
const FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"];

interface Registered {
  readonly version: string;
  readonly artifact_uri: string;
}

let server: MlflowServer;
let client: MlflowClient;
let tmp: string;
let registered: Record<"iris-onnx-flavor" | "digits-onnx-external" | "iris-sklearn-flavor", Registered>;
let modelCase: ModelCase;
let caseFile: string;
let caches = 0;

beforeAll(async () => {
  server = await MlflowServer.start();
  client = new MlflowClient({ trackingUri: server.url, retry: { attempts: 2, initialDelayMs: 50 } });
  tmp = await mkdtemp(path.join(tmpdir(), "plinth-mlflow-onnx-"));
  const made = path.join(tmp, "made");
  const run = await runProgram(VENV_PYTHON, [MAKER, made], {
    env: { PATH: process.env.PATH, MLFLOW_TRACKING_URI: server.url },
    timeoutMs: 240_000,
  });
  if (run.code !== 0) throw new Error(`mlflow-onnx-models.py exited ${run.code}:\n${run.stderr}`);
  registered = JSON.parse(run.stdout.trim().split("\n").pop()!) as typeof registered;
  caseFile = path.join(made, "case.json");
  modelCase = JSON.parse(await readFile(caseFile, "utf8")) as ModelCase;
}, SLOW);

afterAll(async () => {
  await server?.dispose();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
}, SLOW);

/** A file of a registered model as the artifact proxy stores it (`--artifacts-destination`). */
function artifact(name: keyof typeof registered, file = ""): string {
  const folder = registered[name].artifact_uri.replace(/^mlflow-artifacts:\/*/, "");
  return path.join(server.artifactsDir, folder, file);
}

async function sha256Of(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
}

function serviceEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    API_KEYS: `mlflow-onnx:${API_KEY}`,
    MLFLOW_TRACKING_URI: server.url,
    MODEL_NAME: NAME,
    MODEL_STABLE: `models:/${NAME}@champion`,
    MODEL_CACHE_DIR: path.join(tmp, `cache-${++caches}`),
    ...extra,
  };
}

/** The pino lines of a service's output, parsed (other lines skipped). */
function logLines(output: string): Record<string, unknown>[] {
  return output.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** Every float within 1e-5 of the reference (relative above 1); everything else exactly. */
function expectTensor(actual: { datatype: string; shape: number[]; data: unknown[] }, want: V2Tensor): void {
  expect([actual.datatype, actual.shape]).toEqual([want.datatype, want.shape]);
  if (want.datatype !== "FP32") {
    expect(actual.data).toEqual(want.data);
    return;
  }
  const off = want.data.map(
    (w, i) => Math.abs((actual.data[i] as number) - (w as number)) / Math.max(1, Math.abs(w as number)),
  );
  expect(actual.data).toHaveLength(want.data.length);
  expect(Math.max(...off)).toBeLessThanOrEqual(1e-5);
}

async function infer(service: ServiceProcess): Promise<{ status: number; outputs: V2Tensor[] }> {
  const res = await fetch(`${service.url}/v2/models/${NAME}/infer`, {
    method: "POST",
    headers: { "x-api-key": API_KEY, "content-type": "application/json" },
    body: JSON.stringify({ inputs: modelCase.inputs }),
  });
  return { status: res.status, outputs: ((await res.json()) as { outputs: V2Tensor[] }).outputs };
}

let refusal = "";

describe("a model logged with mlflow.onnx.log_model, without plinth's sha256 tag", () => {
  it(
    "is refused by default, the message naming the version and both ways out (the tag, or MODEL_ALLOW_UNTAGGED)",
    async () => {
      const version = registered[NAME].version;
      const err = (await startServiceProcess(serviceEnv()).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      const failed = logLines(err.message).find((l) => l.code === "CHECKSUM_MISMATCH");
      expect(failed, err.message).toBeDefined();
      refusal = failed!.err as string;
      expect(refusal).toContain(
        `${NAME} version ${version} in MLflow ${server.url} has no ${SHA256_TAG} tag (the sha256 hex of its model.onnx, or of the ONNX file its MLmodel names); refusing an unverifiable model`,
      );
      expect(refusal).toContain(
        `MlflowClient().set_model_version_tag("${NAME}", "${version}", "${SHA256_TAG}", hashlib.sha256(`,
      );
      expect(refusal).toContain(
        "or set MODEL_ALLOW_UNTAGGED=true to serve versions without the tag unverified",
      );
    },
    SLOW,
  );

  describe("served with MODEL_ALLOW_UNTAGGED=true", () => {
    let service: ServiceProcess;
    let cacheDir: string;

    beforeAll(async () => {
      // The alias watcher polls every 100 ms: each pass resolves the version again.
      const env = serviceEnv({ MODEL_ALLOW_UNTAGGED: "true", MODEL_WATCH_INTERVAL_MS: "100" });
      cacheDir = env.MODEL_CACHE_DIR!;
      service = await startServiceProcess(env, 120_000);
    }, SLOW);

    afterAll(async () => {
      await service?.stop();
    });

    it("warns that the version is unverified, naming it and the sha256 computed on download", async () => {
      const sha256 = await sha256Of(artifact(NAME, "model.onnx"));
      const warning = logLines(service.output.join("")).find((l) => l.setting === "MODEL_ALLOW_UNTAGGED");
      expect(warning).toMatchObject({
        level: 40,
        model: NAME,
        version: registered[NAME].version,
        sha256,
        msg: `${NAME} version ${registered[NAME].version} in MLflow ${server.url} has no ${SHA256_TAG} tag: serving it unverified (MODEL_ALLOW_UNTAGGED=true); sha256 of its model computed on download: ${sha256}`,
      });
    });

    it("downloads and warns once: the watcher's passes reuse what this process hashed", async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const warnings = logLines(service.output.join("")).filter((l) => l.setting === "MODEL_ALLOW_UNTAGGED");
      expect(warnings).toHaveLength(1);
    });

    it("caches the ONNX file the MLmodel names as model.onnx, with MLmodel beside it", async () => {
      const dir = new ModelCache(cacheDir).versionDir(server.url, NAME, registered[NAME].version);
      expect((await readdir(dir)).sort()).toEqual(["MLmodel", "model.onnx"]);
      const mlmodel = await readFile(path.join(dir, "MLmodel"), "utf8");
      expect(mlmodel).toBe(await readFile(artifact(NAME, "MLmodel"), "utf8"));
      expect(await readFile(path.join(dir, "model.onnx"))).toEqual(
        await readFile(artifact(NAME, "model.onnx")),
      );
      // The flavor's file name, the signature's columns and metadata.plinth, as mlflow 3.17.2 wrote them.
      expect(mlmodel).toMatch(/^ {2}onnx:\n(?: {4}.*\n)*? {4}data: model\.onnx$/m);
      expect(modelConfigFromMlmodel(mlmodel, "MLmodel")).toEqual({
        schemaVersion: 1,
        task: "classification",
        labels: LABELS,
        input: { features: FEATURES },
        output: { kind: "probabilities" },
      });
    });

    it("reads the same configuration from the kept fixture as from the MLmodel the pinned mlflow writes", async () => {
      const fixture = await readFile(path.join(FIXTURES, "column-signature-plinth-metadata.MLmodel"), "utf8");
      const live = await readFile(artifact(NAME, "MLmodel"), "utf8");
      expect(modelConfigFromMlmodel(fixture, "fixture")).toEqual(modelConfigFromMlmodel(live, "live"));
      const versionLine = /^mlflow_version: .*$/m;
      expect(fixture.match(versionLine)![0]).toBe(live.match(versionLine)![0]);
    });

    it("answers /v2 with the graph's tensors, as onnxruntime in Python does", async () => {
      const res = await infer(service);
      expect(res.status).toBe(200);
      const expected = modelCase.outputs!;
      expect(res.outputs.map((o) => o.name)).toEqual(expected.map((o) => o.name));
      res.outputs.forEach((o, i) => expectTensor(o, expected[i]!));
    });

    it("answers tritonclient's JSON and binary tensors as onnxruntime in Python does", async () => {
      const run = await runProgram(
        fuzzVenvProgram("python"),
        [DRIVER, new URL(service.url).host, NAME, caseFile],
        {
          env: { PATH: process.env.PATH, PLINTH_API_KEY: API_KEY },
          timeoutMs: 120_000,
        },
      );
      expect(run.code, run.stderr).toBe(0);
      const read = JSON.parse(run.stdout) as {
        model_ready: boolean;
        json: Record<string, V2Tensor>;
        binary: Record<string, V2Tensor>;
      };
      expect(read.model_ready).toBe(true);
      for (const kind of ["json", "binary"] as const) {
        for (const want of modelCase.outputs!) expectTensor(read[kind][want.name]!, want);
      }
    });

    it("answers /predict with named features (the signature's columns) and labels (metadata.plinth)", async () => {
      const input = modelCase.inputs[0]!;
      const rows = input.shape[0]!;
      const instances = Array.from({ length: rows }, (_, r) =>
        Object.fromEntries(FEATURES.map((f, c) => [f, input.data[r * FEATURES.length + c]])),
      );
      const res = await fetch(`${service.url}/predict`, {
        method: "POST",
        headers: { "x-api-key": API_KEY, "content-type": "application/json" },
        body: JSON.stringify({ instances }),
      });
      const body = (await res.json()) as {
        model: { name: string; version: string };
        predictions: { label: string; class_id: number; probabilities: number[] }[];
      };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.model).toMatchObject({ name: NAME, version: registered[NAME].version });
      const [labels, probabilities] = modelCase.outputs!;
      expect(body.predictions.map((p) => p.class_id)).toEqual(labels!.data);
      expect(body.predictions.map((p) => p.label)).toEqual(labels!.data.map((c) => LABELS[c as number]));
      expectTensor(
        {
          datatype: "FP32",
          shape: probabilities!.shape,
          data: body.predictions.flatMap((p) => p.probabilities),
        },
        probabilities!,
      );
    });
  });

  it(
    "serves without the setting once the data scientist tags the version as the refusal says",
    async () => {
      // The statements that tag the ONNX file and the MLmodel (the configuration the service reads).
      const snippet = /e\.g\. with MLflow's Python client: (.*\.hexdigest\(\)\)); or set/.exec(refusal)?.[1];
      expect(snippet, refusal).toBeDefined();
      await runPython(`import hashlib, os, mlflow\nfrom mlflow import MlflowClient\n${snippet}`, {
        MLFLOW_TRACKING_URI: server.url,
      });
      const tags = tagsOf(await client.getModelVersion(NAME, registered[NAME].version));
      expect(tags[SHA256_TAG]).toBe(await sha256Of(artifact(NAME, "model.onnx")));
      expect(tags[CONFIG_SHA256_TAG]).toBe(await sha256Of(artifact(NAME, "MLmodel")));
      const service = await startServiceProcess(serviceEnv(), 120_000);
      try {
        const res = await infer(service);
        expect(res.status).toBe(200);
        res.outputs.forEach((o, i) => expectTensor(o, modelCase.outputs![i]!));
        expect(logLines(service.output.join("")).some((l) => l.setting === "MODEL_ALLOW_UNTAGGED")).toBe(
          false,
        );
      } finally {
        await service.stop();
      }
    },
    SLOW,
  );
});

describe("what the MLflow registry refuses, untagged versions allowed", () => {
  const fetchError = async (name: keyof typeof registered) => {
    const registry = new MlflowModelRegistry(client, new ModelCache(path.join(tmp, `cache-${++caches}`)), {
      allowUntagged: true,
    });
    return (await registry.fetch(name, registered[name].version).catch((e: unknown) => e)) as RegistryError;
  };

  it("an ONNX model with external tensor data, naming its files and save_as_external_data=False", async () => {
    const data = (await readdir(artifact("digits-onnx-external"))).filter((f) => f.endsWith(".data"));
    expect(data).toHaveLength(1);
    const err = await fetchError("digits-onnx-external");
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.code).toBe("UNSUPPORTED_MODEL");
    expect(err.message).toBe(
      `digits-onnx-external version ${registered["digits-onnx-external"].version} in MLflow ${server.url}: ` +
        `model.onnx keeps tensors in external files (${data[0]}); plinth serves one self-contained ONNX file: ` +
        `log it with mlflow.onnx.log_model(..., save_as_external_data=False) or save it with onnx.save_model(model, path, save_as_external_data=False)`,
    );
  });

  it("a model of another flavor (mlflow.sklearn), naming its flavors", async () => {
    const err = await fetchError("iris-sklearn-flavor");
    expect(err.code).toBe("UNSUPPORTED_MODEL");
    expect(err.message).toBe(
      `iris-sklearn-flavor version ${registered["iris-sklearn-flavor"].version} in MLflow ${server.url}: MLmodel: ` +
        `the model has no "onnx" flavor (flavors: python_function, sklearn); plinth serves ONNX models: ` +
        `convert the model to ONNX and log it with mlflow.onnx.log_model`,
    );
  });

  it("a version whose tag is present but wrong: the setting never skips a check", async () => {
    const version = registered[NAME].version;
    const wrong = "0".repeat(64);
    await client.setModelVersionTag(NAME, version, SHA256_TAG, wrong);
    const err = await fetchError(NAME);
    expect(err.code).toBe("CHECKSUM_MISMATCH");
    expect(err.message).toBe(
      `${NAME} version ${version} in MLflow ${server.url}: sha256 of model.onnx is ${await sha256Of(artifact(NAME, "model.onnx"))} but the version's ${SHA256_TAG} tag says ${wrong}; refusing it`,
    );
  });
});
