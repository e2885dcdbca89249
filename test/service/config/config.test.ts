import { describe, expect, it } from "vitest";
import { configIssues } from "../../support/config-issues.js";
import { ENV, ENV_DOCS, hashApiKey, loadConfig } from "../../../service/config.js";

const issuesOf = configIssues;

describe("loadConfig", () => {
  it("applies the documented defaults to an empty environment", () => {
    const c = loadConfig({});
    expect(c.host).toBe("127.0.0.1");
    expect(c.port).toBe(8080);
    expect(c.metricsPort).toBe(9464);
    expect(c.model).toEqual({
      name: "fashion-classifier",
      stable: "champion",
      registryDir: undefined,
      allowUntagged: false,
      repository: [],
    });
    expect(c.auth).toEqual({
      apiKeys: [],
      jwt: undefined,
      failureLimit: { limit: 20, windowMs: 300_000 },
    });
    expect(c.trustedProxies).toEqual([]);
    expect(c.batching).toEqual({ maxBatchSize: 32, maxDelayMs: 0, queueMaxRows: 2048 });
    expect(c.ort.intraOpThreads).toBe(1);
    expect(c.deploymentColor).toBe("none");
    expect(c.httpLatencyBucketsSeconds[0]).toBe(0.0005);
  });

  it("documents every variable it reads", () => {
    expect(Object.keys(ENV_DOCS).sort()).toEqual(Object.keys(ENV).sort());
  });

  it.each([
    [{ PORT: "http" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ METRICS_PORT: "-1" }, "METRICS_PORT"],
    [{ BATCH_MAX_SIZE: "0" }, "BATCH_MAX_SIZE"],
    [{ BATCH_MAX_DELAY_MS: "soon" }, "BATCH_MAX_DELAY_MS"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ DEPLOYMENT_COLOR: "red" }, "DEPLOYMENT_COLOR"],
    [{ HTTP_LATENCY_BUCKETS_SECONDS: "0.1,0.05" }, "HTTP_LATENCY_BUCKETS_SECONDS"],
    [{ HTTP_LATENCY_BUCKETS_SECONDS: "a,b" }, "HTTP_LATENCY_BUCKETS_SECONDS"],
    [{ API_KEY_HASHES: "ops:not-a-hash" }, "API_KEY_HASHES"],
    [{ API_KEY_HASHES: "nocolon" }, "API_KEY_HASHES"],
    [{ API_KEYS: "dev:short" }, "API_KEYS"],
    [{ API_KEYS: "dev:0123456789abcdef,dev:fedcba9876543210" }, "API_KEYS"],
    [{ JWT_HS256_SECRET: "too-short" }, "JWT_HS256_SECRET"],
    [{ JWT_JWKS_URL: "ftp://keys" }, "JWT_JWKS_URL"],
    // Keys over plain HTTP from another host can be swapped on the way, and every token with them.
    [{ JWT_JWKS_URL: "http://idp.example/jwks.json" }, "JWT_JWKS_URL"],
    [{ JWT_JWKS_URL: "http://127.0.0.1.evil.example/jwks.json" }, "JWT_JWKS_URL"],
    [{ JWT_MAX_LIFETIME_SECONDS: "59" }, "JWT_MAX_LIFETIME_SECONDS"],
    [{ JWT_ALGORITHMS: "HS256,none" }, "JWT_ALGORITHMS"],
    [{ MODEL_STABLE: "../etc" }, "MODEL_STABLE"],
    [{ INFERENCE_OFFLOAD: "sometimes" }, "INFERENCE_OFFLOAD"],
    [{ MODEL_ALLOW_UNTAGGED: "yes" }, "MODEL_ALLOW_UNTAGGED"],
    [{ AUTH_FAILURE_LIMIT: "-1" }, "AUTH_FAILURE_LIMIT"],
    [{ AUTH_FAILURE_WINDOW_MS: "10" }, "AUTH_FAILURE_WINDOW_MS"],
    [{ TRUST_PROXY: "ingress" }, "TRUST_PROXY"],
    [{ TRUST_PROXY: "10.0.0.0/33" }, "TRUST_PROXY"],
    [{ TRUST_PROXY: "10.0.0.0/8/1" }, "TRUST_PROXY"],
    [{ TRUST_PROXY: "fd00::/129" }, "TRUST_PROXY"],
  ])("%j is refused, naming %s", (env, name) => {
    const issues = issuesOf(env);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.startsWith(`${name}=`)).toBe(true);
  });

  it("serves untagged MLflow versions only when MODEL_ALLOW_UNTAGGED is true", () => {
    expect(loadConfig({ MODEL_ALLOW_UNTAGGED: "true" }).model.allowUntagged).toBe(true);
    expect(loadConfig({ MODEL_ALLOW_UNTAGGED: "false" }).model.allowUntagged).toBe(false);
    expect(loadConfig({ MODEL_ALLOW_UNTAGGED: " " }).model.allowUntagged).toBe(false);
  });

  it("takes trusted proxies as addresses, CIDRs and range names", () => {
    const c = loadConfig({ TRUST_PROXY: "uniquelocal, 10.0.0.0/8,192.0.2.7, fd00::/8,loopback" });
    expect(c.trustedProxies).toEqual(["uniquelocal", "10.0.0.0/8", "192.0.2.7", "fd00::/8", "loopback"]);
    expect(issuesOf({ TRUST_PROXY: "10.0.0.0/8,proxy.internal" })).toEqual([
      expect.stringContaining("proxy.internal is not an address, a CIDR or loopback/linklocal/uniquelocal"),
    ]);
  });

  it("reports every bad variable at once", () => {
    const issues = issuesOf({ PORT: "x", LOG_LEVEL: "y", BATCH_MAX_SIZE: "z" });
    expect(issues.map((i) => i.split("=")[0]).sort()).toEqual(["BATCH_MAX_SIZE", "LOG_LEVEL", "PORT"]);
  });

  it("requires issuer and audience once JWT verification is configured", () => {
    const issues = issuesOf({ JWT_HS256_SECRET: "s".repeat(32) });
    expect(issues).toEqual([
      "JWT_ISSUER: required when JWT verification is configured",
      "JWT_AUDIENCE: required when JWT verification is configured",
    ]);
  });

  it("refuses algorithms without a key source, and JWT settings without any key", () => {
    const jwt = { JWT_ISSUER: "https://issuer", JWT_AUDIENCE: "plinth" };
    expect(issuesOf({ ...jwt, JWT_HS256_SECRET: "s".repeat(32), JWT_ALGORITHMS: "RS256" })[0]).toMatch(
      /^JWT_ALGORITHMS: RS256/,
    );
    expect(issuesOf({ ...jwt, JWT_JWKS_FILE: "/k.json", JWT_ALGORITHMS: "HS256" })[0]).toMatch(
      /^JWT_ALGORITHMS: HS256/,
    );
    expect(issuesOf(jwt)[0]).toMatch(/^JWT_ISSUER: set, but no JWT_HS256_SECRET/);
    expect(issuesOf({ ...jwt, JWT_JWKS_FILE: "/k.json", JWT_JWKS_URL: "https://k" })[0]).toMatch(
      /^JWT_JWKS_URL: set either/,
    );
  });

  it("takes a JWKS over https, or over plain http from this machine only", () => {
    const jwt = { JWT_ISSUER: "i", JWT_AUDIENCE: "a" };
    for (const url of ["https://idp.example/jwks.json", "http://127.0.0.1:8080/jwks", "http://localhost/k"]) {
      expect(loadConfig({ ...jwt, JWT_JWKS_URL: url }).auth.jwt?.jwksUrl).toBe(url);
    }
    expect(issuesOf({ ...jwt, JWT_JWKS_URL: "http://idp.example/jwks.json" })[0]).toContain(
      "expected an https:// URL (plain http only to a loopback address)",
    );
  });

  it("bounds how long a token may be valid: a day unless told", () => {
    const jwt = { JWT_ISSUER: "i", JWT_AUDIENCE: "a", JWT_HS256_SECRET: "s".repeat(32) };
    expect(loadConfig(jwt).auth.jwt?.maxLifetimeSeconds).toBe(86_400);
    expect(loadConfig({ ...jwt, JWT_MAX_LIFETIME_SECONDS: "3600" }).auth.jwt?.maxLifetimeSeconds).toBe(3600);
  });

  it("derives the accepted algorithms from the key sources", () => {
    const jwt = { JWT_ISSUER: "i", JWT_AUDIENCE: "a" };
    expect(loadConfig({ ...jwt, JWT_HS256_SECRET: "s".repeat(32) }).auth.jwt?.algorithms).toEqual(["HS256"]);
    expect(loadConfig({ ...jwt, JWT_JWKS_FILE: "/k.json" }).auth.jwt?.algorithms).toEqual(["RS256", "ES256"]);
  });

  it("keeps API keys only as hashes, with their identities", () => {
    const hash = hashApiKey("another-key-0123456789");
    const c = loadConfig({ API_KEYS: "dev:0123456789abcdef", API_KEY_HASHES: `ci:${hash}` });
    expect(c.auth.apiKeys).toEqual([
      { identity: "ci", sha256: hash, roles: [] },
      { identity: "dev", sha256: hashApiKey("0123456789abcdef"), roles: [] },
    ]);
    expect(JSON.stringify(c)).not.toContain('0123456789abcdef"');
  });

  it("refuses cross-field conflicts by name", () => {
    expect(issuesOf({ PORT: "9000", METRICS_PORT: "9000" })[0]).toMatch(
      /^METRICS_PORT: must differ from PORT/,
    );
    expect(issuesOf({ BATCH_MAX_SIZE: "64", QUEUE_MAX_ROWS: "32", MAX_ROWS_PER_REQUEST: "8" })[0]).toMatch(
      /^QUEUE_MAX_ROWS/,
    );
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ PORT: "", JWT_ISSUER: "  " }).port).toBe(8080);
  });

  // Regression: a malformed API_KEYS used to be echoed whole in the error, printing the key to the log.
  it("never echoes a credential's value in a config error", () => {
    const key = "supersecretkeyvalue-that-must-not-leak";
    const issues = issuesOf({ API_KEYS: `no-colon-${key}`, JWT_HS256_SECRET: "short-secret", PORT: "http" });
    expect(issues.join("\n")).not.toContain(key);
    expect(issues.join("\n")).not.toContain("short-secret");
    expect(issues).toContainEqual(
      expect.stringMatching(/^API_KEYS=\(value hidden\): expected "identity:value" pairs/),
    );
    expect(issues).toContainEqual(
      expect.stringMatching(/^JWT_HS256_SECRET=\(value hidden\): must be at least 32 bytes/),
    );
    expect(issues).toContainEqual(expect.stringMatching(/^PORT="http": /));
  });
});
