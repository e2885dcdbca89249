import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { requirePlinthModel } from "../../../service/serving/capabilities.js";
import { CanaryBuckets } from "../../../service/rollout/buckets.js";
import { errorCode, type TestService, startTestService } from "../server/service-fixture.js";
import { rowForClass } from "../inference/fixture-model.js";
import {
  CANDIDATE_SHIFT,
  metricValue,
  OPS_HEADERS,
  postReload,
  predictRow,
  startRolloutService,
  TESTER_HEADERS,
} from "./rollout-fixture.js";

const MODEL = "fashion-classifier";
const JWT_SECRET = "an-hs256-secret-of-at-least-32-bytes!";
const BUCKET_KEY = "a-canary-bucket-key-of-32-chars-or-more";
/** The service's buckets, as every replica sharing ROLLOUT_BUCKET_KEY computes them. */
const buckets = new CanaryBuckets(BUCKET_KEY);
const routesToCandidate = (key: string, weight: number) => buckets.routesToCandidate(key, weight);

function token(roles: unknown): Promise<string> {
  return new SignJWT({ sub: "alice", roles })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer("https://issuer.test")
    .setAudience("plinth")
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(JWT_SECRET));
}
let svc: TestService;

beforeAll(async () => {
  svc = await startRolloutService({
    ROLLOUT_STRATEGY: "canary",
    CANDIDATE_WEIGHT: "50",
    ROLLOUT_BUCKET_KEY: BUCKET_KEY,
    CANDIDATE_CIRCUIT_THRESHOLD: "3",
    CANDIDATE_TIMEOUT_MS: "100",
    JWT_HS256_SECRET: JWT_SECRET,
    JWT_ISSUER: "https://issuer.test",
    JWT_AUDIENCE: "plinth",
    DEPLOYMENT_COLOR: "green",
  });
});
afterAll(() => svc.close());

const users = Array.from({ length: 60 }, (_, i) => `customer-${i}`);
const asUser = (user: string) => ({ ...TESTER_HEADERS, "x-user-id": user });
const forced = (variant: string) => ({ ...OPS_HEADERS, "x-plinth-variant": variant });

/** A plinth model's capabilities: everything. */
const ALL_SUPPORTED = {
  predict: { supported: true },
  predictImage: { supported: true },
  explain: { supported: true },
  drift: { supported: true },
  shadowAgreement: { supported: true },
};

describe("the rollout snapshot", () => {
  it("describes both variants, the split, the colour and the registry's aliases", async () => {
    const sha = expect.stringMatching(/^[0-9a-f]{64}$/);
    const time = expect.stringMatching(/^\d{4}-\d\d-\d\dT/);
    expect(svc.rollout.snapshot()).toEqual({
      model: MODEL,
      strategy: "canary",
      weights: { stable: 50, candidate: 50 },
      shadowPercent: 0,
      stickyHeader: "x-user-id",
      color: "green",
      variants: {
        stable: {
          ref: "champion",
          state: "ready",
          reason: null,
          version: "1",
          sha256: sha,
          loadedAt: time,
          ready: true,
          plinthMetadata: true,
          capabilities: ALL_SUPPORTED,
        },
        candidate: {
          ref: "challenger",
          state: "ready",
          reason: null,
          version: "2",
          sha256: sha,
          loadedAt: time,
          ready: true,
          plinthMetadata: true,
          capabilities: ALL_SUPPORTED,
        },
      },
      aliases: { champion: "1", challenger: "2" },
      circuit: { state: "closed", consecutiveFailures: 0, threshold: 3, openedAt: null, probeAt: null },
      fallbacks: { total: 0, byReason: { load: 0, error: 0, timeout: 0, circuit_open: 0, overloaded: 0 } },
      shadow: {
        compared: 0,
        agreed: 0,
        agreement: null,
        agreementUnsupported: null,
        dropped: 0,
        latencyP95MsByVariant: { stable: null, candidate: null },
      },
      lastReload: {
        at: time,
        variant: "candidate",
        trigger: "startup",
        result: "loaded",
        previousVersion: null,
        version: "2",
        attemptedVersion: "2",
      },
    });
    const metadata = await svc.app.inject({ method: "GET", url: "/metadata", headers: TESTER_HEADERS });
    expect(metadata.json().rollout).toEqual({
      strategy: "canary",
      candidateWeight: 50,
      shadowPercent: 0,
      candidate: { reference: "challenger", version: "2" },
    });
    expect(metadata.json().deployment).toEqual({ color: "green" });
  });
});

