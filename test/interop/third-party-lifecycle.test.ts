/**
 * Issue 20's last acceptance point: auth, the error envelope, metrics, the prediction log, drift's
 * refusal, hot reload, canary routing with its force header, blue-green colours and the SIGTERM
 * drain hold for a third-party model with no plinth metadata, not only for the bundled one.
 *
 * The model is scikit-learn's iris classifier converted by skl2onnx (version 1) and its XGBoost
 * retraining converted by onnxmltools (version 2), each with the model-config.json its team wrote
 * (feature names and labels), made at test time by test/support/third-party-models.py. Every
 * answer is compared with onnxruntime-in-Python's on the same rows, so a response that names a
 * version must also carry that version's probabilities (the versions differ by far more than the
 * 1e-5 tolerance on the rows used). Each process is the real service (`node dist/service/main.js`, compiled as the image runs it).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sumSamples } from "../../bench/stats/prometheus-text.js";
import { METRICS, type MetricKey } from "../../service/contract/metrics.js";
import { ERROR_STATUS, type ErrorCode } from "../../service/errors/codes.js";
import { DRIFT_NEEDS_METADATA } from "../../service/ops/summary.js";
import type { PredictionRecord } from "../../service/prediction-log/log.js";
import { LocalRegistry } from "../../service/registry/local.js";
import { CanaryBuckets } from "../../service/rollout/buckets.js";
import { FORCE_HEADER } from "../../service/rollout/engine.js";
import {
  instanceOf,
  IRIS_LABELS,
  IRIS_MODEL,
  makeIrisVersions,
  type IrisVersion,
  type IrisVersions,
} from "../support/iris-versions.js";
import { startServiceProcess, type ServiceProcess } from "../support/service-process.js";

/** One key per kind of caller; roles from API_KEY_ROLES. */
const KEYS = {
  admin: "lifecycle-admin-key-0123456789",
  reader: "lifecycle-reader-key-0123456789",
  caller: "lifecycle-caller-key-0123456789",
  forcer: "lifecycle-forcer-key-0123456789",
} as const;
const AUTH_ENV = {
  API_KEYS: Object.entries(KEYS)
    .map(([identity, key]) => `${identity}:${key}`)
    .join(","),
  API_KEY_ROLES: "admin:admin,reader:ops-read,forcer:force-variant",
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Probabilities are compared with onnxruntime-in-Python's within this. */
const TOLERANCE = 1e-5;
/** Rows whose probabilities differ between the versions by more than this tell them apart. */
const VERSIONS_APART = 1e-3;
const CANARY_WEIGHT = 30;
/** The canary's bucket key (ROLLOUT_BUCKET_KEY), so the test knows which callers land on the candidate. */
const BUCKET_KEY = "third-party-lifecycle-bucket-key-0123456789";
const CANARY_CALLERS = 400;

interface Prediction {
  label: string;
  class_id: number;
  probabilities: number[];
}

/** Any answer of the service: a prediction, a v2 inference, an error envelope, or another JSON body. */
interface Body {
  prediction_id: string;
  model: { name: string; version: string; variant: string; reference: string };
  predictions: Prediction[];
  model_name: string;
  model_version: string;
  id: string;
  outputs: { name: string; data: number[] }[];
  error: { code: string; message: string; requestId: string };
  [member: string]: unknown;
}

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Body;
}

let workDir: string;
let iris: IrisVersions;
/** Reference rows the two versions answer measurably differently (every one of the 25 so far). */
let apart: number[];

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), "plinth-lifecycle-"));
  iris = await makeIrisVersions(workDir);
  apart = iris.rows
    .map((_, r) => r)
    .filter((r) => {
      const [one, two] = [iris.expected["1"][r]!, iris.expected["2"][r]!];
      return (
        Math.max(...one.probabilities.map((p, c) => Math.abs(p - two.probabilities[c]!))) > VERSIONS_APART
      );
    });
}, 240_000);

