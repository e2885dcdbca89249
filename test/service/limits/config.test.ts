/** The limits' settings: defaults, and every bad value refused by its variable's name. */
import { describe, expect, it } from "vitest";
import { configIssues } from "../../support/config-issues.js";
import { loadConfig } from "../../../service/config.js";
import { startServiceProcess } from "../../support/service-process.js";

const issuesOf = configIssues;

describe("the limits' settings", () => {
  it("default to a cost budget of 10 x the request limit and no shared store (each process counts on its own)", () => {
    expect(loadConfig({}).rateLimit).toEqual({
      max: 6000,
      windowMs: 60_000,
      cost: { max: 60_000, windowMs: 60_000 },
      store: undefined,
    });
    expect(loadConfig({ RATE_LIMIT_MAX: "100", RATE_LIMIT_WINDOW_MS: "1000" }).rateLimit.cost).toEqual({
      max: 1000,
      windowMs: 1000,
    });
    expect(loadConfig({ RATE_LIMIT_COST_MAX: "0" }).rateLimit.cost.max).toBe(0);
  });

  it("take a rediss:// URL with a password, a CA file, a timeout and a failure mode", () => {
    const { store } = loadConfig({
      RATE_LIMIT_REDIS_URL: "rediss://:s3cret@redis.plinth.svc:6380/2",
      RATE_LIMIT_REDIS_CA_FILE: "/etc/redis-ca/ca.crt",
      RATE_LIMIT_REDIS_TIMEOUT_MS: "100",
      RATE_LIMIT_REDIS_FAILURE_MODE: "closed",
    }).rateLimit;
    expect(store).toEqual({
      url: "rediss://:s3cret@redis.plinth.svc:6380/2",
      caFile: "/etc/redis-ca/ca.crt",
      timeoutMs: 100,
      failureMode: "closed",
    });
    expect(loadConfig({ RATE_LIMIT_REDIS_URL: "redis://:pw@127.0.0.1:6379" }).rateLimit.store).toMatchObject({
      timeoutMs: 250,
      failureMode: "per-pod",
    });
  });

  it.each([
    [{ RATE_LIMIT_REDIS_URL: "http://redis:6379" }, "RATE_LIMIT_REDIS_URL"],
    [{ RATE_LIMIT_REDIS_URL: "https://:pw@redis:6379" }, "RATE_LIMIT_REDIS_URL"],
    [{ RATE_LIMIT_REDIS_URL: "redis host:6379" }, "RATE_LIMIT_REDIS_URL"],
    // A password in clear across the network: TLS or loopback only.
    [{ RATE_LIMIT_REDIS_URL: "redis://:pw@redis.plinth.svc:6379" }, "RATE_LIMIT_REDIS_URL"],
    [{ RATE_LIMIT_REDIS_URL: "rediss://:pw@redis:6379/cache" }, "RATE_LIMIT_REDIS_URL"],
    [{ RATE_LIMIT_REDIS_TIMEOUT_MS: "5" }, "RATE_LIMIT_REDIS_TIMEOUT_MS"],
    [{ RATE_LIMIT_REDIS_TIMEOUT_MS: "soon" }, "RATE_LIMIT_REDIS_TIMEOUT_MS"],
    [{ RATE_LIMIT_REDIS_FAILURE_MODE: "open" }, "RATE_LIMIT_REDIS_FAILURE_MODE"],
    [{ RATE_LIMIT_COST_MAX: "-1" }, "RATE_LIMIT_COST_MAX"],
    [{ RATE_LIMIT_COST_WINDOW_MS: "10" }, "RATE_LIMIT_COST_WINDOW_MS"],
  ])("%j is refused, naming %s", (env, name) => {
    const issues = issuesOf(env);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.startsWith(`${name}=`)).toBe(true);
  });

  it("never echoes the URL, which holds the password", () => {
    const [issue] = issuesOf({ RATE_LIMIT_REDIS_URL: "http://:hunter2-password@redis:6379" });
    expect(issue).toContain("RATE_LIMIT_REDIS_URL=(value hidden)");
    expect(issue).not.toContain("hunter2");
  });

  it("refuses a CA file without a TLS URL", () => {
    expect(issuesOf({ RATE_LIMIT_REDIS_CA_FILE: "/ca.crt" })).toEqual([
      "RATE_LIMIT_REDIS_CA_FILE: set, but RATE_LIMIT_REDIS_URL is not",
    ]);
    expect(
      issuesOf({ RATE_LIMIT_REDIS_CA_FILE: "/ca.crt", RATE_LIMIT_REDIS_URL: "redis://:pw@127.0.0.1:6379" }),
    ).toEqual(["RATE_LIMIT_REDIS_CA_FILE: set, but RATE_LIMIT_REDIS_URL is not rediss:// (TLS)"]);
  });

  it("stops the service at start, naming the variable", async () => {
    await expect(startServiceProcess({ RATE_LIMIT_REDIS_URL: "http://redis:6379" }, 30_000)).rejects.toThrow(
      /exited \(2\)[\s\S]*RATE_LIMIT_REDIS_URL=\(value hidden\): expected rediss:\/\//,
    );
  });
});