describe("canary routing", () => {
  it("sends each sticky key to the variant its bucket names, and keeps it there", async () => {
    for (const round of [1, 2]) {
      for (const user of users) {
        const res = await predictRow(svc, 3, asUser(user));
        const candidate = routesToCandidate(user, 50);
        expect(res.status, `${user} round ${round}`).toBe(200);
        expect(res.body.model).toEqual({
          name: MODEL,
          version: candidate ? "2" : "1",
          variant: candidate ? "candidate" : "stable",
        });
        expect(res.variantHeader).toBe(candidate ? "candidate" : "stable");
        expect(res.body.predictions[0]!.class_id).toBe(candidate ? 3 + CANDIDATE_SHIFT : 3);
      }
    }
    const toCandidate = users.filter((u) => routesToCandidate(u, 50)).length;
    expect(toCandidate).toBeGreaterThan(0);
    expect(toCandidate).toBeLessThan(users.length);
  });

  it("labels request and prediction metrics with the variant and version that answered", async () => {
    const route = { route: "/predict", method: "POST", status_code: "200" };
    const toCandidate = users.filter((u) => routesToCandidate(u, 50)).length * 2;
    const candidate = { ...route, variant: "candidate", model_version: "2" };
    const stable = { ...route, variant: "stable", model_version: "1" };
    expect(await metricValue(svc, "plinth_http_requests_total", candidate)).toBe(toCandidate);
    expect(await metricValue(svc, "plinth_http_requests_total", stable)).toBe(users.length * 2 - toCandidate);
    expect(
      await metricValue(svc, "plinth_predictions_total", {
        variant: "candidate",
        model_version: "2",
        label: "coat",
      }),
    ).toBe(toCandidate);
    const inference = await svc.metrics.registry.getSingleMetricAsString("plinth_inference_batch_size");
    expect(inference).toContain('model_version="2",variant="candidate"');
  });

  it("routes a request without a sticky key by its prediction id", async () => {
    const variants = new Set<string>();
    for (let i = 0; i < 40; i++) variants.add((await predictRow(svc, 1)).body.model.variant);
    expect([...variants].sort()).toEqual(["candidate", "stable"]);
  });
});

describe("canary routing on /models/<default model>/predict", () => {
  const perModel = (headers: Record<string, string>) =>
    svc.app.inject({
      method: "POST",
      url: `/models/${MODEL}/predict`,
      headers,
      payload: { inputs: rowForClass(3) },
    });

  it("sends each sticky key to the variant its bucket names, as /predict does", async () => {
    for (const user of users) {
      const res = await perModel(asUser(user));
      const candidate = routesToCandidate(user, 50);
      expect(res.statusCode, user).toBe(200);
      expect(res.json().model).toEqual({
        name: MODEL,
        version: candidate ? "2" : "1",
        variant: candidate ? "candidate" : "stable",
      });
      expect(res.headers["x-plinth-variant"]).toBe(candidate ? "candidate" : "stable");
      expect(res.json().predictions[0].class_id).toBe(candidate ? 3 + CANDIDATE_SHIFT : 3);
      expect((await predictRow(svc, 3, asUser(user))).body.model).toEqual(res.json().model);
    }
  });

  it("honours the force header under the same permission", async () => {
    const stableUser = users.find((u) => !routesToCandidate(u, 50))!;
    const forcedRes = await perModel({ ...forced("candidate"), "x-user-id": stableUser });
    expect(forcedRes.json().model).toEqual({ name: MODEL, version: "2", variant: "candidate" });
    const refused = await perModel({ ...TESTER_HEADERS, "x-plinth-variant": "candidate" });
    expect(refused.statusCode).toBe(403);
    expect(errorCode(refused)).toBe("FORBIDDEN");
  });
});