afterAll(async () => {
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

/** A request with `key` (none or empty: anonymous); a `body` is sent as JSON with POST. */
async function send(
  service: ServiceProcess,
  route: string,
  options: { key?: string; body?: unknown; method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers["x-api-key"] = options.key;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${service.url}${route}`, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Body };
}

/** `/predict` of reference rows, as named features (`instances`) or as rows of values (`inputs`). */
function predict(
  service: ServiceProcess,
  rows: readonly number[],
  options: { form?: "instances" | "inputs"; key?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const picked = rows.map((r) => iris.rows[r]!);
  const body = options.form === "inputs" ? { inputs: picked } : { instances: picked.map(instanceOf) };
  return send(service, "/predict", { key: options.key ?? KEYS.caller, body, headers: options.headers ?? {} });
}

/** `/v2/models/iris-forest[/versions/<v>]/infer` of reference rows as one FP32 `[N, 4]` tensor. */
function infer(
  service: ServiceProcess,
  rows: readonly number[],
  options: { key?: string; version?: string } = {},
): Promise<Reply> {
  const versioned = options.version === undefined ? "" : `/versions/${options.version}`;
  const data = rows.flatMap((r) => iris.rows[r]!);
  const tensor = { name: iris.tensor.name, datatype: "FP32", shape: [rows.length, 4], data };
  return send(service, `/v2/models/${IRIS_MODEL}${versioned}/infer`, {
    key: options.key ?? KEYS.caller,
    body: { inputs: [tensor] },
  });
}

function expectProbabilities(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  const worst = Math.max(...actual.map((p, c) => Math.abs(p - expected[c]!)));
  expect(worst).toBeLessThanOrEqual(TOLERANCE);
}

/**
 * A 200 from `/predict` or `/v2` answering `rows` as `version` answers them (onnxruntime in Python),
 * naming the version, and carrying its prediction id and the answering variant in its headers.
 */
function expectAnswer(reply: Reply, version: IrisVersion, rows: readonly number[]): void {
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  const expected = rows.map((r) => iris.expected[version][r]!);
  const { body } = reply;
  if (body.outputs === undefined) {
    expect(body.model).toMatchObject({ name: IRIS_MODEL, version });
    expect(reply.headers.get("x-prediction-id")).toBe(body.prediction_id);
    expect(reply.headers.get(FORCE_HEADER)).toBe(body.model.variant);
    expect(body.predictions.map((p) => [p.class_id, p.label])).toEqual(
      expected.map((e) => [e.classId, IRIS_LABELS[e.classId]]),
    );
    body.predictions.forEach((p, i) => expectProbabilities(p.probabilities, expected[i]!.probabilities));
    return;
  }
  expect({ name: body.model_name, version: body.model_version }).toEqual({ name: IRIS_MODEL, version });
  expect(reply.headers.get("x-prediction-id")).toBe(body.id);
  const output = (name: string) => body.outputs.find((o) => o.name === name)!.data;
  expect(output("label")).toEqual(expected.map((e) => e.classId));
  expectProbabilities(
    output("probabilities"),
    expected.flatMap((e) => e.probabilities),
  );
}

/** The error envelope, exactly, with the code's status and a fresh request id; returns the id. */
function expectEnvelope(reply: Reply, code: ErrorCode, ...fragments: string[]): string {
  expect(reply.status, JSON.stringify(reply.body)).toBe(ERROR_STATUS[code]);
  expect(reply.body).toEqual({
    error: { code, message: expect.any(String), requestId: expect.stringMatching(UUID) },
  });
  for (const fragment of fragments) expect(reply.body.error.message).toContain(fragment);
  return reply.body.error.requestId;
}

async function scrape(service: ServiceProcess): Promise<string> {
  const res = await fetch(`${service.metricsUrl}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/**
 * The sum of a contract metric's samples with all of `labels` (a counter's total, a gauge's value;
 * a histogram's observations with `series` "_count").
 */
function total(
  exposition: string,
  metric: MetricKey,
  labels: Record<string, string> = {},
  series: "" | "_count" = "",
): number {
  return sumSamples(exposition, `${METRICS[metric].name}${series}`, labels);
}

/** Runs `task` over `items`, `parallel` at a time; results in the items' order. */
async function inParallel<T, R>(
  items: readonly T[],
  parallel: number,
  task: (item: T, index: number) => Promise<R>,
) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await task(items[i]!, i);
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return results;
}

/** Polls `condition` every 20 ms; throws `what` after `timeoutMs`. */
async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000) {
  for (const start = Date.now(); !(await condition());) {
    if (Date.now() - start > timeoutMs) throw new Error(`after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Drift's refusal for the served `version`: `/metadata`'s capabilities say drift is not supported,
 * naming the model and why, the ops summary's drift section gives the same reason, with no window,
 * score or history, and the capability gauge says 0 for drift (1 for /predict, so the series exist).
 */
async function expectDriftRefused(service: ServiceProcess, version: IrisVersion): Promise<void> {
  const metadata = await send(service, "/metadata", { key: KEYS.caller });
  const drift = (metadata.body.capabilities as { drift: { supported: boolean; reason: string } }).drift;
  expect(drift).toEqual({ supported: false, reason: expect.any(String) });
  expect(drift.reason).toContain(`model "${IRIS_MODEL}" version ${version} has no plinth metadata`);
  expect(drift.reason).toContain("not monitored");
  const summary = await send(service, "/ops/summary", { key: KEYS.reader });
  expect(summary.status).toBe(200);
  expect(summary.body.drift).toMatchObject({
    unsupported: drift.reason,
    baseline: DRIFT_NEEDS_METADATA,
    score: null,
    level: null,
    samples: 0,
    history: [],
  });
  const exposition = await scrape(service);
  const capability = (name: string) =>
    total(exposition, "modelCapability", {
      model: IRIS_MODEL,
      model_version: version,
      variant: "stable",
      capability: name,
    });
  expect([capability("drift"), capability("predict")]).toEqual([0, 1]);
  expect(exposition).toMatch(
    new RegExp(`${METRICS.modelCapability.name}\\{[^}]*capability="drift"[^}]*\\} 0`),
  );
}

/**
 * The real service serving iris-forest from the two-version registry with the test's keys and
 * `env` (read once the models are made), started before the enclosing describe's tests and stopped
 * after them.
 */
function serveIris(env: () => Record<string, string>): () => ServiceProcess {
  let service: ServiceProcess | undefined;
  beforeAll(async () => {
    service = await startServiceProcess({
      ...AUTH_ENV,
      PLINTH_REGISTRY_DIR: iris.registryDir,
      MODEL_NAME: IRIS_MODEL,
      ...env(),
    });
  });
  afterAll(async () => {
    await service?.stop();
  });
  return () => service!;
}

describe("iris-forest with no plinth metadata, one process (blue, version 1)", () => {
  const logPath = () => path.join(workDir, "predictions.jsonl");
  /** Every /predict 200 this process gave: the prediction log must hold exactly their rows. */
  const predicted = new Map<string, { version: string; rows: number[] }>();
  const logged = async (reply: Promise<Reply>, rows: readonly number[]) => {
    const answered = await reply;
    if (answered.status === 200 && answered.body.prediction_id !== undefined)
      predicted.set(answered.body.prediction_id, { version: answered.body.model.version, rows: [...rows] });
    return answered;
  };
  const readLog = async () =>
    (await readFile(logPath(), "utf8").catch(() => ""))
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as PredictionRecord);

  const serving = serveIris(() => ({
    DEPLOYMENT_COLOR: "blue",
    PREDICTION_LOG_PATH: logPath(),
    PREDICTION_LOG_FLUSH_MS: "20",
  }));
  let blue: ServiceProcess;
  beforeAll(() => {
    blue = serving();
  });
  const predictBody = (body: unknown) => send(blue, "/predict", { key: KEYS.caller, body });

  it("serves version 1 (champion) as onnxruntime in Python does, and reports its blue colour", async () => {
    // The two versions answer most reference rows measurably differently.
    expect(apart.length).toBeGreaterThanOrEqual(12);
    const rows = [0, 12, 24];
    expectAnswer(await logged(predict(blue, rows), rows), "1", rows);
    expectAnswer(await infer(blue, rows), "1", rows);
    const metadata = await send(blue, "/metadata", { key: KEYS.caller });
    expect(metadata.body).toMatchObject({
      model: { name: IRIS_MODEL, version: "1", reference: "champion" },
      metadata: null,
      configuration: { task: "classification", labels: IRIS_LABELS },
      deployment: { color: "blue" },
    });
  });

  it("refuses /predict and /v2 without a key, or with a wrong one, with a 401 in the envelope", async () => {
    const before = await scrape(blue);
    const rows = [0];
    for (const reply of [await predict(blue, rows, { key: "" }), await infer(blue, rows, { key: "" })]) {
      expectEnvelope(reply, "UNAUTHENTICATED", "send an API key");
      expect(reply.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    const wrong = "lifecycle-wrong-key-0123456789";
    expectEnvelope(await predict(blue, rows, { key: wrong }), "INVALID_CREDENTIALS");
    expectEnvelope(await infer(blue, rows, { key: wrong }), "INVALID_CREDENTIALS");
    expectEnvelope(await send(blue, "/metadata"), "UNAUTHENTICATED");
    // None of them reached the model.
    const after = await scrape(blue);
    const runs = (exposition: string) =>
      total(exposition, "inferenceDuration", { model: IRIS_MODEL }, "_count");
    expect(runs(before)).toBeGreaterThan(0);
    expect(runs(after)).toBe(runs(before));
  });

  it("lets only an admin reload: a read-only (ops-read) key and a plain key get 403", async () => {
    for (const key of [KEYS.reader, KEYS.caller]) {
      const refused = await send(blue, "/reload-model", { key, method: "POST" });
      expectEnvelope(refused, "FORBIDDEN", "does not hold the admin role");
    }
    // The read-only key is a valid key: it reads what its role allows.
    expect((await send(blue, "/ops/summary", { key: KEYS.reader })).status).toBe(200);
    const reloaded = await send(blue, "/reload-model", { key: KEYS.admin, method: "POST" });
    expect(reloaded.status).toBe(200);
    expect(reloaded.body.results).toEqual([
      expect.objectContaining({ variant: "stable", trigger: "api", result: "unchanged", version: "1" }),
    ]);
  });

  it("refuses malformed instances, rows and tensors with a 400 envelope naming the feature or input", async () => {
    const good = instanceOf(iris.rows[0]!);
    const { petal_width: _dropped, ...missing } = good;
    const tensor = { name: iris.tensor.name, datatype: "FP32", shape: [1, 4], data: iris.rows[0]! };
    const inferWith = (bad: object) =>
      send(blue, `/v2/models/${IRIS_MODEL}/infer`, { key: KEYS.caller, body: { inputs: [bad] } });
    const refusals: [Promise<Reply>, ErrorCode, string][] = [
      [
        predictBody({ instances: [good, missing] }),
        "INVALID_VALUE",
        'instances[1]: missing feature "petal_width"',
      ],
      [predictBody({ instances: [{ ...good, colour: 1 }] }), "INVALID_VALUE", 'unknown feature "colour"'],
      [predictBody({ instances: [[1, 2, 3, 4]] }), "INVALID_REQUEST", "body/instances/0 must be object"],
      [
        predictBody({ inputs: [iris.rows[0]!.slice(1)] }),
        "INVALID_SHAPE",
        "inputs[0]: expected 4 values, got 3",
      ],
      [predictBody({ instances: [] }), "EMPTY_BATCH", "instances: no rows"],
      [
        inferWith({ ...tensor, shape: [1, 3], data: [1, 2, 3] }),
        "INVALID_SHAPE",
        'input "input": shape [1,3]',
      ],
      [
        inferWith({ ...tensor, datatype: "FP64" }),
        "INVALID_REQUEST",
        'input "input": datatype FP64, the model\'s is FP32',
      ],
      [inferWith({ ...tensor, name: "petals" }), "INVALID_REQUEST", 'unknown input "petals"'],
    ];
    const ids: string[] = [];
    for (const [reply, code, fragment] of refusals) {
      const refused = await reply;
      ids.push(expectEnvelope(refused, code, fragment));
      // The id of a refused request is in the envelope only: no prediction was made.
      expect(refused.headers.get("x-prediction-id")).toBeNull();
    }
    expect(new Set(ids).size).toBe(refusals.length);
  });

  it("counts exactly the predicted rows in plinth_predictions_total, by label, for iris-forest version 1", async () => {
    const labels = { model: IRIS_MODEL, model_version: "1", variant: "stable" };
    const before = await scrape(blue);
    const requests = [
      Array.from({ length: 25 }, (_, r) => r),
      Array.from({ length: 10 }, (_, r) => r + 10),
      [3],
      [9],
      [17],
    ];
    for (const [i, rows] of requests.entries()) {
      const reply = await logged(predict(blue, rows, { form: i % 2 === 0 ? "instances" : "inputs" }), rows);
      expectAnswer(reply, "1", rows);
    }
    const after = await scrape(blue);
    const rows = requests.flat();
    const delta = (metric: MetricKey, extra: Record<string, string> = {}) =>
      total(after, metric, { ...labels, ...extra }) - total(before, metric, { ...labels, ...extra });
    expect(delta("predictions")).toBe(rows.length);
    for (const [classId, label] of IRIS_LABELS.entries()) {
      const expected = rows.filter((r) => iris.expected["1"][r]!.classId === classId).length;
      expect(delta("predictions", { label }), label).toBe(expected);
    }
    const http = {
      route: "/predict",
      method: "POST",
      status_code: "200",
      variant: "stable",
      model_version: "1",
    };
    expect(total(after, "httpRequests", http) - total(before, "httpRequests", http)).toBe(requests.length);
    const runs = (exposition: string) => total(exposition, "inferenceDuration", labels, "_count");
    expect(runs(after) - runs(before)).toBe(requests.length);
    expect(total(after, "modelInfo", labels)).toBe(1);
    expect(total(after, "modelReady", labels)).toBe(1);
  });

  // Counted whichever protocol asked (service/serving/prediction-counter.ts), as the bundled model's are.
  it("counts a configured classifier's /v2 rows in plinth_predictions_total too", async () => {
    const labels = { model: IRIS_MODEL, model_version: "1" };
    const before = await scrape(blue);
    const rows = [1, 2, 3, 4];
    expectAnswer(await infer(blue, rows), "1", rows);
    const after = await scrape(blue);
    expect(total(after, "predictions", labels) - total(before, "predictions", labels)).toBe(rows.length);
  });

  it("names the instance and the feature of a value that is not a number", async () => {
    const rows = [instanceOf(iris.rows[0]!), { ...instanceOf(iris.rows[1]!), sepal_width: "wide" }];
    const refused = await predictBody({ instances: rows });
    expectEnvelope(refused, "INVALID_VALUE", "instances[1]", '"sepal_width"');
  });

  it("logs each /predict row as a JSONL record with its label, confidence, model name and version", async () => {
    const rows = [5, 14, 22];
    const reply = await logged(predict(blue, rows), rows);
    expectAnswer(reply, "1", rows);
    const rowsPredicted = () => [...predicted.values()].reduce((n, p) => n + p.rows.length, 0);
    await waitFor(async () => (await readLog()).length >= rowsPredicted(), "every predicted row logged");
    // Three more flushes: nothing else arrives (refused requests and /v2 rows are not logged).
    await new Promise((resolve) => setTimeout(resolve, 60));
    const records = await readLog();
    expect(records).toHaveLength(rowsPredicted());
    for (const record of records) {
      const request = predicted.get(record.id);
      expect(request, `record ${record.id}`).toBeDefined();
      const expected = iris.expected[request!.version as IrisVersion][request!.rows[record.row]!]!;
      expect(record).toMatchObject({
        model: IRIS_MODEL,
        version: request!.version,
        variant: "stable",
        label: IRIS_LABELS[expected.classId],
      });
      expect(record.confidence).toBeCloseTo(Math.max(...expected.probabilities), 5);
      expect(record.input_sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const mine = records.filter((r) => r.id === reply.body.prediction_id);
    expect(mine.map((r) => r.row)).toEqual([0, 1, 2]);
  });

  it("says drift is not supported for this model, in /metadata and the ops summary alike, after traffic too", async () => {
    expect(predicted.size).toBeGreaterThan(0);
    await expectDriftRefused(blue, "1");
    expect(total(await scrape(blue), "driftWindowSamples", { model: IRIS_MODEL })).toBe(0);
  });

  it("reloads version 2 (champion moved) with no failed request across the swap, then answers as version 2", async () => {
    const before = await scrape(blue);
    await new LocalRegistry(iris.registryDir).setAlias(IRIS_MODEL, "champion", "2");
    let reloaded = false;
    let sent = 0;
    /** A client that keeps scoring until it has had 10 answers after the reload returned. */
    const client = async (lane: number) => {
      const answers: { reply: Reply; rows: number[] }[] = [];
      for (let i = 0, after = 0; after < 10; i++, sent++) {
        const rows = [apart[(lane + i) % apart.length]!];
        const reply = await (i % 2 === 0 ? logged(predict(blue, rows), rows) : infer(blue, rows));
        answers.push({ reply, rows });
        if (reloaded) after++;
      }
      return answers;
    };
    const clients = [0, 1, 2, 3].map(client);
    await waitFor(() => sent >= 20, "20 requests before the reload");
    const reload = await send(blue, "/reload-model", { key: KEYS.admin, method: "POST" });
    reloaded = true;
    expect(reload.status, JSON.stringify(reload.body)).toBe(200);
    expect(reload.body.results).toEqual([
      expect.objectContaining({ variant: "stable", result: "loaded", previous_version: "1", version: "2" }),
    ]);
    const lanes = await Promise.all(clients);
    for (const answers of lanes) {
      const versions = answers.map(({ reply }) => reply.body.model?.version ?? reply.body.model_version);
      // Every request answered, by the version it names, and once version 2 answered, never 1 again.
      answers.forEach(({ reply, rows }, i) => expectAnswer(reply, versions[i] as IrisVersion, rows));
      expect(versions.join("")).toMatch(/^1*2+$/);
    }
    expect(lanes.flat().some(({ reply }) => reply.body.model?.version === "1")).toBe(true);
    const metadata = await send(blue, "/metadata", { key: KEYS.caller });
    expect(metadata.body.model).toMatchObject({ version: "2", reference: "champion" });
    const after = await scrape(blue);
    const loaded = { model: IRIS_MODEL, variant: "stable", result: "loaded" };
    expect(total(after, "modelReloads", loaded) - total(before, "modelReloads", loaded)).toBe(1);
    expect(total(after, "modelReady", { model: IRIS_MODEL, model_version: "2" })).toBe(1);
    expect(total(after, "modelReady", { model: IRIS_MODEL, model_version: "1" })).toBe(0);
    // Drift stays refused for the new version.
    await expectDriftRefused(blue, "2");
  });
});

describe(`canary: ${CANARY_WEIGHT} % of callers on version 2, the rest on version 1`, () => {
  let canary: ServiceProcess;
  const serving = serveIris(() => ({
    MODEL_STABLE: "1",
    MODEL_CANDIDATE: "2",
    ROLLOUT_STRATEGY: "canary",
    CANDIDATE_WEIGHT: String(CANARY_WEIGHT),
    ROLLOUT_BUCKET_KEY: BUCKET_KEY,
  }));
  beforeAll(() => {
    canary = serving();
  });
  const callers = Array.from({ length: CANARY_CALLERS }, (_, i) => `caller-${i}`);
  const onCandidate = (caller: string) =>
    new CanaryBuckets(BUCKET_KEY).routesToCandidate(caller, CANARY_WEIGHT);
  const versionOf = { stable: "1", candidate: "2" } as const;

  it(`splits ${CANARY_CALLERS} sticky callers by their key's bucket, within 4 standard deviations of ${CANARY_WEIGHT} %`, async () => {
    const before = await scrape(canary);
    const replies = await inParallel(callers, 8, (caller, i) =>
      predict(canary, [apart[i % apart.length]!], { headers: { "x-user-id": caller } }),
    );
    const variants = replies.map((reply, i) => {
      const variant = reply.headers.get(FORCE_HEADER) as keyof typeof versionOf;
      expectAnswer(reply, versionOf[variant], [apart[i % apart.length]!]);
      return variant;
    });
    expect(variants).toEqual(callers.map((c) => (onCandidate(c) ? "candidate" : "stable")));
    const candidates = variants.filter((v) => v === "candidate").length;
    const mean = (CANARY_CALLERS * CANARY_WEIGHT) / 100;
    const sd = Math.sqrt(mean * (1 - CANARY_WEIGHT / 100));
    expect(Math.abs(candidates - mean)).toBeLessThanOrEqual(4 * sd);
    // Each variant's rows are counted under its own version.
    const after = await scrape(canary);
    for (const [variant, version] of Object.entries(versionOf)) {
      const labels = { model: IRIS_MODEL, model_version: version, variant };
      const counted = total(after, "predictions", labels) - total(before, "predictions", labels);
      expect(counted, variant).toBe(variants.filter((v) => v === variant).length);
    }
  });

  it("keeps a caller on its variant on every request", async () => {
    for (const caller of callers.slice(0, 20)) {
      const replies = await Promise.all(
        [0, 1, 2].map(() => predict(canary, [apart[0]!], { headers: { "x-user-id": caller } })),
      );
      expect(replies.map((r) => r.body.model.variant)).toEqual(
        Array(3).fill(onCandidate(caller) ? "candidate" : "stable"),
      );
    }
  });

  it("pins a variant with the force header for a force-variant caller, and refuses it to others", async () => {
    const stableCaller = callers.find((c) => !onCandidate(c))!;
    const candidateCaller = callers.find(onCandidate)!;
    const rows = [apart[1]!];
    const pinned = (caller: string, variant: string, key: string) =>
      predict(canary, rows, { key, headers: { "x-user-id": caller, [FORCE_HEADER]: variant } });
    const toCandidate = await pinned(stableCaller, "candidate", KEYS.forcer);
    expectAnswer(toCandidate, "2", rows);
    expect(toCandidate.body.model.variant).toBe("candidate");
    const toStable = await pinned(candidateCaller, "stable", KEYS.forcer);
    expectAnswer(toStable, "1", rows);
    expect(toStable.body.model.variant).toBe("stable");
    expectEnvelope(await pinned(stableCaller, "candidate", KEYS.caller), "FORBIDDEN", "force-variant role");
    // The protocol's versioned path pins the same way.
    expectAnswer(await infer(canary, rows, { key: KEYS.forcer, version: "2" }), "2", rows);
    expectAnswer(await infer(canary, rows, { key: KEYS.caller, version: "1" }), "1", rows);
    expectEnvelope(
      await infer(canary, rows, { key: KEYS.caller, version: "2" }),
      "FORBIDDEN",
      "force-variant",
    );
  });
});

