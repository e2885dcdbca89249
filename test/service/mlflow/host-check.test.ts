/**
 * MLflow (>= 3.5) answers 403 "Invalid Host header" to any Host it was not told of, and refuses
 * browser writes from other origins. A server started as the cluster starts it
 * (components/mlflow/server-args.ts `clusterHosts`) answers the Host its in-cluster clients send
 * (the tracking URI the platform hands them) and its Ingress host, and nothing else.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterHosts } from "../../../components/mlflow/server-args.js";
import { MlflowServer } from "../../support/mlflow-server.js";
import { MLFLOW_SUITE_TIMEOUT_MS } from "./mlflow-suite.js";

const PUBLIC_HOST = "mlflow.ml.example.com";
let server: MlflowServer;

/** One request to the server on 127.0.0.1, with the Host (and Origin) a client elsewhere sends. */
function request(
  host: string,
  options: { method?: string; path?: string; origin?: string; body?: unknown } = {},
): Promise<{ status: number; body: string }> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: server.port,
        method: options.method ?? "GET",
        path: options.path ?? "/api/2.0/mlflow/registered-models/search",
        headers: {
          host,
          ...(options.origin ? { origin: options.origin } : {}),
          ...(body ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const addressFor = (port: number) => ({
  service: "mlflow",
  namespace: "mlflow",
  port,
  publicHost: PUBLIC_HOST,
});

beforeAll(async () => {
  server = await MlflowServer.start({ hosts: (port) => clusterHosts(addressFor(port)) });
}, MLFLOW_SUITE_TIMEOUT_MS);
afterAll(() => server?.dispose());

describe("the MLflow server's Host and origin checks, as the cluster configures them", () => {
  it("answers every form of its Service's name, with the port, and its Ingress host", async () => {
    const { allowedHosts } = clusterHosts(addressFor(server.port));
    expect(allowedHosts[0]).toBe(`mlflow.mlflow.svc.cluster.local:${server.port}`);
    for (const host of allowedHosts) {
      const answer = await request(host);
      expect(answer.status, host).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({});
    }
  });

  it("refuses any other Host with 403, the Service's name without its port included", async () => {
    for (const host of [
      "evil.example.com",
      "mlflow.mlflow.svc.cluster.local",
      `127.0.0.1:${server.port}`,
      `mlflow.other.svc.cluster.local:${server.port}`,
    ]) {
      const answer = await request(host);
      expect(answer.status, host).toBe(403);
      expect(answer.body).toContain("Invalid Host header");
    }
  });

  it("accepts a browser write from its own origin and refuses one from another", async () => {
    const create = (origin: string, name: string) =>
      request(PUBLIC_HOST, {
        method: "POST",
        path: "/api/2.0/mlflow/registered-models/create",
        origin,
        body: { name },
      });
    expect((await create(`https://${PUBLIC_HOST}`, "from-its-ui")).status).toBe(200);
    expect((await create("https://evil.example.com", "from-elsewhere")).status).toBe(403);
    const models = JSON.parse((await request(PUBLIC_HOST)).body) as {
      registered_models?: { name: string }[];
    };
    expect(models.registered_models?.map((m) => m.name)).toEqual(["from-its-ui"]);
  });
});