describe("the force header", () => {
  const stableUser = users.find((u) => !routesToCandidate(u, 50))!;

  it("is refused for a caller without the force-variant role", async () => {
    const res = await svc.app.inject({
      method: "POST",
      url: "/predict",
      headers: { ...TESTER_HEADERS, "x-plinth-variant": "candidate" },
      payload: { inputs: rowForClass(2) },
    });
    expect(res.statusCode).toBe(403);
    expect(errorCode(res)).toBe("FORBIDDEN");
    expect(res.json().error.message).toBe("x-plinth-variant needs the force-variant role");
  });

  it("pins a permitted caller to either variant, whatever its bucket", async () => {
    const toCandidate = await predictRow(svc, 2, { ...forced("candidate"), "x-user-id": stableUser });
    expect(toCandidate.body.model).toEqual({ name: MODEL, version: "2", variant: "candidate" });
    const toStable = await predictRow(svc, 2, forced("stable"));
    expect(toStable.body.model).toEqual({ name: MODEL, version: "1", variant: "stable" });
  });

  it("honours the roles claim of a JWT", async () => {
    const bearer = async (roles: unknown) => ({
      authorization: `Bearer ${await token(roles)}`,
      "x-plinth-variant": "candidate",
    });
    const allowed = await predictRow(svc, 2, await bearer(["force-variant"]));
    expect(allowed.body.model.variant).toBe("candidate");
    const spaceSeparated = await predictRow(svc, 2, await bearer("reader force-variant"));
    expect(spaceSeparated.body.model.variant).toBe("candidate");
    for (const roles of [["admin"], "force-variants", undefined, [42]]) {
      const refused = await predictRow(svc, 2, await bearer(roles));
      expect(refused.status, JSON.stringify(roles)).toBe(403);
      expect(refused.body.error!.code).toBe("FORBIDDEN");
    }
  });

  it("rejects a value other than stable or candidate", async () => {
    const res = await predictRow(svc, 2, forced("green"));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: "INVALID_REQUEST",
      message: 'x-plinth-variant must be "stable" or "candidate"',
    });
  });

  it("pins by version on the v2 protocol, under the same permission", async () => {
    const infer = (headers: Record<string, string>) =>
      svc.app.inject({
        method: "POST",
        url: `/v2/models/${MODEL}/versions/2/infer`,
        headers,
        payload: { inputs: [{ name: "pixels", shape: [1, 784], datatype: "FP32", data: rowForClass(5) }] },
      });
    const refused = await infer(TESTER_HEADERS);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toBe(
      "addressing the candidate version needs the force-variant role",
    );
    const allowed = await infer(OPS_HEADERS);
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json().model_version).toBe("2");
    const metadata = await svc.app.inject({
      method: "GET",
      url: `/v2/models/${MODEL}`,
      headers: TESTER_HEADERS,
    });
    expect(metadata.json().versions).toEqual(["1", "2"]);
  });
});

