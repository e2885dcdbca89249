/**
 * A service with two model versions for rollout tests: version 1 (alias champion) classifies
 * `rowForClass(k)` as k, version 2 (alias challenger) as k + 1, so every response shows which
 * variant answered and shadow agreement is 0 between them.
 */
import {
  fixtureModelBytes,
  FIXTURE_NAME,
  ROW_SIZE,
  type FixtureRegistry,
} from "../inference/fixture-model.js";
import { API_KEY, startTestService, type TestService } from "../server/service-fixture.js";

export const OPS_KEY = "ops-key-0123456789abcdef";
export const OPS_HEADERS = { "x-api-key": OPS_KEY };
export const TESTER_HEADERS = { "x-api-key": API_KEY };
/** Version 2's class for a row of class k. */
export const CANDIDATE_SHIFT = 1;

/** Every key of the default fixture plus `ops`, which holds admin and force-variant. */
const ROLLOUT_KEYS = {
  API_KEYS: `tester:${API_KEY},ops:${OPS_KEY}`,
  API_KEY_ROLES: "ops:admin+force-variant",
};

/** Registers version 2 (shifted labels) as challenger before the service starts. */
export async function startRolloutService(
  env: Record<string, string>,
  /** Runs after the challenger is registered (e.g. to give it a drift baseline). */
  prepareChallenger: (registry: FixtureRegistry, version: string) => Promise<void> = async () => undefined,
): Promise<TestService> {
  return startTestService(
    { ...ROLLOUT_KEYS, MODEL_CANDIDATE: "challenger", ...env },
    "probabilities",
    async (r) => {
      const v2 = await r.registry.registerVersion(FIXTURE_NAME, {
        "model.onnx": fixtureModelBytes("probabilities", CANDIDATE_SHIFT),
      });
      await r.registry.setAlias(FIXTURE_NAME, "challenger", v2);
      await prepareChallenger(r, v2);
    },
  );
}

/** A new version of the fixture (shifted by `shift`), pointed at by `alias`. */
export async function publishVersion(svc: TestService, alias: string, shift: number): Promise<string> {
  const version = await svc.registry.registry.registerVersion(FIXTURE_NAME, {
    "model.onnx": fixtureModelBytes("probabilities", shift),
  });
  await svc.registry.registry.setAlias(FIXTURE_NAME, alias, version);
  return version;
}

/** A version whose model file is not ONNX, pointed at by `alias`. */
export async function publishBrokenVersion(svc: TestService, alias: string): Promise<string> {
  const version = await svc.registry.registry.registerVersion(FIXTURE_NAME, { "model.onnx": "not onnx" });
  await svc.registry.registry.setAlias(FIXTURE_NAME, alias, version);
  return version;
}

export interface PredictResult {
  status: number;
  variantHeader: string | undefined;
  body: {
    model: { name: string; version: string; variant: string };
    predictions: { class_id: number; label: string; probabilities: number[] }[];
    error?: { code: string; message: string };
  };
}

/** POST /predict of one row of class `cls`. */
export async function predictRow(
  svc: TestService,
  cls: number,
  headers: Record<string, string> = TESTER_HEADERS,
): Promise<PredictResult> {
  const row = Array.from({ length: ROW_SIZE }, (_, i) => (i % 10 === cls ? 255 : 0));
  const res = await svc.app.inject({ method: "POST", url: "/predict", headers, payload: { inputs: row } });
  const header = res.headers["x-plinth-variant"];
  return {
    status: res.statusCode,
    variantHeader: typeof header === "string" ? header : undefined,
    body: res.json(),
  };
}

/** POST /reload-model as the admin `ops` caller. */
export function postReload(svc: TestService, variant: "stable" | "candidate" | "all") {
  return svc.app.inject({ method: "POST", url: "/reload-model", headers: OPS_HEADERS, payload: { variant } });
}

/** The value of one counter/gauge series, or 0 when absent. */
export async function metricValue(
  svc: TestService,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = await svc.metrics.registry.getSingleMetric(name)?.get();
  const series = metric?.values.find((v) =>
    Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want),
  );
  return series?.value ?? 0;
}