/**
 * A POST whose body stops halfway until `release()`. `accepted` resolves once the server has parsed
 * its headers (its `100 Continue`, answered when the request is handed to the application) and
 * half the body is on its way: the request is in flight, not yet answerable.
 */
function heldPost(service: ServiceProcess, route: string, body: unknown) {
  const bytes = Buffer.from(JSON.stringify(body));
  const req = httpRequest(new URL(route, service.url), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "content-length": bytes.length,
      "x-api-key": KEYS.caller,
      expect: "100-continue",
    },
  });
  const answered = new Promise<{ reply: Reply; connection: string | undefined }>((resolve, reject) => {
    req.once("error", reject);
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.once("error", reject);
      res.once("end", () => {
        const headers = new Headers(res.headers as Record<string, string>);
        const reply = {
          status: res.statusCode!,
          headers,
          body: JSON.parse(Buffer.concat(chunks).toString()) as Body,
        };
        resolve({ reply, connection: res.headers.connection });
      });
    });
  });
  const accepted = new Promise<void>((resolve) =>
    req.once("continue", () => req.write(bytes.subarray(0, bytes.length >> 1), () => resolve())),
  );
  req.flushHeaders();
  return { accepted, answered, release: () => req.end(bytes.subarray(bytes.length >> 1)) };
}