describe("candidate failures", () => {
  const candidateModel = () => requirePlinthModel(svc.models.candidate!.current!, "the test");
  const fallbacks = (reason: string) =>
    metricValue(svc, "plinth_candidate_fallbacks_total", { model_version: "2", reason });

  it("answers with stable when the candidate errors, and counts it", async () => {
    const spy = vi.spyOn(candidateModel(), "infer").mockRejectedValue(new Error("session exploded"));
    const res = await predictRow(svc, 7, forced("candidate"));
    expect(res.status).toBe(200);
    expect(res.body.model).toEqual({ name: MODEL, version: "1", variant: "stable" });
    expect(res.variantHeader).toBe("stable");
    expect(res.body.predictions[0]!.class_id).toBe(7);
    expect(await fallbacks("error")).toBe(1);
    expect(svc.rollout.snapshot().circuit).toMatchObject({ state: "closed", consecutiveFailures: 1 });
    spy.mockRestore();
  });

  it("answers with stable when the candidate exceeds CANDIDATE_TIMEOUT_MS", async () => {
    const spy = vi.spyOn(candidateModel(), "infer").mockReturnValue(new Promise(() => undefined));
    const res = await predictRow(svc, 8, forced("candidate"));
    expect(res.body.model.variant).toBe("stable");
    expect(res.body.predictions[0]!.class_id).toBe(8);
    expect(await fallbacks("timeout")).toBe(1);
    expect(svc.rollout.snapshot().circuit.consecutiveFailures).toBe(2);
    spy.mockRestore();
  });

  it("opens the circuit after CANDIDATE_CIRCUIT_THRESHOLD consecutive failures; a reload closes it", async () => {
    const spy = vi.spyOn(candidateModel(), "infer").mockRejectedValue(new Error("still broken"));
    await predictRow(svc, 1, forced("candidate"));
    const open = svc.rollout.snapshot();
    expect(open.circuit).toMatchObject({ state: "open", consecutiveFailures: 3, threshold: 3 });
    expect(open.circuit.openedAt).not.toBeNull();
    // CANDIDATE_CIRCUIT_COOLDOWN_MS (default 30 s) after it opened, a probe is let through.
    expect(Date.parse(open.circuit.probeAt!) - Date.parse(open.circuit.openedAt!)).toBe(30_000);
    const circuitGauge = { model: MODEL, model_version: "2", variant: "candidate" };
    expect(await metricValue(svc, "plinth_candidate_circuit_open", circuitGauge)).toBe(1);
    spy.mockClear();

    const bypassed = await predictRow(svc, 1, forced("candidate"));
    expect(bypassed.body.model.variant).toBe("stable");
    expect(spy).not.toHaveBeenCalled();
    expect(await fallbacks("circuit_open")).toBe(1);
    spy.mockRestore();

    const reload = await postReload(svc, "candidate");
    expect(reload.statusCode).toBe(200);
    expect(reload.json().results).toMatchObject([
      { variant: "candidate", result: "unchanged", version: "2" },
    ]);
    expect(svc.rollout.snapshot().circuit).toEqual({
      state: "closed",
      consecutiveFailures: 0,
      threshold: 3,
      openedAt: null,
      probeAt: null,
    });
    expect(await metricValue(svc, "plinth_candidate_circuit_open", circuitGauge)).toBe(0);
    expect((await predictRow(svc, 1, forced("candidate"))).body.model.variant).toBe("candidate");
    expect(svc.rollout.snapshot().fallbacks).toEqual({
      total: 4,
      byReason: { load: 0, error: 2, timeout: 1, circuit_open: 1, overloaded: 0 },
    });
  });
});

describe("a candidate that cannot be loaded", () => {
  let broken: TestService;
  beforeAll(async () => {
    broken = await startRolloutService({
      ROLLOUT_STRATEGY: "canary",
      CANDIDATE_WEIGHT: "100",
      MODEL_CANDIDATE: "9",
    });
  });
  afterAll(() => broken.close());

  it("does not stop the service: its traffic falls back to stable, counted with reason load", async () => {
    const snapshot = broken.rollout.snapshot();
    expect(snapshot.variants.candidate).toMatchObject({ ref: "9", version: null, ready: false });
    expect(snapshot.lastReload).toMatchObject({ variant: "candidate", trigger: "startup", result: "failed" });
    expect(snapshot.lastReload!.error).toContain("has no version 9");
    const res = await predictRow(broken, 4);
    expect(res.status).toBe(200);
    expect(res.body.model).toEqual({ name: MODEL, version: "1", variant: "stable" });
    expect(await metricValue(broken, "plinth_candidate_fallbacks_total", { reason: "load" })).toBe(1);
    expect(
      await metricValue(broken, "plinth_model_reloads_total", { variant: "candidate", result: "failed" }),
    ).toBe(1);
    expect((await broken.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(200);
  });
});

describe("a single-strategy service", () => {
  let single: TestService;
  beforeAll(async () => {
    single = await startTestService({
      API_KEYS: `ops:${"ops-key-0123456789abcdef"}`,
      API_KEY_ROLES: "ops:force-variant",
    });
  });
  afterAll(() => single.close());

  it("refuses to force a candidate it does not have", async () => {
    const res = await predictRow(single, 1, forced("candidate"));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: "INVALID_REQUEST",
      message: "x-plinth-variant: no candidate is configured",
    });
    expect((await predictRow(single, 1, forced("stable"))).body.model.variant).toBe("stable");
  });
});
