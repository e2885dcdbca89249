/**
 * A MODEL_REPOSITORY model whose registry cannot be reached (issue 20 review): the real service,
 * a real MLflow server (.tools/mlflow-venv) behind a plain node HTTP proxy that first answers 503,
 * then drops connections, then passes requests through. The default model is a `file:` folder, so
 * only the repository model needs the registry.
 *
 * While the registry is down the service is ready (the default model serves), the repository
 * model is UNAVAILABLE in the index naming the model, the registry URL and the error and the next
 * attempt, its readiness is 503 with Retry-After, every failed attempt is counted in
 * plinth_model_reloads_total, and the attempts back off (0.5 s, 1 s, 2 s, ...). Once the registry
 * answers the model loads and serves without a restart. An unload stops the retries; a load asked
 * for while the registry is still down fails, and the retries start again.
 */
import { mkdir, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../service/config.js";
import { integrityTags } from "../../../service/registry/integrity.js";
import { buildServer, type Service } from "../../../service/server/build.js";
import { FIXTURE_NAME, fixtureModelBytes } from "../inference/fixture-model.js";
import { matmulModel } from "../inference/matmul-model.js";
import {
  capturedLog,
  MLFLOW_SUITE_TIMEOUT_MS,
  mlflowForSuite,
  registerVersion,
} from "../mlflow/mlflow-suite.js";

const SLOW = MLFLOW_SUITE_TIMEOUT_MS;
const API_KEY = "registry-retry-key-0123456789";
const HEADERS = { "x-api-key": API_KEY };
const MODEL = "doubler";
/** y = [2 x0 + x2, 2 x1 + x2]. */
const DOUBLING = matmulModel([2, 0, 0, 2, 1, 1]);
const POLL = { timeout: 60_000, interval: 200 };
const RETRY_LOG = "repository model's registry could not be reached; not ready, retrying";

/** How the proxy in front of MLflow answers. */
type Mode = "503" | "drop" | "pass";

/** A plain HTTP proxy to MLflow that can answer 503, drop connections, or pass requests through. */
class FlakyProxy {
  mode: Mode = "503";
  requests = 0;
  private readonly server: http.Server;

  constructor(private readonly target: string) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests++;
    if (this.mode === "drop") {
      req.socket.destroy();
      return;
    }
    if (this.mode === "503") {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ error_code: "TEMPORARILY_UNAVAILABLE", message: "registry down for maintenance" }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(
        ([k, v]) => typeof v === "string" && k !== "host" && k !== "connection",
      ),
    ) as Record<string, string>;
    const answer = await fetch(this.target + req.url!, {
      method: req.method,
      headers,
      body: chunks.length === 0 ? undefined : Buffer.concat(chunks),
    });
    res.writeHead(answer.status, {
      "content-type": answer.headers.get("content-type") ?? "application/octet-stream",
    });
    res.end(Buffer.from(await answer.arrayBuffer()));
  }
}

const mlflow = mlflowForSuite("plinth-registry-retry-");
let defaultModelDir: string;

beforeAll(async () => {
  defaultModelDir = path.join(mlflow().tmp, "default");
  await mkdir(defaultModelDir);
  await writeFile(path.join(defaultModelDir, "model.onnx"), fixtureModelBytes("probabilities", 0));
  // The repository model, registered the way plinth's trainer does: with its integrity tags.
  const files = { "model.onnx": DOUBLING };
  const registered = await registerVersion(mlflow(), MODEL, files, integrityTags(files));
  await mlflow().client.setAlias(MODEL, "champion", registered.version);
}, SLOW);

interface Running {
  readonly service: Service;
  readonly proxy: FlakyProxy;
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** The service, the repository model's registry behind a proxy answering 503. */
async function startService(): Promise<Running> {
  const proxy = new FlakyProxy(mlflow().server.url);
  await proxy.listen();
  const { logger, logs } = capturedLog();
  const config = loadConfig({
    API_KEYS: `ops:${API_KEY}`,
    API_KEY_ROLES: "ops:admin",
    MLFLOW_TRACKING_URI: proxy.url,
    MODEL_CACHE_DIR: path.join(mlflow().tmp, `cache-${Math.random().toString(36).slice(2)}`),
    MODEL_NAME: FIXTURE_NAME,
    MODEL_STABLE: `file:${defaultModelDir}`,
    MODEL_REPOSITORY: `${MODEL}=models:/${MODEL}@champion`,
    MAX_EVENT_LOOP_DELAY_MS: "0",
    PORT: "0",
    METRICS_PORT: "0",
  });
  const service = await buildServer(config, { processMetrics: false, logger });
  await service.dataPlane.start();
  return {
    service,
    proxy,
    logs,
    close: async () => {
      await service.app.close();
      await proxy.close();
    },
  };
}

interface IndexEntry {
  name: string;
  version?: string;
  state: string;
  reason: string;
}

async function indexEntry(svc: Service): Promise<IndexEntry> {
  const res = await svc.app.inject({ method: "POST", url: "/v2/repository/index", headers: HEADERS });
  expect(res.statusCode).toBe(200);
  return (res.json() as IndexEntry[]).find((e) => e.name === MODEL)!;
}

function modelReady(svc: Service) {
  return svc.app.inject({ method: "GET", url: `/v2/models/${MODEL}/ready`, headers: HEADERS });
}

function infer(svc: Service) {
  return svc.app.inject({
    method: "POST",
    url: `/v2/models/${MODEL}/infer`,
    headers: HEADERS,
    payload: { inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }] },
  });
}

