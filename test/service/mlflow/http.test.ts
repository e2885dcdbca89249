/**
 * The MLflow transport against a real HTTP server on loopback that answers what each test needs:
 * retries on 5xx, connection errors and timeouts; no retry on 4xx; errors naming the endpoint and
 * MLflow's error_code. Backoff sleeps are recorded instead of waited.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MlflowError, MlflowHttp } from "../../../service/mlflow/http.js";
import { freePort } from "../../support/mlflow-server.js";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

let server: http.Server | undefined;

async function serve(handler: Handler): Promise<string> {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => handler(req, res, body));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

function transport(
  trackingUri: string,
  sleeps: number[],
  extra: { timeoutMs?: number; attempts?: number } = {},
) {
  return new MlflowHttp({
    trackingUri,
    timeoutMs: extra.timeoutMs,
    retry: { attempts: extra.attempts ?? 4, initialDelayMs: 100, maxDelayMs: 250 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
}

describe("MlflowHttp", () => {
  it("retries 503 answers with growing backoff and returns the first success", async () => {
    let calls = 0;
    const url = await serve((_req, res) => {
      calls++;
      if (calls < 3) {
        res.writeHead(503, { "content-type": "application/json" });
        res.end(JSON.stringify({ error_code: "TEMPORARILY_UNAVAILABLE", message: "busy" }));
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ experiment_id: "7" }));
      }
    });
    const sleeps: number[] = [];
    const answer = await transport(url, sleeps).json("POST", "/api/2.0/mlflow/experiments/create", {
      body: { name: "x" },
    });
    expect(answer).toEqual({ experiment_id: "7" });
    expect(calls).toBe(3);
    expect(sleeps).toHaveLength(2);
    // Jittered between half and all of 100 ms, then of 200 ms.
    expect(sleeps[0]).toBeGreaterThanOrEqual(50);
    expect(sleeps[0]).toBeLessThanOrEqual(100);
    expect(sleeps[1]).toBeGreaterThanOrEqual(100);
    expect(sleeps[1]).toBeLessThanOrEqual(200);
  });

  it("does not retry a 4xx and names the endpoint, the status and MLflow's error_code", async () => {
    let calls = 0;
    const url = await serve((req, res) => {
      calls++;
      expect(req.url).toBe("/api/2.0/mlflow/model-versions/get?name=m&version=9");
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error_code: "RESOURCE_DOES_NOT_EXIST",
          message: "Model Version (name=m, version=9) not found",
        }),
      );
    });
    const err = await transport(url, [])
      .json("GET", "/api/2.0/mlflow/model-versions/get", { query: { name: "m", version: 9 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowError);
    const e = err as MlflowError;
    expect(calls).toBe(1);
    expect(e.status).toBe(404);
    expect(e.errorCode).toBe("RESOURCE_DOES_NOT_EXIST");
    expect(e.notFound).toBe(true);
    expect(e.transient).toBe(false);
    expect(e.message).toBe(
      "MLflow GET /api/2.0/mlflow/model-versions/get: RESOURCE_DOES_NOT_EXIST: Model Version (name=m, version=9) not found",
    );
  });

  it("gives up after the configured attempts when nothing listens, naming the server", async () => {
    const port = await freePort();
    const sleeps: number[] = [];
    const err = (await transport(`http://127.0.0.1:${port}`, sleeps, { attempts: 3 })
      .json("GET", "/api/2.0/mlflow/registered-models/get", { query: { name: "m" } })
      .catch((e: unknown) => e)) as MlflowError;
    expect(err).toBeInstanceOf(MlflowError);
    expect(err.failure).toBe("unreachable");
    expect(err.transient).toBe(true);
    expect(sleeps).toHaveLength(2);
    expect(err.message).toContain(
      `MLflow GET /api/2.0/mlflow/registered-models/get: unreachable: cannot reach http://127.0.0.1:${port}`,
    );
    expect(err.message).toContain("ECONNREFUSED");
  });

  it("times out an attempt that gets no answer and retries it", async () => {
    let calls = 0;
    const url = await serve(() => {
      calls++; // never answers
    });
    const err = (await transport(url, [], { timeoutMs: 200, attempts: 2 })
      .json("GET", "/api/2.0/mlflow/experiments/get-by-name", { query: { experiment_name: "e" } })
      .catch((e: unknown) => e)) as MlflowError;
    expect(err.failure).toBe("timeout");
    expect(calls).toBe(2);
    expect(err.message).toBe(
      "MLflow GET /api/2.0/mlflow/experiments/get-by-name: timeout: no answer within 200 ms",
    );
  });

  it("stops at once when the caller aborts, without retrying", async () => {
    let calls = 0;
    const url = await serve(() => {
      calls++;
    });
    const controller = new AbortController();
    const pending = transport(url, []).json("GET", "/api/2.0/mlflow/experiments/get", {
      query: { experiment_id: "1" },
      signal: controller.signal,
    });
    await expect.poll(() => calls).toBe(1);
    controller.abort(new Error("caller gave up"));
    await expect(pending).rejects.toThrow("caller gave up");
    expect(calls).toBe(1);
  });

  it("sends bytes as octet-stream and JSON bodies as JSON, with the configured authorization", async () => {
    const seen: { type: string | undefined; auth: string | undefined; body: string }[] = [];
    const url = await serve((req, res, body) => {
      seen.push({ type: req.headers["content-type"], auth: req.headers.authorization, body });
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    const client = new MlflowHttp({ trackingUri: url + "/", authorization: "Bearer t0ken" });
    await client.json("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/r/a.bin", {
      body: new Uint8Array([104, 105]),
    });
    await client.json("POST", "/api/2.0/mlflow/runs/update", { body: { run_id: "r" } });
    expect(seen).toEqual([
      { type: "application/octet-stream", auth: "Bearer t0ken", body: "hi" },
      { type: "application/json", auth: "Bearer t0ken", body: '{"run_id":"r"}' },
    ]);
  });

  it("refuses a tracking URI that is not http(s)", () => {
    expect(() => new MlflowHttp({ trackingUri: "databricks" })).toThrow(
      'MLflow tracking URI "databricks" is not a URL',
    );
    expect(() => new MlflowHttp({ trackingUri: "file:///tmp/mlruns" })).toThrow("expected http(s)://");
  });

  it("refuses a tracking URI holding credentials, without repeating them", () => {
    let message = "";
    try {
      new MlflowHttp({ trackingUri: "https://alice:s3cret-token@mlflow.example:5000/prefix" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(
      "MLflow tracking URI https://mlflow.example:5000: holds credentials (user:secret@); remove them and give the token as MLFLOW_TRACKING_TOKEN",
    );
  });
});
