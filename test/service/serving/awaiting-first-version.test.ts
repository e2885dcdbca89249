/**
 * A model whose registry answers but holds no version for it yet (issue #18): a steady, explicit
 * state, never a crash. The process is live, `/ready` is 503 naming the model, the registry and
 * what to do, predictions answer 503 NOT_READY saying the same, plinth_model_state says
 * `awaiting_version`, and the ops summary carries the reason. When the registry holds no version
 * of the model at all (a fresh stack), `/ready/pod` (the kubelet's readiness) is 200 so those
 * answers reach people; an alias missing on a model that has versions (a canary candidate's, or a
 * wrong reference) keeps the pod out instead. The first version registered is loaded without a
 * restart. The same for a canary candidate and a MODEL_REPOSITORY model.
 *
 * The readiness split: a pod that is starting, loading, failed to load a version that exists,
 * cannot reach its registry, or is shutting down is not pod-ready. A wrong reference is still a
 * startup error: a malformed one names the setting, a pinned version the model does not have
 * (while it has others) stops the start naming the reference.
 */
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../service/config.js";
import { METRICS } from "../../../service/contract/metrics.js";
import { LocalRegistry } from "../../../service/registry/local.js";
import { buildServer, type Service } from "../../../service/server/build.js";
import { FIXTURE_NAME, fixtureModelBytes, rowForClass } from "../inference/fixture-model.js";
import { matmulModel } from "../inference/matmul-model.js";

const API_KEY = "awaiting-key-0123456789";
const HEADERS = { "x-api-key": API_KEY };
/** The first-version poll backs off from 0.5 s; a version registered early is seen within seconds. */
const POLL = { timeout: 30_000, interval: 100 };
const IRIS = "iris";

interface Running {
  readonly service: Service;
  readonly registry: LocalRegistry;
  readonly dir: string;
}

const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.service.app.close();
    await rm(r.dir, { recursive: true, force: true });
  }
});

/** The service over an empty local registry (`prepare` may add versions first); `start`: load the models. */
async function serve(
  env: Record<string, string> = {},
  prepare: (registry: LocalRegistry) => Promise<void> = async () => undefined,
  start = true,
): Promise<Running> {
  const dir = await mkdtemp(path.join(tmpdir(), "plinth-awaiting-"));
  const registry = new LocalRegistry(dir);
  await prepare(registry);
  const config = loadConfig({
    API_KEYS: `ops:${API_KEY}`,
    API_KEY_ROLES: "ops:admin",
    PLINTH_REGISTRY_DIR: dir,
    MAX_EVENT_LOOP_DELAY_MS: "0",
    PORT: "0",
    METRICS_PORT: "0",
    ...env,
  });
  const service = await buildServer(config, { processMetrics: false });
  const r = { service, registry, dir };
  running.push(r);
  if (start) await service.dataPlane.start();
  return r;
}

async function publish(registry: LocalRegistry, name: string, alias: string, bytes: Uint8Array) {
  const version = await registry.registerVersion(name, { "model.onnx": bytes });
  await registry.setAlias(name, alias, version);
  return version;
}

const get = (s: Service, url: string) => s.app.inject({ method: "GET", url, headers: HEADERS });

/** plinth_model_state's value for `model`, `variant`, `state`. */
async function modelState(s: Service, model: string, variant: string, state: string): Promise<number> {
  const metric = (await s.metrics.registry.getSingleMetric(METRICS.modelState.name)!.get()) as {
    values: { value: number; labels: Record<string, string> }[];
  };
  const found = metric.values.find(
    (v) => v.labels.model === model && v.labels.variant === variant && v.labels.state === state,
  );
  return found?.value ?? NaN;
}

async function predict(s: Service) {
  return s.app.inject({
    method: "POST",
    url: "/predict",
    headers: HEADERS,
    payload: { inputs: rowForClass(3) },
  });
}

