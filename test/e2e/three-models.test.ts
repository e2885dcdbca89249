/**
 * A stack file of three models on the local stack (issue #21): Pulumi.staging.yaml with
 * plinth:inference replaced by THREE_MODELS (fashion-classifier on canary, churn on a single version,
 * defects on shadow), served from a registry folder made for the run (test/support/three-model-registry.ts)
 * by `startLocalStack({ stackFile, registryDir })`: one service process per model, the edge (Traefik,
 * the cluster's Gateway controller, with the routes and middlewares the cluster's are made of)
 * routing each model's paths to its process, Prometheus scraping each with the cluster's labels and
 * loading the rules built from that stack file. Everything is asked through the edge over TLS with
 * the run's CA, as a client would, and through Prometheus's HTTP API. (nginx's routing of the same
 * models: test/stack/local/nginx-model-operator-routes.test.ts.)
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inferenceServiceName, metricsServiceName } from "../../components/inference/names.js";
import { validateStackText } from "../../infra/promote/stack-file.js";
import { METRICS } from "../../service/contract/metrics.js";
import { FORCE_HEADER } from "../../service/rollout/engine.js";
import { stackRuleGroups } from "../../stack/local/prometheus-conf.js";
import { startLocalStack, type LocalStack } from "../../stack/local/stack.js";
import {
  CHURN_VERSION,
  makeThreeModelRegistry,
  writeThreeModelStackFile,
  type ThreeModelRegistry,
} from "../support/three-model-registry.js";
import { THREE_MODELS } from "../support/three-model-stack.js";
import { expectSignInRedirect, expectUnrouted } from "./edge.js";
import { recentLog } from "../support/recent-log.js";

const MODELS = Object.keys(THREE_MODELS);
const DEFAULT_MODEL = "fashion-classifier";
/** Each model's metrics Service in the cluster: its series' `service` label. */
const SERVICE_LABEL = Object.fromEntries(
  MODELS.map((model) => [model, metricsServiceName(inferenceServiceName(model, DEFAULT_MODEL))]),
);

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

interface PredictBody {
  prediction_id: string;
  model: { name: string; version: string; variant: string };
  predictions: { label: string; class_id: number; probabilities: number[] }[];
}

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

let workDir: string;
let registry: ThreeModelRegistry;
let stackFile: string;
let stack: LocalStack;
let ca: string;
const logLines: string[] = [];

/** One request through the edge over TLS, trusting only the run's CA, never following redirects. */
function call(
  urlPath: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      `${stack.origin}${urlPath}`,
      { method: init.method ?? "GET", headers: init.headers ?? {}, ca, agent: false },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body }));
      },
    );
    request.on("error", reject);
    request.end(init.body);
  });
}

function post(urlPath: string, body: unknown, contentType = "application/json"): Promise<Answer> {
  return call(urlPath, {
    method: "POST",
    headers: { "content-type": contentType, "x-api-key": stack.apiKey },
    body: Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
}

function churnInstances(): Record<string, number>[] {
  const { features, rows } = registry.churn;
  return rows.map((row) => Object.fromEntries(features.map((feature, i) => [feature, row[i]!])));
}

function expectClose(actual: readonly number[], expected: readonly number[], tolerance: number): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) =>
    expect(Math.abs(value - expected[i]!), `[${i}]`).toBeLessThanOrEqual(tolerance),
  );
}

async function promVector(expr: string): Promise<PromSample[]> {
  const response = await fetch(`${stack.urls.prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const data = (await response.json()) as { status: string; data: { result: PromSample[] } };
  if (data.status !== "success") throw new Error(`${expr}: ${JSON.stringify(data)}`);
  return data.data.result;
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after 30 s`);
    await sleep(250);
  }
}

/** Waits until Prometheus has scraped every model's process after `afterMs` (epoch ms). */
async function scrapedAfter(afterMs: number): Promise<void> {
  await until(
    "a scrape of every process",
    () => promVector(`timestamp(up{namespace="plinth"})`),
    (samples) =>
      MODELS.every((model) =>
        samples.some((s) => s.metric.service === SERVICE_LABEL[model] && Number(s.value[1]) * 1000 > afterMs),
      ),
  );
}