async function failedLoads(svc: Service): Promise<number> {
  const metric = await svc.metrics.registry.getSingleMetric("plinth_model_reloads_total")?.get();
  const series = metric?.values.find(
    (v) => v.labels.model === MODEL && v.labels.variant === "stable" && v.labels.result === "failed",
  );
  return series?.value ?? 0;
}

const retryLogs = (running: Running) => running.logs.filter((l) => l.msg === RETRY_LOG);

/** A service (startService) started before the suite's tests and closed after them. */
function serviceForSuite(): () => Running {
  let running: Running | undefined;
  beforeAll(async () => {
    running = await startService();
  }, SLOW);
  afterAll(async () => {
    await running?.close();
  });
  return () => running!;
}

describe("a repository model whose registry cannot be reached", () => {
  const running = serviceForSuite();

  it("leaves the service ready: the default model serves", async () => {
    expect((await running().service.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(200);
    expect((await running().service.app.inject({ method: "GET", url: "/v2/health/ready" })).json()).toEqual({
      ready: true,
    });
  });

  it("reports the model UNAVAILABLE, naming the model, the registry URL, the error and the next attempt", async () => {
    const entry = await indexEntry(running().service);
    expect(entry.state).toBe("UNAVAILABLE");
    expect(entry.version).toBeUndefined();
    expect(entry.reason).toMatch(
      new RegExp(
        `^failed to load: .*model registry MLflow ${running().proxy.url.replace(/[.]/g, "\\.")} could not be reached ` +
          `for models:/${MODEL}@champion: MLflow GET [^ ]+: TEMPORARILY_UNAVAILABLE: registry down for maintenance; ` +
          `next attempt at \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z \\(retry \\d+\\)$`,
      ),
    );
  });

  it("answers its readiness and inference with 503 and Retry-After, the registry's address kept for operators", async () => {
    for (const res of [await modelReady(running().service), await infer(running().service)]) {
      expect(res.statusCode).toBe(503);
      expect(Number(res.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(res.json().error).toMatchObject({
        code: "NOT_READY",
        message: `model "${MODEL}" is not ready: its model registry could not be reached; retrying (operators: POST /v2/repository/index)`,
      });
    }
  });

  it("counts each failed attempt and backs off between them, then drops connections too", async () => {
    await expect.poll(() => failedLoads(running().service), POLL).toBeGreaterThanOrEqual(2);
    running().proxy.mode = "drop";
    await expect
      .poll(async () => (await indexEntry(running().service)).reason, POLL)
      .toMatch(
        /could not be reached for models:\/doubler@champion: MLflow GET [^ ]+: unreachable: cannot reach/,
      );
    const delays = retryLogs(running()).map((l) => l.retryInMs);
    expect(delays.slice(0, 3)).toEqual([500, 1000, 2000]);
    expect(retryLogs(running())[0]).toMatchObject({
      level: 40,
      model: MODEL,
      registry: `MLflow ${running().proxy.url}`,
      attempt: 1,
    });
    expect(await failedLoads(running().service)).toBe(retryLogs(running()).length);
  });

  it("loads and serves the model once the registry answers, without a restart", async () => {
    running().proxy.mode = "pass";
    await expect.poll(async () => (await indexEntry(running().service)).state, POLL).toBe("READY");
    expect(await indexEntry(running().service)).toMatchObject({ version: "1", reason: "" });
    expect((await modelReady(running().service)).json()).toEqual({ ready: true });
    const answer = await infer(running().service);
    expect(answer.statusCode).toBe(200);
    expect(answer.json().outputs[0].data).toEqual([5, 7]);
    // No attempt after the one that loaded it.
    const failed = await failedLoads(running().service);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await failedLoads(running().service)).toBe(failed);
  });
});

describe("load and unload of a model waiting for its registry", () => {
  const running = serviceForSuite();

  it("an unload stops the retries", async () => {
    const unload = await running().service.app.inject({
      method: "POST",
      url: `/v2/repository/models/${MODEL}/unload`,
      headers: HEADERS,
    });
    expect(unload.statusCode).toBe(200);
    expect(unload.json()).toEqual({ name: MODEL, state: "UNAVAILABLE", reason: "unloaded" });
    const requests = running().proxy.requests;
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(running().proxy.requests).toBe(requests);
    expect((await modelReady(running().service)).statusCode).toBe(404);
  });

  it("a load while the registry is still down fails, and the retries start again from the first delay", async () => {
    const before = retryLogs(running()).length;
    const load = await running().service.app.inject({
      method: "POST",
      url: `/v2/repository/models/${MODEL}/load`,
      headers: HEADERS,
    });
    expect(load.statusCode).toBe(500);
    expect(load.json().error.code).toBe("MODEL_LOAD_FAILED");
    expect(
      retryLogs(running())
        .slice(before)
        .map((l) => l.retryInMs),
    ).toEqual([500]);
    expect((await indexEntry(running().service)).reason).toMatch(/\(retry 1\)$/);
    running().proxy.mode = "pass";
    await expect.poll(async () => (await indexEntry(running().service)).state, POLL).toBe("READY");
  });
});