describe("the default model on an empty registry", () => {
  it("is live, explicitly not ready, pod-ready, and loads its first version without a restart", async () => {
    const { service, registry, dir } = await serve();
    expect((await get(service, "/health")).statusCode).toBe(200);

    const ready = await get(service, "/ready");
    expect(ready.statusCode).toBe(503);
    expect(ready.headers["retry-after"]).toMatch(/^[1-9][0-9]*$/);
    const readyError = ready.json<{ error: { code: string; message: string } }>().error;
    expect(readyError.code).toBe("NOT_READY");
    expect(readyError.message).toBe(
      `model "${FIXTURE_NAME}" is not ready: stable (champion) awaiting its first version: ` +
        `models:/${FIXTURE_NAME}@champion names no version in ${dir} yet ` +
        `(MODEL_NOT_FOUND: model "${FIXTURE_NAME}" not found in ${dir}); ` +
        `register a version of model "${FIXTURE_NAME}" and set its alias "champion" to it`,
    );

    const pod = await get(service, "/ready/pod");
    expect(pod.statusCode).toBe(200);
    expect(pod.json()).toMatchObject({
      status: "awaiting_version",
      models: [
        {
          name: FIXTURE_NAME,
          state: "UNAVAILABLE",
          variants: [{ variant: "stable", state: "awaiting_version" }],
          reason: expect.stringContaining("awaiting its first version") as unknown,
        },
      ],
    });

    const predicted = await predict(service);
    expect(predicted.statusCode).toBe(503);
    const envelope = predicted.json<{ error: { code: string; message: string; requestId: string } }>();
    expect(envelope.error).toEqual({
      code: "NOT_READY",
      message: readyError.message,
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
    });
    expect(await modelState(service, FIXTURE_NAME, "stable", "awaiting_version")).toBe(1);
    expect(await modelState(service, FIXTURE_NAME, "stable", "ready")).toBe(0);

    const summary = await service.app.inject({ method: "GET", url: "/ops/summary", headers: HEADERS });
    expect(summary.statusCode).toBe(200);
    expect(summary.json()).toMatchObject({
      rollout: {
        variants: {
          stable: {
            version: null,
            state: "awaiting_version",
            reason: expect.stringContaining(`register a version of model "${FIXTURE_NAME}"`) as unknown,
          },
        },
      },
    });

    const version = await publish(registry, FIXTURE_NAME, "champion", fixtureModelBytes("probabilities"));
    await expect.poll(async () => (await get(service, "/ready")).statusCode, POLL).toBe(200);
    expect((await get(service, "/ready")).json()).toEqual({ status: "ready", model: FIXTURE_NAME, version });
    expect((await get(service, "/ready/pod")).json()).toMatchObject({ status: "ready" });
    expect((await predict(service)).statusCode).toBe(200);
    expect(await modelState(service, FIXTURE_NAME, "stable", "ready")).toBe(1);
    expect(await modelState(service, FIXTURE_NAME, "stable", "awaiting_version")).toBe(0);
    expect(service.rollout.snapshot().variants.stable).toMatchObject({ state: "ready", reason: null });
  });

  it("reports a first version that fails to load, and loads a fixed one without a restart", async () => {
    // The alias watcher is off: the first-version poll alone must find the fixed version.
    const { service, registry } = await serve({ MODEL_WATCH_INTERVAL_MS: "0" });
    expect(await modelState(service, FIXTURE_NAME, "stable", "awaiting_version")).toBe(1);

    const broken = await registry.registerVersion(FIXTURE_NAME, {
      "model.onnx": new TextEncoder().encode("not an onnx file"),
    });
    await registry.setAlias(FIXTURE_NAME, "champion", broken);
    await expect.poll(() => modelState(service, FIXTURE_NAME, "stable", "load_failed"), POLL).toBe(1);
    expect(await modelState(service, FIXTURE_NAME, "stable", "awaiting_version")).toBe(0);
    const ready = await get(service, "/ready");
    expect(ready.statusCode).toBe(503);
    expect(ready.json<{ error: { message: string } }>().error.message).toContain(
      `stable (champion) failed to load: `,
    );
    // A version that exists and does not load keeps the pod out of its Service (and pages).
    expect((await get(service, "/ready/pod")).statusCode).toBe(503);
    const reload = await service.app.inject({ method: "POST", url: "/reload-model", headers: HEADERS });
    expect(reload.statusCode).toBe(500);
    expect(reload.json<{ error: { message: string } }>().error.message).toMatch(
      /^reload failed: stable: .+ \(no version serves yet\)$/,
    );

    const fixed = await publish(registry, FIXTURE_NAME, "champion", fixtureModelBytes("probabilities"));
    await expect.poll(async () => (await get(service, "/ready")).statusCode, POLL).toBe(200);
    expect((await get(service, "/ready")).json()).toEqual({
      status: "ready",
      model: FIXTURE_NAME,
      version: fixed,
    });
    expect(await modelState(service, FIXTURE_NAME, "stable", "load_failed")).toBe(0);
    expect(await modelState(service, FIXTURE_NAME, "stable", "ready")).toBe(1);
  });

  it("awaits an alias missing on a model that has versions, but keeps the pod out of its Service", async () => {
    const { service, registry } = await serve({}, async (r) => {
      await r.registerVersion(FIXTURE_NAME, { "model.onnx": fixtureModelBytes("probabilities") });
    });
    const ready = await get(service, "/ready");
    expect(ready.statusCode).toBe(503);
    expect(ready.json<{ error: { message: string } }>().error.message).toContain(
      `(ALIAS_NOT_FOUND: model "${FIXTURE_NAME}" has no alias "champion")`,
    );
    expect(await modelState(service, FIXTURE_NAME, "stable", "awaiting_version")).toBe(1);
    // Most likely a wrong reference: a rollout to such pods must stall while the old pods serve.
    const pod = await get(service, "/ready/pod");
    expect(pod.statusCode).toBe(503);
    expect(pod.json<{ error: { message: string } }>().error.message).toContain(
      `not ready to take traffic: model "${FIXTURE_NAME}": stable (champion) awaiting its first version`,
    );
    await registry.setAlias(FIXTURE_NAME, "champion", "1");
    await expect.poll(async () => (await get(service, "/ready/pod")).statusCode, POLL).toBe(200);
    expect((await get(service, "/ready")).statusCode).toBe(200);
  });

  it("stops the start on a pinned version the model does not have, naming the reference and its setting", async () => {
    const { service } = await serve(
      { MODEL_STABLE: "7" },
      async (registry) => {
        await registry.registerVersion(FIXTURE_NAME, { "model.onnx": fixtureModelBytes("probabilities") });
      },
      false,
    );
    await expect(service.dataPlane.start()).rejects.toThrow(
      `stable model 7: model "${FIXTURE_NAME}" has no version 7 (has 1) (the reference is set by MODEL_STABLE)`,
    );
  });

  it("refuses a malformed reference at start, naming the setting", () => {
    let error: unknown;
    try {
      loadConfig({ MODEL_STABLE: "models:/no such model" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain("MODEL_STABLE");
  });
});

describe("a canary candidate awaiting its first version", () => {
  it("serves stable, says the candidate awaits, and loads it once the alias is set", async () => {
    const { service, registry } = await serve(
      { ROLLOUT_STRATEGY: "canary", MODEL_CANDIDATE: "challenger", CANDIDATE_WEIGHT: "50" },
      async (r) => {
        await publish(r, FIXTURE_NAME, "champion", fixtureModelBytes("probabilities"));
      },
    );
    expect((await get(service, "/ready")).statusCode).toBe(200);
    // The model has versions: the candidate's missing alias keeps a new pod out of its Service, so
    // a release naming it stalls instead of replacing pods that serve the previous rollout.
    const pod = await get(service, "/ready/pod");
    expect(pod.statusCode).toBe(503);
    expect(pod.json<{ error: { message: string } }>().error.message).toContain(
      `candidate (challenger) awaiting its first version`,
    );
    expect(await modelState(service, FIXTURE_NAME, "candidate", "awaiting_version")).toBe(1);
    expect(service.rollout.snapshot().variants.candidate).toMatchObject({
      version: null,
      state: "awaiting_version",
      reason: expect.stringContaining(`set its alias "challenger"`) as unknown,
    });
    // Requests routed to the candidate fall back to stable meanwhile.
    expect((await predict(service)).statusCode).toBe(200);

    const v2 = await publish(registry, FIXTURE_NAME, "challenger", fixtureModelBytes("probabilities", 1));
    await expect.poll(() => service.rollout.snapshot().variants.candidate?.version, POLL).toBe(v2);
    expect(await modelState(service, FIXTURE_NAME, "candidate", "ready")).toBe(1);
    expect((await get(service, "/ready/pod")).json()).toMatchObject({ status: "ready" });
  });
});

describe("the repository API behind the public Ingress", () => {
  it("refuses a forged oauth2-proxy header even where the platform trusts the proxy's headers", async () => {
    // As the cluster runs the service: the header is trusted, but /v2 is routed by the public
    // Ingress, where nothing overwrites it (service/contract/operator-paths.ts).
    const { service } = await serve(
      {
        MODEL_REPOSITORY: `${IRIS}=models:/${IRIS}@champion`,
        OPS_OIDC_TRUST_HEADERS: "true",
        OPS_OIDC_ALLOWED_EMAIL_DOMAINS: "example.com",
        OPS_OIDC_ADMIN_GROUPS: "admins",
      },
      async (r) => {
        await publish(r, FIXTURE_NAME, "champion", fixtureModelBytes("probabilities"));
        await publish(r, IRIS, "champion", matmulModel([2, 0, 0, 2, 1, 1]));
      },
    );
    expect((await get(service, `/v2/models/${IRIS}/ready`)).statusCode).toBe(200);
    const forged = { "x-auth-request-email": "mallory@example.com" };
    const unload = await service.app.inject({
      method: "POST",
      url: `/v2/repository/models/${IRIS}/unload`,
      headers: forged,
    });
    expect(unload.statusCode).toBe(401);
    expect(unload.json<{ error: { code: string } }>().error.code).toBe("UNAUTHENTICATED");
    expect((await get(service, `/v2/models/${IRIS}/ready`)).statusCode).toBe(200);
  });
});

describe("a MODEL_REPOSITORY model awaiting its first version", () => {
  it("is UNAVAILABLE naming why, answers 503, keeps the pod ready, and loads once registered", async () => {
    const { service, registry } = await serve(
      { MODEL_REPOSITORY: `${IRIS}=models:/${IRIS}@champion` },
      async (r) => {
        await publish(r, FIXTURE_NAME, "champion", fixtureModelBytes("probabilities"));
      },
    );
    expect((await get(service, "/ready")).statusCode).toBe(200);
    expect((await get(service, "/ready/pod")).json()).toMatchObject({ status: "awaiting_version" });
    const index = await service.app.inject({ method: "POST", url: "/v2/repository/index", headers: HEADERS });
    expect(index.json()).toContainEqual({
      name: IRIS,
      state: "UNAVAILABLE",
      reason: expect.stringContaining(`register a version of model "${IRIS}"`) as unknown,
    });
    const modelReady = await get(service, `/v2/models/${IRIS}/ready`);
    expect(modelReady.statusCode).toBe(503);
    expect(modelReady.body).toContain("awaiting its first version");
    expect(await modelState(service, IRIS, "stable", "awaiting_version")).toBe(1);

    await publish(registry, IRIS, "champion", matmulModel([2, 0, 0, 2, 1, 1]));
    await expect
      .poll(async () => (await get(service, `/v2/models/${IRIS}/ready`)).statusCode, POLL)
      .toBe(200);
    expect(await modelState(service, IRIS, "stable", "ready")).toBe(1);
    expect((await get(service, "/ready/pod")).json()).toMatchObject({ status: "ready" });
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the readiness split: what keeps a pod out of its Service", () => {
  it("is not pod-ready while starting (nothing loaded yet), nor while shutting down", async () => {
    const { service } = await serve(
      {},
      async (r) => {
        await publish(r, FIXTURE_NAME, "champion", fixtureModelBytes("probabilities"));
      },
      false,
    );
    const starting = await get(service, "/ready/pod");
    expect(starting.statusCode).toBe(503);
    expect(starting.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: "NOT_READY",
      message: `not ready to take traffic: model "${FIXTURE_NAME}": stable loading`,
    });
    expect(await modelState(service, FIXTURE_NAME, "stable", "loading")).toBe(1);
    await service.dataPlane.start();
    expect((await get(service, "/ready/pod")).statusCode).toBe(200);
    service.dataPlane.startDraining();
    expect((await get(service, "/ready/pod")).statusCode).toBe(503);
    expect(await modelState(service, FIXTURE_NAME, "stable", "draining")).toBe(1);
  });

  it("is not pod-ready while a repository model failed its start-up load of a version that exists", async () => {
    const { service } = await serve({ MODEL_REPOSITORY: `${IRIS}=models:/${IRIS}@champion` }, async (r) => {
      await publish(r, FIXTURE_NAME, "champion", fixtureModelBytes("probabilities"));
      await publish(r, IRIS, "champion", new TextEncoder().encode("not onnx"));
    });
    expect((await get(service, "/ready")).statusCode).toBe(200);
    const pod = await get(service, "/ready/pod");
    expect(pod.statusCode).toBe(503);
    expect(pod.json<{ error: { message: string } }>().error.message).toContain(
      `model "${IRIS}": failed to load`,
    );
    expect(await modelState(service, IRIS, "stable", "load_failed")).toBe(1);
    // An operator's unload is a choice, not a fault: the pod takes traffic again.
    await service.app.inject({
      method: "POST",
      url: `/v2/repository/models/${IRIS}/unload`,
      headers: HEADERS,
    });
    expect((await get(service, "/ready/pod")).statusCode).toBe(200);
    expect(await modelState(service, IRIS, "stable", "unloaded")).toBe(1);
    // Nor does a failed load an operator asks for take a serving pod out of its Service.
    const load = await service.app.inject({
      method: "POST",
      url: `/v2/repository/models/${IRIS}/load`,
      headers: HEADERS,
    });
    expect(load.statusCode).toBe(500);
    expect(await modelState(service, IRIS, "stable", "load_failed")).toBe(1);
    expect((await get(service, "/ready/pod")).statusCode).toBe(200);
  });

  it("is not pod-ready while a repository model cannot reach its registry", async () => {
    const defaultDir = await mkdtemp(path.join(tmpdir(), "plinth-awaiting-default-"));
    try {
      await new LocalRegistry(defaultDir).registerVersion(FIXTURE_NAME, {
        "model.onnx": fixtureModelBytes("probabilities"),
      });
      const { service } = await serve({
        MODEL_STABLE: `file:${path.join(defaultDir, FIXTURE_NAME, "1")}`,
        MLFLOW_TRACKING_URI: `http://127.0.0.1:${await closedPort()}`,
        MODEL_REPOSITORY: `${IRIS}=models:/${IRIS}@champion`,
      });
      expect((await get(service, "/ready")).statusCode).toBe(200);
      const pod = await get(service, "/ready/pod");
      expect(pod.statusCode).toBe(503);
      expect(pod.json<{ error: { message: string } }>().error.message).toContain(
        `model "${IRIS}": its model registry could not be reached`,
      );
      expect(await modelState(service, IRIS, "stable", "registry_unreachable")).toBe(1);
    } finally {
      await rm(defaultDir, { recursive: true, force: true });
    }
  });
});