/** How a new TCP connection to the service's port fares: "connected", or the error code. */
function tryConnect(service: ServiceProcess): Promise<string> {
  const { hostname, port } = new URL(service.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe("blue-green: a green deployment serving version 2, then SIGTERM", () => {
  let green: ServiceProcess;
  const serving = serveIris(() => ({
    MODEL_STABLE: "2",
    DEPLOYMENT_COLOR: "green",
    SHUTDOWN_TIMEOUT_MS: "10000",
  }));
  beforeAll(() => {
    green = serving();
  });

  it("reports its green colour and serves version 2, as its configuration says", async () => {
    const metadata = await send(green, "/metadata", { key: KEYS.caller });
    expect(metadata.body).toMatchObject({
      model: { name: IRIS_MODEL, version: "2", reference: "2" },
      deployment: { color: "green" },
    });
    const summary = await send(green, "/ops/summary", { key: KEYS.reader });
    expect(summary.body.rollout).toMatchObject({ color: "green", strategy: "single" });
    const rows = apart.slice(0, 5);
    expectAnswer(await predict(green, rows), "2", rows);
    expectAnswer(await infer(green, rows), "2", rows);
  });

  it("drains on SIGTERM: refuses new connections, answers every accepted request correctly, exits 0", async () => {
    const batches = apart.slice(0, 12).map((row, i) => (i % 3 === 0 ? apart.slice(0, 3) : [row]));
    const held = batches.map((rows) =>
      heldPost(green, "/predict", { instances: rows.map((r) => instanceOf(iris.rows[r]!)) }),
    );
    await Promise.all(held.map((h) => h.accepted));
    let answeredEarly = 0;
    for (const h of held)
      void h.answered.then(
        () => answeredEarly++,
        () => answeredEarly++,
      );
    green.kill("SIGTERM");
    await waitFor(async () => (await tryConnect(green)) === "ECONNREFUSED", "new connections refused");
    expect(answeredEarly).toBe(0);
    for (const h of held) h.release();
    const answers = await Promise.all(held.map((h) => h.answered));
    answers.forEach(({ reply, connection }, i) => {
      expectAnswer(reply, "2", batches[i]!);
      expect(connection).toBe("close");
    });
    expect(await green.exited).toBe(0);
    expect(green.output.join("")).toContain("shutdown complete");
    expect(await tryConnect(green)).toBe("ECONNREFUSED");
  });
});
