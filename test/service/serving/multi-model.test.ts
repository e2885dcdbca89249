/**
 * Several models in one process (MODEL_REPOSITORY), in the running service through `inject()`: the
 * default plinth model and two models without plinth metadata answer side by side with their own
 * outputs, each has its own readiness, metrics and memory report, and the Open Inference
 * Protocol's repository endpoints list, load and unload them without a restart, for admins only.
 * A model that fails to load is reported and does not hold the others back.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ROLES } from "../../../service/auth/roles.js";
import { GraphModel } from "../../../service/inference/graph-model.js";
import { FORCE_VARIANT_ROLE } from "../../../service/serving/serving-request.js";
import { FIXTURE_NAME, rowForClass } from "../inference/fixture-model.js";
import { matmulModel } from "../inference/matmul-model.js";
import { metricValue, OPS_HEADERS, OPS_KEY } from "../rollout/rollout-fixture.js";
import {
  API_KEY,
  errorCode,
  KEY_HEADERS,
  startTestService,
  type TestService,
} from "../server/service-fixture.js";

/** y = [x0, x1]. */
const IDENTITY_WEIGHTS = [1, 0, 0, 1, 0, 0];
/** y = [2 x0 + x2, 2 x1 + x2]. */
const DOUBLING_WEIGHTS = [2, 0, 0, 2, 1, 1];
const ROW = { name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] };

let svc: TestService;

beforeAll(async () => {
  svc = await startTestService(
    {
      API_KEYS: `tester:${API_KEY},ops:${OPS_KEY}`,
      API_KEY_ROLES: "ops:admin",
      MODEL_REPOSITORY: "tabular=champion,doubler=models:/doubler/1,broken=models:/broken@champion",
    },
    "probabilities",
    async ({ registry }) => {
      const tabular = await registry.registerVersion("tabular", {
        "model.onnx": matmulModel(IDENTITY_WEIGHTS),
      });
      await registry.setAlias("tabular", "champion", tabular);
      await registry.registerVersion("doubler", { "model.onnx": matmulModel(DOUBLING_WEIGHTS) });
      const broken = await registry.registerVersion("broken", { "model.onnx": "not onnx" });
      await registry.setAlias("broken", "champion", broken);
    },
  );
}, 60_000);

afterAll(async () => {
  await svc?.close();
});

function infer(model: string, headers: Record<string, string> = KEY_HEADERS) {
  return svc.app.inject({
    method: "POST",
    url: `/v2/models/${model}/infer`,
    headers,
    payload: { inputs: [ROW] },
  });
}

function repository(path: string, headers: Record<string, string> = OPS_HEADERS, payload?: object) {
  return svc.app.inject({
    method: "POST",
    url: `/v2/repository${path}`,
    headers,
    ...(payload ? { payload } : {}),
  });
}

interface IndexEntry {
  name: string;
  version?: string;
  state: string;
  reason: string;
  memory?: { onnx_file_bytes: number; rss_delta_at_load_bytes: number };
}

async function indexEntry(name: string): Promise<IndexEntry | undefined> {
  return ((await repository("/index")).json() as IndexEntry[]).find((e) => e.name === name);
}

