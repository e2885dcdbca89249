/**
 * Builds the real service (fastify, onnxruntime, prom-client) over a temporary registry holding the
 * fixture model, for tests that drive it with `app.inject()`.
 */
import { afterAll, beforeAll } from "vitest";
import { loadConfig, type ServiceConfig } from "../../../service/config.js";
import { buildServer, type Service } from "../../../service/server/build.js";
import { fixtureRegistry, type FixtureRegistry } from "../inference/fixture-model.js";

export const API_KEY = "test-key-0123456789abcdef";
export const OTHER_KEY = "other-key-0123456789abcdef";
export const KEY_HEADERS = { "x-api-key": API_KEY };

export interface TestService extends Service {
  readonly registry: FixtureRegistry;
  close(): Promise<void>;
}

/**
 * `env` overrides the test defaults (two API keys, no event-loop shedding); `prepare` may add
 * versions and aliases to the registry before the service loads its models.
 */
export async function startTestService(
  env: Record<string, string> = {},
  kind: "probabilities" | "logits" = "probabilities",
  prepare: (registry: FixtureRegistry) => Promise<void> = async () => undefined,
): Promise<TestService> {
  const registry = await fixtureRegistry(kind);
  await prepare(registry);
  const config: ServiceConfig = loadConfig({
    API_KEYS: `tester:${API_KEY},other:${OTHER_KEY}`,
    PLINTH_REGISTRY_DIR: registry.dir,
    MAX_EVENT_LOOP_DELAY_MS: "0",
    PORT: "0",
    METRICS_PORT: "0",
    ...env,
  });
  const service = await buildServer(config, { processMetrics: false });
  await service.dataPlane.start();
  return {
    ...service,
    registry,
    close: async () => {
      await service.app.close();
      await registry.cleanup();
    },
  };
}

/** A test service started before the suite's tests and closed after them, read through the getter. */
export function testServiceForSuite(...args: Parameters<typeof startTestService>): () => TestService {
  let svc: TestService | undefined;
  beforeAll(async () => {
    svc = await startTestService(...args);
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
  });
  return () => svc!;
}

/** Asserts the error envelope and returns its code. */
export function errorCode(response: { statusCode: number; json(): unknown }): string {
  const body = response.json() as { error?: { code?: string; message?: string; requestId?: string } };
  if (
    typeof body.error?.code !== "string" ||
    typeof body.error.requestId !== "string" ||
    typeof body.error.message !== "string"
  ) {
    throw new Error(`not an error envelope: ${JSON.stringify(body)}`);
  }
  return body.error.code;
}
