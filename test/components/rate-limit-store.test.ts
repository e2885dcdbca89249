/**
 * The rate-limit store's side of the inference component (issue #24): the URL comes from a Secret
 * (never a plain value), the CA bundle is mounted only when a private CA signed the server's
 * certificate, and nothing is set without a store. Rendered stores per cloud: test/support/
 * rate-limit-store-suite.ts, run by every stack test.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import {
  RATE_LIMIT_STORE_CA_DIR,
  rateLimitStoreCaVolume,
  serviceEnvironment,
  type ServiceSettings,
} from "../../components/inference/env.js";
import type { RateLimitStoreClient } from "../../components/rate-limit-store/index.js";
import { redisUrl } from "../../components/rate-limit-store/types.js";
import { plinthMocks } from "../../infra/render/mocks.js";

const SETTINGS = {
  modelName: "fashion-mnist",
  mlflowTrackingUri: "http://mlflow:5000",
  allowedEmailDomains: ["example.com"],
  adminGroups: ["plinth-admins"],
  opsReadGroups: [],
  drift: { warnPsi: 0.1, alertPsi: 0.2 },
  repository: [],
  authSecretName: "plinth-inference-auth",
} satisfies ServiceSettings;
const VARIANT = { strategy: "single", stable: "champion", colour: "none" } as const;
const URL_SECRET = { name: "rate-limit-store-url", key: "url" };

function env(store?: RateLimitStoreClient) {
  return serviceEnvironment({ ...SETTINGS, ...(store ? { rateLimitStore: store } : {}) }, VARIANT).filter(
    (e) => String(e.name).startsWith("RATE_LIMIT_REDIS"),
  );
}

beforeAll(async () => {
  await pulumi.runtime.setMocks(plinthMocks, "plinth", "rate-limit-store", false);
});

describe("the inference pods' rate-limit store settings", () => {
  it("sets nothing without a store: each pod limits on its own", () => {
    expect(env()).toEqual([]);
    expect(rateLimitStoreCaVolume(undefined)).toBeUndefined();
  });

  it("reads the URL from the Secret and trusts the system's CAs for a publicly signed store (ElastiCache)", () => {
    const store: RateLimitStoreClient = { urlSecret: URL_SECRET, failureMode: "closed" };
    expect(env(store)).toEqual([
      { name: "RATE_LIMIT_REDIS_URL", valueFrom: { secretKeyRef: URL_SECRET } },
      { name: "RATE_LIMIT_REDIS_FAILURE_MODE", value: "closed" },
    ]);
    expect(rateLimitStoreCaVolume(store)).toBeUndefined();
  });

  it.each([
    ["ConfigMap", { configMap: { name: "rate-limit-store-ca", items: [{ key: "ca.crt", path: "ca.crt" }] } }],
    ["Secret", { secret: { secretName: "rate-limit-store-ca", items: [{ key: "ca.crt", path: "ca.crt" }] } }],
  ] as const)("mounts a private CA from a %s, that one key alone, read-only", (kind, source) => {
    const store: RateLimitStoreClient = {
      urlSecret: URL_SECRET,
      ca: { kind, name: "rate-limit-store-ca", key: "ca.crt" },
      failureMode: "per-pod",
    };
    expect(env(store)).toEqual([
      { name: "RATE_LIMIT_REDIS_URL", valueFrom: { secretKeyRef: URL_SECRET } },
      { name: "RATE_LIMIT_REDIS_CA_FILE", value: `${RATE_LIMIT_STORE_CA_DIR}/ca.crt` },
      { name: "RATE_LIMIT_REDIS_FAILURE_MODE", value: "per-pod" },
    ]);
    expect(rateLimitStoreCaVolume(store)).toEqual({
      volume: { name: "rate-limit-store-ca", ...source },
      mount: { name: "rate-limit-store-ca", mountPath: RATE_LIMIT_STORE_CA_DIR, readOnly: true },
    });
  });
});

describe("redisUrl", () => {
  const resolve = (output: pulumi.Output<string>) =>
    new Promise<string>((done) => output.apply((value) => done(value)));

  it("is a rediss:// URL of the default user with the password percent-encoded, kept secret", async () => {
    const url = redisUrl("p@ss/word", "cache.internal", 6378);
    expect(await resolve(url)).toBe("rediss://:p%40ss%2Fword@cache.internal:6378");
    expect(await pulumi.isSecret(url)).toBe(true);
  });
});
