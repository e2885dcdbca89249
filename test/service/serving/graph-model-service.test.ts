/**
 * A model without plinth metadata in the running service (in process, through `inject()`): it
 * serves over /v2 by its graph's contract, rollouts route and fall back for it as for plinth
 * models, a candidate with other tensors is refused, and the features that need plinth metadata
 * (/predict, /predict-image, explain, drift) say so instead of failing.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DRIFT_NEEDS_METADATA } from "../../../service/ops/summary.js";
import { matmulModel } from "../inference/matmul-model.js";
import { OPS_HEADERS, OPS_KEY } from "../rollout/rollout-fixture.js";
import { API_KEY, errorCode, startTestService, type TestService } from "../server/service-fixture.js";

const MODEL = "tabular";

const STABLE_WEIGHTS = [1, 0, 0, 1, 0, 0];
const CANDIDATE_WEIGHTS = [2, 0, 0, 2, 1, 1];

let svc: TestService;

beforeAll(async () => {
  svc = await startTestService(
    {
      API_KEYS: `tester:${API_KEY},ops:${OPS_KEY}`,
      API_KEY_ROLES: "ops:admin+force-variant",
      MODEL_NAME: MODEL,
      MODEL_CANDIDATE: "challenger",
      ROLLOUT_STRATEGY: "canary",
      CANDIDATE_WEIGHT: "50",
    },
    "probabilities",
    async ({ registry }) => {
      const v1 = await registry.registerVersion(MODEL, { "model.onnx": matmulModel(STABLE_WEIGHTS) });
      await registry.setAlias(MODEL, "champion", v1);
      const v2 = await registry.registerVersion(MODEL, { "model.onnx": matmulModel(CANDIDATE_WEIGHTS) });
      await registry.setAlias(MODEL, "challenger", v2);
    },
  );
}, 60_000);

afterAll(async () => {
  await svc?.close();
});

const ROW = { name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] };

async function infer(variant: "stable" | "candidate") {
  const res = await svc.app.inject({
    method: "POST",
    url: `/v2/models/${MODEL}/infer`,
    headers: { ...OPS_HEADERS, "x-plinth-variant": variant },
    payload: { inputs: [ROW] },
  });
  return { res, body: res.json() as { model_version: string; outputs: { name: string; data: number[] }[] } };
}

describe("a model without plinth metadata", () => {
  it("answers /v2 with its own tensors on the variant the request is routed to", async () => {
    const stable = await infer("stable");
    expect(stable.res.statusCode).toBe(200);
    expect(stable.res.headers["x-plinth-variant"]).toBe("stable");
    expect(stable.body.outputs).toEqual([{ name: "y", datatype: "FP32", shape: [1, 2], data: [1, 2] }]);
    const candidate = await infer("candidate");
    expect(candidate.res.headers["x-plinth-variant"]).toBe("candidate");
    expect(candidate.body.model_version).toBe("2");
    expect(candidate.body.outputs[0]!.data).toEqual([5, 7]);
  });

  it("falls back to stable when the candidate fails, counting the fallback", async () => {
    const candidate = svc.models.candidate!.current!;
    if (candidate.kind !== "graph") throw new Error("the candidate should be a graph model");
    const spy = vi.spyOn(candidate, "run").mockRejectedValue(new Error("session exploded"));
    const before = svc.rollout.snapshot().fallbacks.byReason.error;
    const { res, body } = await infer("candidate");
    spy.mockRestore();
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-plinth-variant"]).toBe("stable");
    expect(body.outputs[0]!.data).toEqual([1, 2]);
    expect(svc.rollout.snapshot().fallbacks.byReason.error).toBe(before + 1);
  });

  it("reports its graph contract in /metadata, with no plinth metadata", async () => {
    const body = (await svc.app.inject({ method: "GET", url: "/metadata", headers: OPS_HEADERS })).json();
    expect(body.metadata).toBeNull();
    expect(body.contract).toEqual({
      inputs: [{ name: "x", datatype: "FP32", shape: [-1, 3] }],
      outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
    });
    expect(svc.rollout.snapshot().variants.stable.plinthMetadata).toBe(false);
  });

  it.each([
    ["/predict", "application/json", JSON.stringify({ inputs: [1, 2, 3] })],
    ["/predict-image", "image/png", Buffer.from("not decoded: refused before")],
    ["/predict-image/explain", "image/png", Buffer.from("not decoded: refused before")],
  ])("answers %s with a 400 saying the model has no plinth metadata", async (url, type, payload) => {
    const res = await svc.app.inject({
      method: "POST",
      url,
      headers: { ...OPS_HEADERS, "content-type": type },
      payload,
    });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe("INVALID_REQUEST");
    expect(res.json().error.message).toContain(`${url} is not available for model "${MODEL}" version `);
  });

  it("says in the ops summary that drift does not monitor it", async () => {
    const body = (await svc.app.inject({ method: "GET", url: "/ops/summary", headers: OPS_HEADERS })).json();
    expect(body.drift.baseline).toBe(DRIFT_NEEDS_METADATA);
  });

  it("refuses a candidate whose tensors differ from stable's; the old candidate keeps serving", async () => {
    const { registry } = svc.registry;
    const v3 = await registry.registerVersion(MODEL, { "model.onnx": matmulModel(CANDIDATE_WEIGHTS, "z") });
    await registry.setAlias(MODEL, "challenger", v3);
    const [event] = await svc.rollout.reload({ variant: "candidate", trigger: "api" });
    expect(event!.result).toBe("failed");
    expect(event!.error).toContain(
      `candidate version ${v3} has other tensors than stable: outputs z:FP32[-1,2] vs y:FP32[-1,2]`,
    );
    expect(svc.models.candidate!.current!.version).toBe("2");
  });
});
