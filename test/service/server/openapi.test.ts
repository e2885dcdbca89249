/**
 * The OpenAPI document lists every status each operation answers (the API fuzz test in
 * test/interop/ checks responses against it), and the response schemas added for it keep every
 * member the routes send.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commonErrorStatuses } from "../../../service/server/schemas.js";
import { KEY_HEADERS, startTestService, type TestService } from "./service-fixture.js";

interface Operation {
  responses: Record<string, unknown>;
  requestBody?: { required: boolean };
  parameters?: { in: string; name: string }[];
  security?: unknown[];
}

let svc: TestService;
let operations: [string, Operation][];
beforeAll(async () => {
  svc = await startTestService({ API_KEY_ROLES: "tester:admin" });
  const spec = (await svc.app.inject({ method: "GET", url: "/openapi.json" })).json();
  operations = Object.entries(spec.paths as Record<string, Record<string, Operation>>).flatMap(
    ([path, byMethod]) =>
      Object.entries(byMethod).map(([method, op]): [string, Operation] => [
        `${method.toUpperCase()} ${path}`,
        op,
      ]),
  );
});
afterAll(() => svc.close());

const operation = (name: string) => operations.find(([n]) => n === name)![1];
const statuses = (name: string) => Object.keys(operation(name).responses).sort();

describe("OpenAPI responses", () => {
  it("documents a success status on every operation", () => {
    expect(operations.length).toBeGreaterThanOrEqual(17);
    for (const [name, op] of operations) expect(Object.keys(op.responses), name).toContain("200");
  });

  it("documents 401 and 429 on every authenticated operation", () => {
    const authenticated = operations.filter(([, op]) => op.security !== undefined);
    expect(authenticated.length).toBeGreaterThanOrEqual(13);
    for (const [name, op] of authenticated)
      expect(Object.keys(op.responses), name).toEqual(expect.arrayContaining(["401", "429"]));
  });

  // Regression (API fuzzing): these answered statuses their documents did not list.
  it.each([
    ["GET /metadata", ["200", "401", "429", "503"]],
    ["GET /ops/summary", ["200", "401", "403", "429"]],
    ["GET /v2", ["200", "401", "429", "503"]],
    ["GET /v2/health/ready", ["200", "400"]],
    ["GET /v2/models/{name}", ["200", "400", "401", "404", "429", "503"]],
    ["GET /v2/models/{name}/versions/{version}/ready", ["200", "400", "401", "404", "429", "503"]],
    ["POST /reload-model", ["200", "400", "401", "403", "413", "415", "429", "500"]],
  ])("%s documents %j", (name, expected) => {
    expect(statuses(name)).toEqual(expected);
  });

  // Regression (API fuzzing): the unversioned v2 routes documented a required `version` path
  // parameter their path does not have.
  it("documents exactly the path parameters of each v2 model route", () => {
    const params = (name: string) =>
      (operation(name).parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
    expect(params("POST /v2/models/{name}/infer")).toEqual(["name"]);
    expect(params("GET /v2/models/{name}/ready")).toEqual(["name"]);
    expect(params("POST /v2/models/{name}/versions/{version}/infer")).toEqual(["name", "version"]);
  });

  // Regression (API fuzzing): POST /reload-model accepts no body, but the document said one is required.
  it("marks a body optional exactly when the route accepts none", () => {
    expect(operation("POST /reload-model").requestBody?.required).toBe(false);
    expect(operation("POST /predict").requestBody?.required).toBe(true);
    expect(operation("POST /v2/models/{name}/infer").requestBody?.required).toBe(true);
  });

  it("derives the common statuses from a route's auth declaration, body and parameters", () => {
    const route = (config: object, method: string, schema: object = {}) =>
      commonErrorStatuses({ method, url: "/x", handler: () => undefined, config, schema } as never);
    expect(route({ auth: "public", rateLimit: false }, "GET")).toEqual([]);
    expect(route({ auth: "public" }, "GET")).toEqual([429]);
    expect(route({}, "GET")).toEqual([401, 429, 503]);
    expect(route({}, "POST")).toEqual([400, 401, 413, 415, 429, 503]);
    expect(route({ auth: "public", rateLimit: false }, "GET", { params: {} })).toEqual([400]);
    // An operators' route: a role to refuse, never shed under pressure.
    const admin = { auth: { accepts: ["api", "oauth2-proxy"], roles: ["admin"] } };
    expect(route(admin, "GET")).toEqual([401, 403, 429]);
  });
});

describe("response schemas keep what the routes send", () => {
  it("serialises /metadata with the whole model contract", async () => {
    const body = (await svc.app.inject({ method: "GET", url: "/metadata", headers: KEY_HEADERS })).json();
    expect(Object.keys(body).sort()).toEqual([
      "batching",
      "capabilities",
      "configuration",
      "contract",
      "deployment",
      "limits",
      "metadata",
      "model",
      "rollout",
      "warmup",
    ]);
    expect(Object.keys(body.metadata).sort()).toEqual([
      "architecture",
      "input",
      "labels",
      "name",
      "output",
      "schemaVersion",
      "training",
    ]);
    // The bundled model's configuration is its metadata's: a 28x28 greyscale classifier.
    expect(body.configuration).toMatchObject({
      task: "classification",
      labels: body.metadata.labels,
      input: { image: { width: 28, height: 28, channels: 1, layout: "NCHW" } },
    });
    expect(body.rollout).toEqual({
      strategy: "single",
      candidateWeight: 0,
      shadowPercent: 0,
      candidate: null,
    });
    expect(Object.keys(body.warmup).sort()).toEqual([
      "fullBatchMs",
      "fullBatchRows",
      "offloaded",
      "singleRowMs",
    ]);
    expect(body.batching).toEqual({ maxBatchSize: 32, maxDelayMs: 0, queueMaxRows: 2048 });
    expect(body.limits).toEqual({ maxRowsPerRequest: 64, bodyLimitBytes: 4194304 });
  });

  it("serialises /ops/summary with every section", async () => {
    const res = await svc.app.inject({ method: "GET", url: "/ops/summary", headers: KEY_HEADERS });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json()).sort()).toEqual([
      "audit",
      "drift",
      "generatedAt",
      "rollout",
      "traffic",
      "training",
    ]);
  });

  it("serialises v2 server metadata and health bodies", async () => {
    expect((await svc.app.inject({ method: "GET", url: "/v2", headers: KEY_HEADERS })).json()).toEqual({
      name: "plinth",
      version: "0.1.0",
      extensions: [],
    });
    expect((await svc.app.inject({ method: "GET", url: "/v2/health/live" })).json()).toEqual({ live: true });
    const ready = await svc.app.inject({
      method: "GET",
      url: "/v2/models/fashion-classifier/ready",
      headers: KEY_HEADERS,
    });
    expect([ready.statusCode, ready.json()]).toEqual([200, { ready: true }]);
  });
});
