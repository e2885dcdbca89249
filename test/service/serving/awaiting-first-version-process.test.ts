/**
 * Issue #18 with the real service process (`node dist/service/main.js`, compiled as the image runs it): started on a registry that
 * answers but holds no model, it never exits. It is live (/health 200), explicitly not ready
 * (/ready 503 naming the model, the registry and what to do), ready for the kubelet (/ready/pod
 * 200, so a first deployment completes and the 503s reach people), predictions answer the 503
 * NOT_READY envelope with the reason and a request id, plinth_model_state says awaiting_version,
 * and the ops summary (the admin panel's data) carries the reason. Once a version is registered it
 * is loaded without a restart and /ready turns 200. Against the local registry folder (the
 * bundled model's files copied in) and a real MLflow server (.tools/mlflow-venv) with no
 * registered model.
 */
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { METRICS } from "../../../service/contract/metrics.js";
import { integrityTags } from "../../../service/registry/integrity.js";
import { mlflowForSuite, registerVersion } from "../mlflow/mlflow-suite.js";
import {
  AWAITING_LOG,
  REPO_ROOT,
  startServiceProcess,
  type ServiceProcess,
} from "../../support/service-process.js";

const MODEL = "fashion-classifier";
const BUNDLED = path.join(REPO_ROOT, "models", MODEL, "1");
const API_KEY = "awaiting-process-key-0123456789";
const HEADERS = { "x-api-key": API_KEY };
const KEYS = { API_KEYS: `ops:${API_KEY}`, API_KEY_ROLES: "ops:admin" };
/** The first-version poll backs off from 0.5 s to 30 s. */
const POLL = { timeout: 90_000, interval: 250 };
const SLOW = 240_000;
const SAMPLE = path.join(REPO_ROOT, "samples", "fashion-mnist", "0000-ankle-boot.png");

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as unknown };
}

/** `plinth_model_state` lines at 1, as `variant=state`. */
async function statesAtOne(service: ServiceProcess): Promise<string[]> {
  const text = await (await fetch(`${service.metricsUrl}/metrics`)).text();
  const pattern = new RegExp(
    `^${METRICS.modelState.name}\\{model="${MODEL}",variant="(\\w+)",state="(\\w+)"\\} 1$`,
    "gm",
  );
  return [...text.matchAll(pattern)].map((m) => `${m[1]}=${m[2]}`);
}

/**
 * Everything the awaiting service must say, `location` being the registry as it names it; then
 * `register` publishes version 1 as champion, and the service must load it without a restart.
 */
async function awaitingThenServing(
  service: ServiceProcess,
  location: string,
  register: () => Promise<void>,
): Promise<void> {
  expect((await json(`${service.url}/health`)).status).toBe(200);

  const ready = await json(`${service.url}/ready`);
  expect(ready.status).toBe(503);
  const message = (ready.body as { error: { code: string; message: string } }).error.message;
  expect(ready.body).toMatchObject({ error: { code: "NOT_READY" } });
  expect(message).toContain(`model "${MODEL}" is not ready: stable (champion) awaiting its first version`);
  expect(message).toContain(`names no version in ${location} yet`);
  expect(message).toContain(`register a version of model "${MODEL}" and set its alias "champion" to it`);

  expect(await json(`${service.url}/ready/pod`)).toMatchObject({
    status: 200,
    body: { status: "awaiting_version", models: [{ name: MODEL, state: "UNAVAILABLE" }] },
  });

  const predicted = await fetch(`${service.url}/predict-image`, {
    method: "POST",
    headers: { ...HEADERS, "content-type": "image/png" },
    body: await readFile(SAMPLE),
  });
  expect(predicted.status).toBe(503);
  expect(await predicted.json()).toEqual({
    error: { code: "NOT_READY", message, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown },
  });

  expect(await statesAtOne(service)).toEqual(["stable=awaiting_version"]);
  const summary = await json(`${service.url}/ops/summary`, { headers: HEADERS });
  expect(summary).toMatchObject({
    status: 200,
    body: { rollout: { variants: { stable: { version: null, state: "awaiting_version" } } } },
  });
  expect(JSON.stringify(summary.body)).toContain(`names no version in ${location} yet`);

  await register();
  await expect.poll(async () => (await json(`${service.url}/ready`)).status, POLL).toBe(200);
  expect((await json(`${service.url}/ready`)).body).toEqual({ status: "ready", model: MODEL, version: "1" });
  expect((await json(`${service.url}/ready/pod`)).body).toMatchObject({ status: "ready" });
  expect(await statesAtOne(service)).toEqual(["stable=ready"]);
  const served = await fetch(`${service.url}/predict-image`, {
    method: "POST",
    headers: { ...HEADERS, "content-type": "image/png" },
    body: await readFile(SAMPLE),
  });
  expect(served.status).toBe(200);
  // The same process all along.
  expect(await Promise.race([service.exited, new Promise((r) => setTimeout(() => r("running"), 200))])).toBe(
    "running",
  );
  expect(service.output.join("")).toContain(AWAITING_LOG);
}

describe("on an empty local registry", () => {
  let dir: string;
  let service: ServiceProcess | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "plinth-empty-registry-"));
  });
  afterAll(async () => {
    await service?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    "stays up awaiting its first version, then loads the bundled model copied in",
    async () => {
      service = await startServiceProcess({ ...KEYS, PLINTH_REGISTRY_DIR: dir }, 60_000, AWAITING_LOG);
      await awaitingThenServing(service, dir, async () => {
        // As the local registry writes a version: assembled aside, renamed into place, then the alias.
        const staging = path.join(dir, MODEL, ".staging");
        await mkdir(path.dirname(staging), { recursive: true });
        await cp(BUNDLED, staging, { recursive: true });
        await rename(staging, path.join(dir, MODEL, "1"));
        await writeFile(path.join(dir, MODEL, "aliases.json"), JSON.stringify({ champion: "1" }));
      });
    },
    SLOW,
  );
});

describe("on a real MLflow server with no registered model", () => {
  const mlflow = mlflowForSuite("plinth-empty-mlflow-");
  let service: ServiceProcess | undefined;
  afterAll(async () => {
    await service?.stop();
  });

  it(
    "stays up awaiting its first version, then loads the version registered and aliased",
    async () => {
      const { server, client, tmp } = mlflow();
      service = await startServiceProcess(
        { ...KEYS, MLFLOW_TRACKING_URI: server.url, MODEL_CACHE_DIR: path.join(tmp, "cache") },
        60_000,
        AWAITING_LOG,
      );
      await awaitingThenServing(service, `MLflow ${server.url}`, async () => {
        await client.ensureRegisteredModel(MODEL);
        // Registered without a version: still awaiting, still taking traffic.
        expect((await json(`${service!.url}/ready/pod`)).body).toMatchObject({ status: "awaiting_version" });
        const files = {
          "model.onnx": await readFile(path.join(BUNDLED, "model.onnx")),
          "model-config.json": await readFile(path.join(BUNDLED, "model-config.json")),
        };
        const registered = await registerVersion(mlflow(), MODEL, files, integrityTags(files));
        await client.setAlias(MODEL, "champion", registered.version);
      });
    },
    SLOW,
  );
});
