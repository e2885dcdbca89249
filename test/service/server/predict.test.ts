import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_LABELS, ROW_SIZE, rowForClass } from "../inference/fixture-model.js";
import { errorCode, KEY_HEADERS, startTestService, type TestService } from "./service-fixture.js";

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ MAX_ROWS_PER_REQUEST: "8", BODY_LIMIT_BYTES: "65536" });
});
afterAll(() => svc.close());

function post(url: string, payload: unknown, headers: Record<string, string> = {}) {
  return svc.app.inject({
    method: "POST",
    url,
    headers: { ...KEY_HEADERS, "content-type": "application/json", ...headers },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
}

describe("POST /predict", () => {
  it("classifies one row: label, probabilities, model, prediction id in body and header", async () => {
    const res = await post("/predict", { inputs: rowForClass(3) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.model).toEqual({ name: "fashion-classifier", version: "1", variant: "stable" });
    expect(body.predictions).toHaveLength(1);
    expect(body.predictions[0].label).toBe(FIXTURE_LABELS[3]);
    expect(body.predictions[0].class_id).toBe(3);
    expect(body.predictions[0].probabilities).toHaveLength(10);
    expect(body.predictions[0].probabilities.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
    expect(body.prediction_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers["x-prediction-id"]).toBe(body.prediction_id);
  });

  it("classifies many rows in order", async () => {
    const classes = [9, 0, 4, 4, 7];
    const res = await post("/predict", { inputs: classes.map(rowForClass) });
    expect(res.statusCode).toBe(200);
    expect(res.json().predictions.map((p: { class_id: number }) => p.class_id)).toEqual(classes);
  });

  it("answers concurrent requests each with its own row's class", async () => {
    const classes = Array.from({ length: 40 }, (_, i) => (i * 7) % 10);
    const responses = await Promise.all(classes.map((c) => post("/predict", { inputs: rowForClass(c) })));
    expect(responses.map((r) => r.json().predictions[0].class_id)).toEqual(classes);
  });

  const short = rowForClass(1).slice(1);
  const withValue = (v: unknown) => [...rowForClass(1).slice(1), v];
  it.each([
    ["invalid JSON", '{"inputs": [1,2', 400, "INVALID_JSON"],
    ["an empty body", "", 400, "INVALID_JSON"],
    ["a body without inputs", { rows: [] }, 400, "INVALID_REQUEST"],
    ["inputs that are not an array", { inputs: "pixels" }, 400, "INVALID_REQUEST"],
    ["an empty batch", { inputs: [] }, 400, "EMPTY_BATCH"],
    ["a row one value short", { inputs: short }, 400, "INVALID_SHAPE"],
    ["a batch with a short row", { inputs: [rowForClass(1), short] }, 400, "INVALID_SHAPE"],
    ["a batch mixing rows and numbers", { inputs: [rowForClass(1), 5] }, 400, "INVALID_SHAPE"],
    ["a string value", { inputs: withValue("12") }, 400, "INVALID_VALUE"],
    ["a null value", { inputs: withValue(null) }, 400, "INVALID_VALUE"],
    ["a boolean value", { inputs: withValue(true) }, 400, "INVALID_VALUE"],
    ["a value above the pixel range", { inputs: withValue(256) }, 400, "INVALID_VALUE"],
    ["a negative value", { inputs: withValue(-1) }, 400, "INVALID_VALUE"],
    [
      "a huge value (1e309 parses to Infinity)",
      `{"inputs":[${withValue(0).slice(0, -1).join(",")},1e309]}`,
      400,
      "INVALID_VALUE",
    ],
    [
      "more rows than MAX_ROWS_PER_REQUEST",
      { inputs: Array.from({ length: 9 }, () => rowForClass(1)) },
      400,
      "BATCH_TOO_LARGE",
    ],
  ])("refuses %s", async (_name, payload, status, code) => {
    const res = await post("/predict", payload);
    expect(res.statusCode).toBe(status);
    expect(errorCode(res)).toBe(code);
    // The next good request is served normally.
    expect((await post("/predict", { inputs: rowForClass(2) })).json().predictions[0].class_id).toBe(2);
  });

  it("refuses a body over BODY_LIMIT_BYTES with 413", async () => {
    const res = await post("/predict", {
      inputs: Array.from({ length: 8 }, () => Array(ROW_SIZE).fill(100.123456)),
    });
    expect(res.statusCode).toBe(413);
    expect(errorCode(res)).toBe("PAYLOAD_TOO_LARGE");
  });

  it.each([["text/plain"], ["image/png"], ["application/x-www-form-urlencoded"]])(
    "refuses content type %s with 415",
    async (type) => {
      const res = await post("/predict", "inputs=1", { "content-type": type });
      expect(res.statusCode).toBe(415);
      expect(errorCode(res)).toBe("UNSUPPORTED_MEDIA_TYPE");
    },
  );
});

describe("errors outside the routes", () => {
  it("answers an unknown route with the envelope and 404", async () => {
    const res = await svc.app.inject({ method: "GET", url: "/nope?x=1", headers: KEY_HEADERS });
    expect(res.statusCode).toBe(404);
    expect(errorCode(res)).toBe("NOT_FOUND");
    expect(res.json().error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  // Regression (API fuzzing): a known path with an unserved method answered 404 NOT_FOUND.
  it.each([
    ["PUT", "/predict", "POST"],
    ["GET", "/v2/models/fashion-classifier/infer", "POST"],
    ["DELETE", "/health", "GET, HEAD"],
    ["TRACE", "/v2/models/x/versions/1/ready", "GET, HEAD"],
  ])("answers %s %s with 405 and Allow: %s", async (method, url, allow) => {
    const res = await svc.app.inject({ method: method as "PUT", url, headers: KEY_HEADERS });
    expect(res.statusCode).toBe(405);
    expect(errorCode(res)).toBe("METHOD_NOT_ALLOWED");
    expect(res.headers.allow).toBe(allow);
    expect(res.json().error.message).toBe(`${method} ${url} is not served; allowed: ${allow}`);
  });

  // Regression (API fuzzing): fastify parses an unrouted request's body before the not-found
  // handler runs, so QUERY without a content type answered 400 INVALID_REQUEST.
  it("answers an unrouted request by its route, whatever is wrong with its body", async () => {
    const query = await svc.app.inject({ method: "QUERY" as "GET", url: "/health", headers: KEY_HEADERS });
    expect([query.statusCode, errorCode(query), query.headers.allow]).toEqual([
      405,
      "METHOD_NOT_ALLOWED",
      "GET, HEAD",
    ]);
    const badJson = await svc.app.inject({
      method: "POST",
      url: "/nope",
      headers: { ...KEY_HEADERS, "content-type": "application/json" },
      payload: "{not json",
    });
    expect([badJson.statusCode, errorCode(badJson)]).toEqual([404, "NOT_FOUND"]);
  });

  it("never serves /metrics on the public port", async () => {
    const res = await svc.app.inject({ method: "GET", url: "/metrics", headers: KEY_HEADERS });
    expect(res.statusCode).toBe(404);
  });
});

describe("operations", () => {
  it("reports liveness and readiness without credentials", async () => {
    expect((await svc.app.inject({ method: "GET", url: "/health" })).json()).toEqual({ status: "ok" });
    const ready = await svc.app.inject({ method: "GET", url: "/ready" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: "ready", model: "fashion-classifier", version: "1" });
  });

  it("serves metadata with the model contract and deployment colour", async () => {
    const res = await svc.app.inject({ method: "GET", url: "/metadata", headers: KEY_HEADERS });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.metadata.labels).toEqual(FIXTURE_LABELS);
    expect(body.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(body.deployment).toEqual({ color: "none" });
    expect(body.warmup.offloaded).toBe(false);
  });

  it("serves the OpenAPI document and the docs page without credentials", async () => {
    const spec = await svc.app.inject({ method: "GET", url: "/openapi.json" });
    expect(spec.statusCode).toBe(200);
    expect(Object.keys(spec.json().paths)).toEqual(
      expect.arrayContaining(["/predict", "/predict-image", "/v2/models/{name}/infer", "/reload-model"]),
    );
    const docs = await svc.app.inject({ method: "GET", url: "/docs" });
    expect(docs.statusCode).toBeLessThan(400);
  });

  it("serves /docs (same origin as /admin) unframeable, loading nothing from elsewhere", async () => {
    for (const url of ["/docs", "/docs/static/swagger-initializer.js"]) {
      const response = await svc.app.inject({ method: "GET", url });
      expect(response.statusCode, url).toBe(200);
      const csp = String(response.headers["content-security-policy"]);
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(csp, url).toContain("default-src 'self'");
      expect(csp, url).toContain("object-src 'none'");
      expect(csp, url).not.toMatch(/https:|validator\.swagger\.io|frame-ancestors 'self'/);
    }
  });
});