describe("several models in one process", () => {
  it("answers each model with its own outputs", async () => {
    const tabular = await infer("tabular");
    expect(tabular.statusCode).toBe(200);
    expect(tabular.json()).toMatchObject({ model_name: "tabular", model_version: "1" });
    expect(tabular.json().outputs).toEqual([{ name: "y", datatype: "FP32", shape: [1, 2], data: [1, 2] }]);

    const doubler = await infer("doubler");
    expect(doubler.json().outputs[0].data).toEqual([5, 7]);

    const fashion = await svc.app.inject({
      method: "POST",
      url: `/v2/models/${FIXTURE_NAME}/infer`,
      headers: KEY_HEADERS,
      payload: { inputs: [{ name: "pixels", shape: [1, 784], datatype: "UINT8", data: rowForClass(3) }] },
    });
    expect(fashion.statusCode).toBe(200);
    const probs = fashion.json().outputs[0].data as number[];
    expect(probs.indexOf(Math.max(...probs))).toBe(3);
  });

  it("answers /predict with the default model, as with one model", async () => {
    const res = await svc.app.inject({
      method: "POST",
      url: "/predict",
      headers: KEY_HEADERS,
      payload: { inputs: rowForClass(6) },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().model.name).toBe(FIXTURE_NAME);
    expect(res.json().predictions[0].class_id).toBe(6);
  });

  it("describes each model by its own tensors", async () => {
    const res = await svc.app.inject({ method: "GET", url: "/v2/models/tabular", headers: KEY_HEADERS });
    expect(res.json()).toEqual({
      name: "tabular",
      versions: ["1"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "x", datatype: "FP32", shape: [-1, 3] }],
      outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
    });
  });

  it("reports readiness per model: 200 ready, 404 for a model that failed to load or is unknown", async () => {
    const ready = (name: string) =>
      svc.app.inject({ method: "GET", url: `/v2/models/${name}/ready`, headers: KEY_HEADERS });
    expect((await ready("tabular")).statusCode).toBe(200);
    expect((await ready("tabular")).json()).toEqual({ ready: true });
    expect((await ready(FIXTURE_NAME)).statusCode).toBe(200);
    const broken = await ready("broken");
    expect(broken.statusCode).toBe(404);
    expect(errorCode(broken)).toBe("MODEL_NOT_FOUND");
    // The load error (file paths, registry hosts) is for operators (the repository index), not callers.
    expect(broken.json().error.message).toBe(
      'model "broken" is not loaded: failed to load (operators: POST /v2/repository/index)',
    );
    expect(errorCode(await ready("nope"))).toBe("MODEL_NOT_FOUND");
  });

  it("stays ready as a service when one repository model fails to load", async () => {
    expect((await svc.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(200);
    expect((await svc.app.inject({ method: "GET", url: "/v2/health/ready" })).json()).toEqual({
      ready: true,
    });
  });

  it("advertises the repository extension", async () => {
    const res = await svc.app.inject({ method: "GET", url: "/v2", headers: KEY_HEADERS });
    expect(res.json().extensions).toEqual(["model_repository"]);
  });

  it("lists the models with their state, reason and memory", async () => {
    const res = await repository("/index");
    expect(res.statusCode).toBe(200);
    const entries = res.json() as IndexEntry[];
    expect(entries.map((e) => [e.name, e.state])).toEqual([
      [FIXTURE_NAME, "READY"],
      ["tabular", "READY"],
      ["doubler", "READY"],
      ["broken", "UNAVAILABLE"],
    ]);
    const tabular = entries.find((e) => e.name === "tabular")!;
    expect(tabular).toMatchObject({ version: "1", reason: "" });
    expect(tabular.memory!.onnx_file_bytes).toBe(matmulModel(IDENTITY_WEIGHTS).byteLength);
    expect(Number.isInteger(tabular.memory!.rss_delta_at_load_bytes)).toBe(true);
    const broken = entries.find((e) => e.name === "broken")!;
    expect(broken.version).toBeUndefined();
    expect(broken.memory).toBeUndefined();
    expect(broken.reason).toMatch(/^failed to load: /);

    const readyOnly = (await repository("/index", OPS_HEADERS, { ready: true })).json() as IndexEntry[];
    expect(readyOnly.map((e) => e.name)).toEqual([FIXTURE_NAME, "tabular", "doubler"]);
  });

  it("labels the inference, readiness and memory metrics with each model", async () => {
    await infer("tabular");
    await infer("doubler");
    for (const model of [FIXTURE_NAME, "tabular", "doubler"]) {
      const labels = { model, model_version: "1", variant: "stable" };
      expect(await metricValue(svc, "plinth_model_ready", labels)).toBe(1);
      expect(await metricValue(svc, "plinth_model_file_bytes", labels)).toBeGreaterThan(0);
      const durations = await svc.metrics.registry.getSingleMetricAsString(
        "plinth_inference_duration_seconds",
      );
      const count = new RegExp(
        `^plinth_inference_duration_seconds_count\\{model="${model}",[^}]*\\} (\\d+)$`,
        "m",
      );
      expect(Number(count.exec(durations)?.[1] ?? 0), model).toBeGreaterThan(0);
    }
    const fileBytes = await metricValue(svc, "plinth_model_file_bytes", {
      model: "doubler",
      model_version: "1",
      variant: "stable",
    });
    expect(fileBytes).toBe(matmulModel(DOUBLING_WEIGHTS).byteLength);
  });

  it("refuses to unload the default model, saying why", async () => {
    const res = await repository(`/models/${FIXTURE_NAME}/unload`);
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe("INVALID_REQUEST");
    expect(res.json().error.message).toContain("default model (MODEL_NAME): it cannot be unloaded");
    expect((await infer("tabular")).statusCode).toBe(200);
  });

  it("refuses load, unload and the index to callers without the role, and without credentials", async () => {
    for (const path of ["/models/tabular/load", "/models/tabular/unload"]) {
      const forbidden = await repository(path, KEY_HEADERS);
      expect(forbidden.statusCode).toBe(403);
      expect(errorCode(forbidden)).toBe("FORBIDDEN");
      expect(errorCode(await repository(path, {}))).toBe("UNAUTHENTICATED");
    }
    expect((await repository("/index", KEY_HEADERS)).statusCode).toBe(403);
    expect((await indexEntry("tabular"))!.state).toBe("READY");
  });

  it("answers 404 for load or unload of a model the repository does not hold", async () => {
    const res = await repository("/models/nope/load");
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toContain('model "nope" is not in this service\'s model repository');
  });

  it("unloads a model: its requests get 404 naming it, the others keep serving", async () => {
    const res = await repository("/models/doubler/unload");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: "doubler", state: "UNAVAILABLE", reason: "unloaded" });
    const refused = await infer("doubler");
    expect(refused.statusCode).toBe(404);
    expect(errorCode(refused)).toBe("MODEL_NOT_FOUND");
    expect(refused.json().error.message).toBe('model "doubler" is not loaded: unloaded');
    expect(
      (await svc.app.inject({ method: "GET", url: "/v2/models/doubler/ready", headers: KEY_HEADERS }))
        .statusCode,
    ).toBe(404);
    expect(await metricValue(svc, "plinth_model_ready", { model: "doubler" })).toBe(0);
    expect((await infer("tabular")).statusCode).toBe(200);
    // Unloading an unloaded model does nothing, as the protocol has it.
    expect((await repository("/models/doubler/unload")).statusCode).toBe(200);
  });

  it("loads an unloaded model again without a restart", async () => {
    const res = await repository("/models/doubler/load");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: "doubler", version: "1", state: "READY", reason: "" });
    const answer = await infer("doubler");
    expect(answer.statusCode).toBe(200);
    expect(answer.json().outputs[0].data).toEqual([5, 7]);
  });

  it("reports a load that fails with 500, the model staying unavailable", async () => {
    const res = await repository("/models/broken/load");
    expect(res.statusCode).toBe(500);
    expect(errorCode(res)).toBe("MODEL_LOAD_FAILED");
    expect(res.json().error.message).toContain('model "broken" could not be loaded');
    expect((await indexEntry("broken"))!.state).toBe("UNAVAILABLE");
  });

  it("lets a request in flight finish before the unload releases its model", async () => {
    const run = GraphModel.prototype.run;
    let started!: () => void;
    const inFlight = new Promise<void>((resolve) => (started = resolve));
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const spy = vi.spyOn(GraphModel.prototype, "run").mockImplementation(async function (
      this: GraphModel,
      ...args: Parameters<GraphModel["run"]>
    ) {
      if (this.name === "tabular") {
        started();
        await gate;
      }
      return run.apply(this, args);
    });
    try {
      const request = infer("tabular");
      await inFlight;
      const unload = repository("/models/tabular/unload");
      await vi.waitFor(async () => expect((await indexEntry("tabular"))!.reason).toMatch(/^unloading/));
      const late = await infer("tabular");
      expect(late.statusCode).toBe(404);
      expect(late.json().error.message).toContain("unloading");
      finish();
      const answered = await request;
      expect(answered.statusCode).toBe(200);
      expect(answered.json().outputs[0].data).toEqual([1, 2]);
      expect((await unload).json()).toMatchObject({
        name: "tabular",
        state: "UNAVAILABLE",
        reason: "unloaded",
      });
    } finally {
      finish();
      spy.mockRestore();
    }
    expect((await repository("/models/tabular/load")).statusCode).toBe(200);
  });

  it("audits who loaded and unloaded what", () => {
    const records = svc.observability.audit
      .recent()
      .actions.filter((r) => r.action.startsWith("repository-"));
    expect(records).toContainEqual(
      expect.objectContaining({
        who: "key:ops",
        action: "repository-unload",
        result: "ok",
        detail: { model: "doubler", version: null },
      }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({ who: "key:ops", action: "repository-load", result: "failed" }),
    );
  });
});

describe("the serving core's request", () => {
  it("checks the force-variant role by the name credentials grant", () => {
    expect(ROLES).toContain(FORCE_VARIANT_ROLE);
  });
});
