/**
 * plinth_model_capability on /metrics: per loaded variant, what its model supports
 * (service/serving/capabilities.ts), 1 or 0, so the promotion gates read whether drift and shadow
 * agreement apply to a candidate. Set where plinth_model_info is and removed with it: a reload or an
 * unload leaves no series of the version that went.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { METRICS } from "../../../service/contract/metrics.js";
import { startMetricsServer, type MetricsServer } from "../../../service/metrics/server.js";
import type { FixtureRegistry } from "../inference/fixture-model.js";
import { matmulModel } from "../inference/matmul-model.js";
import { OPS_HEADERS, OPS_KEY, postReload } from "../rollout/rollout-fixture.js";
import { API_KEY, startTestService, type TestService } from "../server/service-fixture.js";

const BUNDLED = fileURLToPath(new URL("../../../models/fashion-classifier/1", import.meta.url));
const REGRESSION = { "model-config.json": JSON.stringify({ schemaVersion: 1, task: "regression" }) };
const version = (weight: number) => ({
  "model.onnx": matmulModel([weight, 0, 0, weight, 0, 0]),
  ...REGRESSION,
});

/**
 * A service for the suite, with `env` and the `prices` versions `prepare` registers, and its
 * internal metrics listener; read through the getter.
 */
function serviceForSuite(
  env: Record<string, string>,
  prepare: (registry: FixtureRegistry["registry"]) => Promise<void>,
): () => { svc: TestService; server: MetricsServer } {
  let svc: TestService | undefined;
  let server: MetricsServer | undefined;
  beforeAll(async () => {
    svc = await startTestService(
      { API_KEYS: `tester:${API_KEY},ops:${OPS_KEY}`, API_KEY_ROLES: "ops:admin", ...env },
      "probabilities",
      ({ registry }) => prepare(registry),
    );
    server = await startMetricsServer(svc.metrics.registry, "127.0.0.1", 0);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await svc?.close();
  });
  return () => ({ svc: svc!, server: server! });
}

/** Registers `prices` version with MatMul weight `weight` and points `alias` at it. */
async function publish(registry: FixtureRegistry["registry"], alias: string, weight: number): Promise<void> {
  await registry.setAlias("prices", alias, await registry.registerVersion("prices", version(weight)));
}

/** Every plinth_model_capability series on GET /metrics, as "model version variant capability" -> value. */
async function capabilities(server: MetricsServer): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${server.port()}/metrics`)).text();
  const series = new RegExp(
    `^${METRICS.modelCapability.name}\\{model="([^"]+)",model_version="([^"]+)",variant="([^"]+)",capability="([^"]+)"\\} (\\S+)$`,
    "gm",
  );
  return Object.fromEntries(
    [...text.matchAll(series)].map(([, model, v, variant, capability, value]) => [
      `${model} ${v} ${variant} ${capability}`,
      Number(value),
    ]),
  );
}

/** What a model configured as a regression supports, per capability label. */
const regression = (prefix: string) => ({
  [`${prefix} predict`]: 1,
  [`${prefix} predict_image`]: 0,
  [`${prefix} explain`]: 0,
  [`${prefix} drift`]: 0,
  [`${prefix} shadow_agreement`]: 0,
});

describe("a regression graph model in shadow", () => {
  const live = serviceForSuite(
    { MODEL_NAME: "prices", MODEL_CANDIDATE: "challenger", ROLLOUT_STRATEGY: "shadow" },
    async (registry) => {
      await publish(registry, "champion", 1);
      await publish(registry, "challenger", 3);
    },
  );

  it("exports 0 for drift and shadow agreement on both variants, 1 for what it serves", async () => {
    expect(await capabilities(live().server)).toEqual({
      ...regression("prices 1 stable"),
      ...regression("prices 2 candidate"),
    });
  });

  it("replaces the candidate's series when a reload swaps its version", async () => {
    const { svc, server } = live();
    await publish(svc.registry.registry, "challenger", 5);
    expect((await postReload(svc, "candidate")).statusCode).toBe(200);
    expect(await capabilities(server)).toEqual({
      ...regression("prices 1 stable"),
      ...regression("prices 3 candidate"),
    });
  });
});

describe("the bundled plinth model, beside a repository model", () => {
  const live = serviceForSuite(
    { MODEL_STABLE: `file:${BUNDLED}`, MODEL_REPOSITORY: "prices=champion" },
    (registry) => publish(registry, "champion", 1),
  );

  it("exports 1 for every capability of the plinth model, and drops an unloaded model's series", async () => {
    const { svc, server } = live();
    const plinth = Object.entries(await capabilities(server)).filter(([key]) =>
      key.startsWith("fashion-classifier "),
    );
    expect(plinth.map(([key, value]) => [key.split(" ").slice(2).join(" "), value])).toEqual([
      ["stable predict", 1],
      ["stable predict_image", 1],
      ["stable explain", 1],
      ["stable drift", 1],
      ["stable shadow_agreement", 1],
    ]);
    expect(await capabilities(server)).toMatchObject(regression("prices 1 stable"));

    const res = await svc.app.inject({
      method: "POST",
      url: "/v2/repository/models/prices/unload",
      headers: OPS_HEADERS,
    });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(await capabilities(server)).filter((key) => key.startsWith("prices "))).toEqual([]);
  });
});
