import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureModelBytes, FIXTURE_NAME, rowForClass } from "../inference/fixture-model.js";
import {
  API_KEY,
  errorCode,
  KEY_HEADERS,
  OTHER_KEY,
  startTestService,
  type TestService,
} from "./service-fixture.js";

let svc: TestService;
beforeAll(async () => {
  // Reloading is an admin action: `tester` holds the admin role, `other` holds none.
  svc = await startTestService({
    API_KEYS: `tester:${API_KEY},other:${OTHER_KEY}`,
    API_KEY_ROLES: "tester:admin",
  });
});
afterAll(() => svc.close());

const reload = () => svc.app.inject({ method: "POST", url: "/reload-model", headers: KEY_HEADERS });
const predictClass = async (cls: number) => {
  const res = await svc.app.inject({
    method: "POST",
    url: "/predict",
    headers: KEY_HEADERS,
    payload: { inputs: rowForClass(cls) },
  });
  return res.json() as { model: { version: string }; predictions: { class_id: number }[] };
};

describe("POST /reload-model", () => {
  it("reports no change when the stable alias still points at the serving version", async () => {
    const res = await reload();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      results: [
        {
          variant: "stable",
          trigger: "api",
          result: "unchanged",
          previous_version: "1",
          version: "1",
          attempted_version: "1",
        },
      ],
    });
  });

  it("swaps to the version the alias now names, and serves it", async () => {
    const version = await svc.registry.registry.registerVersion(FIXTURE_NAME, {
      "model.onnx": fixtureModelBytes("logits"),
    });
    await svc.registry.registry.setAlias(FIXTURE_NAME, "champion", version);
    const res = await reload();
    expect(res.json().results).toEqual([
      {
        variant: "stable",
        trigger: "api",
        result: "loaded",
        previous_version: "1",
        version: "2",
        attempted_version: "2",
      },
    ]);
    const served = await predictClass(4);
    expect(served.model.version).toBe("2");
    expect(served.predictions[0]!.class_id).toBe(4);
    const metrics = await svc.metrics.registry.getSingleMetricAsString("plinth_model_info");
    expect(metrics).toContain('model_version="2"');
    expect(metrics).not.toContain('model_version="1"');
  });

  it("keeps the old model serving when the new version fails to load", async () => {
    const version = await svc.registry.registry.registerVersion(FIXTURE_NAME, {
      "model.onnx": "not an onnx file",
    });
    await svc.registry.registry.setAlias(FIXTURE_NAME, "champion", version);
    const res = await reload();
    expect(res.statusCode).toBe(500);
    expect(errorCode(res)).toBe("RELOAD_FAILED");
    expect(res.json().error.message).toContain(path.join(svc.registry.dir, FIXTURE_NAME, version));
    const served = await predictClass(6);
    expect(served.model.version).toBe("2");
    expect(served.predictions[0]!.class_id).toBe(6);
    expect((await svc.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(200);
  });

  it("requires credentials", async () => {
    const res = await svc.app.inject({ method: "POST", url: "/reload-model" });
    expect(res.statusCode).toBe(401);
    expect(errorCode(res)).toBe("UNAUTHENTICATED");
  });

  it("refuses a caller without the admin role", async () => {
    const res = await svc.app.inject({
      method: "POST",
      url: "/reload-model",
      headers: { "x-api-key": OTHER_KEY },
    });
    expect(res.statusCode).toBe(403);
    expect(errorCode(res)).toBe("FORBIDDEN");
  });

  it("refuses an unknown variant and a candidate that is not configured", async () => {
    const bad = await svc.app.inject({
      method: "POST",
      url: "/reload-model",
      headers: KEY_HEADERS,
      payload: { variant: "green" },
    });
    expect(bad.statusCode).toBe(400);
    expect(errorCode(bad)).toBe("INVALID_REQUEST");
    const none = await svc.app.inject({
      method: "POST",
      url: "/reload-model",
      headers: KEY_HEADERS,
      payload: { variant: "candidate" },
    });
    expect(none.statusCode).toBe(400);
    expect(none.json().error.message).toBe("variant: no candidate is configured");
  });

  // Regression (API fuzzing): ajv's removeAdditional stripped an unknown member and reloaded anyway.
  it("refuses a member the body schema does not define", async () => {
    const res = await svc.app.inject({
      method: "POST",
      url: "/reload-model",
      headers: KEY_HEADERS,
      payload: { variant: "all", force: true },
    });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe("INVALID_REQUEST");
    expect(res.json().error.message).toBe('body must NOT have additional property "force"');
  });

  it("turns readiness false when draining, while predictions still complete", async () => {
    svc.models.startDraining();
    const ready = await svc.app.inject({ method: "GET", url: "/ready" });
    expect(ready.statusCode).toBe(503);
    expect(errorCode(ready)).toBe("NOT_READY");
    expect((await svc.app.inject({ method: "GET", url: "/v2/health/ready" })).statusCode).toBe(400);
    expect((await predictClass(1)).predictions[0]!.class_id).toBe(1);
  });
});