/** Each service label's total HTTP requests (0 for a process that has counted none yet). */
async function httpRequestsByService(): Promise<Record<string, number>> {
  const samples = await promVector(`sum by (service) (${METRICS.httpRequests.name}{namespace="plinth"})`);
  return Object.fromEntries(
    MODELS.map((model) => {
      const sample = samples.find((s) => s.metric.service === SERVICE_LABEL[model]);
      return [model, sample === undefined ? 0 : Number(sample.value[1])];
    }),
  );
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "plinth-three-models-"));
  registry = await makeThreeModelRegistry(workDir);
  stackFile = await writeThreeModelStackFile(workDir);
  stack = await startLocalStack({
    log: recentLog(logLines),
    scrapeIntervalSeconds: 1,
    stackFile,
    registryDir: registry.dir,
  });
  ca = await readFile(stack.caFile, "utf8");
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("one process per model", () => {
  it("starts a service process for each model of the stack file, the default model's first", async () => {
    const config = validateStackText(await readFile(stackFile, "utf8"), stackFile);
    expect(config.inference.shape).toBe("models");
    expect(Object.keys(config.inference.models)).toEqual(MODELS);
    expect(stack.defaultModel).toBe(DEFAULT_MODEL);
    expect(Object.keys(stack.services).sort()).toEqual([...MODELS].sort());
    const services = MODELS.map((model) => stack.services[model]!);
    expect(new Set(services.map((s) => s.pid)).size).toBe(3);
    expect(new Set(services.flatMap((s) => [s.port, s.metricsPort])).size).toBe(6);
    expect(stack.servicePid).toBe(stack.services[DEFAULT_MODEL]!.pid);
    expect(stack.ports.service).toBe(stack.services[DEFAULT_MODEL]!.port);
    expect(services.map((s) => s.metricsService)).toEqual(MODELS.map((model) => SERVICE_LABEL[model]));
    expect(SERVICE_LABEL).toEqual({
      "fashion-classifier": "plinth-inference-metrics",
      churn: "plinth-inference-churn-metrics",
      defects: "plinth-inference-defects-metrics",
    });
  });
});

describe("each model's paths reach its own process through the edge", () => {
  it("POST /models/churn/predict answers scikit-learn's probabilities and classes", async () => {
    const answer = await post("/models/churn/predict", { instances: churnInstances() });
    expect(answer.status, answer.body).toBe(200);
    const body = JSON.parse(answer.body) as PredictBody;
    expect(body.model).toMatchObject({ name: "churn", version: CHURN_VERSION, variant: "stable" });
    expect(answer.headers[FORCE_HEADER]).toBe("stable");
    expect(body.predictions).toHaveLength(registry.churn.rows.length);
    body.predictions.forEach((prediction, r) => {
      // float32 in ONNX, float64 in scikit-learn.
      expectClose(prediction.probabilities, registry.churn.probabilities[r]!, 1e-5);
      expect(prediction.class_id, `row ${r}`).toBe(registry.churn.predicted[r]);
      expect(prediction.label).toBe(registry.churn.labels[registry.churn.predicted[r]!]);
    });
  });

  it("POST /v2/models/churn/infer answers with model_name churn and scikit-learn's probabilities", async () => {
    const { rows, probabilities, predicted } = registry.churn;
    const answer = await post("/v2/models/churn/infer", {
      inputs: [{ name: "input", datatype: "FP32", shape: [rows.length, rows[0]!.length], data: rows.flat() }],
    });
    expect(answer.status, answer.body).toBe(200);
    const body = JSON.parse(answer.body) as {
      model_name: string;
      model_version: string;
      outputs: { name: string; data: number[] }[];
    };
    expect(body.model_name).toBe("churn");
    expect(body.model_version).toBe(CHURN_VERSION);
    expectClose(body.outputs.find((o) => o.name === "probabilities")!.data, probabilities.flat(), 1e-5);
    expect(body.outputs.find((o) => o.name === "label")!.data).toEqual(predicted);
  });

  it("POST /models/defects/predict-image classifies an RGB PNG as onnxruntime does", async () => {
    const answer = await post("/models/defects/predict-image", registry.defects.png, "image/png");
    expect(answer.status, answer.body).toBe(200);
    const body = JSON.parse(answer.body) as PredictBody;
    // Shadow: stable always answers; the candidate scores a copy off the response path.
    expect(body.model).toMatchObject({ name: "defects", version: "1", variant: "stable" });
    expect(answer.headers[FORCE_HEADER]).toBe("stable");
    const [prediction] = body.predictions;
    expectClose(prediction!.probabilities, registry.defects.probabilities, 1e-5);
    const best = registry.defects.probabilities.indexOf(Math.max(...registry.defects.probabilities));
    expect(prediction).toMatchObject({ class_id: best, label: registry.defects.labels[best] });
  });

  it("POST /predict and /models/fashion-classifier/predict answer the bundled model on its canary", async () => {
    const row = { inputs: Array.from({ length: 784 }, (_, i) => (i * 7) % 256) };
    const seen = new Map<string, string>();
    for (const urlPath of [
      ...Array<string>(30).fill("/predict"),
      ...Array<string>(10).fill("/models/fashion-classifier/predict"),
    ]) {
      const answer = await post(urlPath, row);
      expect(answer.status, `${urlPath}: ${answer.body}`).toBe(200);
      const body = JSON.parse(answer.body) as PredictBody;
      expect(body.model.name).toBe("fashion-classifier");
      expect(registry.fashionLabels).toContain(body.predictions[0]!.label);
      const variant = answer.headers[FORCE_HEADER] as string;
      expect(["stable", "candidate"]).toContain(variant);
      expect(body.model.variant).toBe(variant);
      // champion is version 1, challenger version 2.
      expect(body.model.version).toBe(variant === "stable" ? "1" : "2");
      seen.set(variant, urlPath);
    }
    // At weight 20, 40 requests all on one variant: p < 0.2 % (all stable) or ~0 (all candidate).
    expect([...seen.keys()].sort()).toEqual(["candidate", "stable"]);
  });

  it("answers a model no route lists with the edge's 404, and an unknown v2 model with the service's", async () => {
    expect(stack.edge).toBe("traefik");
    const nope = await post("/models/nope/predict", { instances: churnInstances() });
    expectUnrouted(stack.edge, nope, "/models/nope/predict");
    // /v2 is the default model's prefix: its process answers for a name it does not serve.
    const v2 = await post("/v2/models/nope/infer", {
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: registry.churn.rows[0] }],
    });
    expect(v2.status).toBe(404);
    expect(JSON.parse(v2.body)).toMatchObject({ error: { code: "MODEL_NOT_FOUND" } });
    expect(JSON.parse(v2.body).error.message).toContain("nope");
  });

  it("keeps /admin and each model's operator pages behind oauth2-proxy: no session, sent to sign in", async () => {
    const perModel = ["churn", "defects"].flatMap((model) => [
      `/models/${model}/admin`,
      `/models/${model}/ops/summary`,
    ]);
    for (const urlPath of ["/admin", "/ops/summary", ...perModel]) {
      const answer = await call(urlPath);
      expectSignInRedirect(stack.edge, answer, {
        origin: stack.origin,
        issuer: stack.urls.oidcIssuer,
        path: urlPath,
      });
    }
  });
});

describe("Prometheus sees each model's process under its own service label", () => {
  it("has plinth_model_info for each model, labelled with its service and namespace plinth", async () => {
    const variants = (samples: PromSample[], model: string) =>
      [...new Set(samples.filter((s) => s.metric.model === model).map((s) => s.metric.variant))].sort();
    // Canary and shadow load a candidate beside stable; single does not.
    const expected = {
      "fashion-classifier": ["candidate", "stable"],
      churn: ["stable"],
      defects: ["candidate", "stable"],
    };
    const info = await until(
      "plinth_model_info of every model's variants",
      () => promVector(METRICS.modelInfo.name),
      (samples) =>
        MODELS.every(
          (model) => variants(samples, model).length === expected[model as keyof typeof expected].length,
        ),
    );
    for (const model of MODELS) {
      expect(variants(info, model), model).toEqual(expected[model as keyof typeof expected]);
      for (const sample of info.filter((s) => s.metric.model === model)) {
        expect(sample.metric.service, model).toBe(SERVICE_LABEL[model]);
        expect(sample.metric.namespace, model).toBe("plinth");
      }
    }
  });

  it("counts churn's requests under churn's service only", async () => {
    await scrapedAfter(Date.now());
    const before = await httpRequestsByService();
    for (let i = 0; i < 4; i++) {
      const answer = await post("/models/churn/predict", { instances: churnInstances().slice(0, 1) });
      expect(answer.status).toBe(200);
    }
    await scrapedAfter(Date.now() + 100);
    const after = await httpRequestsByService();
    expect(after.churn! - before.churn!).toBe(4);
    expect(after["fashion-classifier"]).toBe(before["fashion-classifier"]);
    expect(after.defects).toBe(before.defects);
  });

  it("loads the alert rules built from the stack file: one drift alert, fashion-classifier's", async () => {
    const response = await fetch(`${stack.urls.prometheus}/api/v1/rules`);
    const data = (await response.json()) as {
      data: { groups: { name: string; rules: { name: string; query: string }[] }[] };
    };
    const expected = stackRuleGroups(validateStackText(await readFile(stackFile, "utf8"), stackFile));
    const names = (groups: { name: string; rules: { name: string }[] }[]) =>
      groups.flatMap((g) => g.rules.map((r) => `${g.name}/${r.name}`)).sort();
    expect(names(data.data.groups)).toEqual(
      names(
        expected.map((g) => ({
          name: g.name,
          rules: g.rules.map((r) => ({ name: "alert" in r ? r.alert : r.record })),
        })),
      ),
    );
    const drift = data.data.groups.flatMap((g) => g.rules).filter((r) => r.name === "PlinthDriftHigh");
    expect(drift).toHaveLength(1);
    expect(drift[0]!.query).toContain('model="fashion-classifier"');
    expect(drift[0]!.query).toContain("> 0.25");
    // staging's availability objective (0.995): the fast burn at 14.4x its 0.005 budget.
    const fastBurn = data.data.groups
      .flatMap((g) => g.rules)
      .find((r) => r.name === "PlinthAvailabilityBudgetBurnFast");
    expect(fastBurn?.query).toContain("> 0.072");
  });
});
