import { describe, expect, it } from "vitest";
import { configIssues as issuesOf } from "../../support/config-issues.js";
import { loadConfig } from "../../../service/config.js";

const KEYS = { API_KEYS: "ops:0123456789abcdef,app:fedcba9876543210" };

describe("rollout settings", () => {
  it("defaults to single, stable only, sticky on x-user-id, watcher off", () => {
    const c = loadConfig({});
    expect(c.model.candidate).toBeUndefined();
    expect(c.rollout).toEqual({
      strategy: "single",
      candidateWeight: 0,
      shadowPercent: 0,
      shadowQueueMax: 64,
      stickyHeader: "x-user-id",
      candidateTimeoutMs: 1000,
      circuitThreshold: 5,
      circuitCooldownMs: 30_000,
      identitySharePercent: 25,
      bucketKey: undefined,
      watchIntervalMs: 0,
    });
  });

  it("reads a canary and a shadow", () => {
    const canary = loadConfig({
      ROLLOUT_STRATEGY: "canary",
      MODEL_CANDIDATE: "challenger",
      CANDIDATE_WEIGHT: "12.5",
      STICKY_HEADER: "X-Tenant",
    });
    expect(canary.model.candidate).toBe("challenger");
    expect(canary.rollout).toMatchObject({
      strategy: "canary",
      candidateWeight: 12.5,
      stickyHeader: "x-tenant",
    });
    const shadow = loadConfig({ ROLLOUT_STRATEGY: "shadow", MODEL_CANDIDATE: "7" });
    expect(shadow.rollout).toMatchObject({ strategy: "shadow", shadowPercent: 100, candidateWeight: 0 });
  });

  it.each([
    [{ ROLLOUT_STRATEGY: "canary" }, 'ROLLOUT_STRATEGY: "canary" needs MODEL_CANDIDATE (a version or alias)'],
    [{ ROLLOUT_STRATEGY: "shadow" }, 'ROLLOUT_STRATEGY: "shadow" needs MODEL_CANDIDATE (a version or alias)'],
    [
      { MODEL_CANDIDATE: "challenger" },
      'MODEL_CANDIDATE: set, but ROLLOUT_STRATEGY is "single"; use canary or shadow to serve a candidate',
    ],
    [
      { ROLLOUT_STRATEGY: "canary", MODEL_CANDIDATE: "champion" },
      'MODEL_CANDIDATE: the same reference as MODEL_STABLE ("champion")',
    ],
    [
      { ROLLOUT_STRATEGY: "shadow", MODEL_CANDIDATE: "challenger", CANDIDATE_WEIGHT: "10" },
      'CANDIDATE_WEIGHT: applies only to ROLLOUT_STRATEGY=canary; ROLLOUT_STRATEGY is "shadow"',
    ],
    [
      { ROLLOUT_STRATEGY: "canary", MODEL_CANDIDATE: "challenger", SHADOW_PERCENT: "10" },
      'SHADOW_PERCENT: applies only to ROLLOUT_STRATEGY=shadow; ROLLOUT_STRATEGY is "canary"',
    ],
    [
      { ...KEYS, API_KEY_ROLES: "ghost:admin" },
      'API_KEY_ROLES: identity "ghost" has no key in API_KEYS or API_KEY_HASHES',
    ],
  ])("refuses the combination %j by name", (env, message) => {
    expect(issuesOf(env)).toEqual([message]);
  });

  it.each([
    ["ROLLOUT_STRATEGY", "blue-green", /^ROLLOUT_STRATEGY="blue-green": Invalid option/],
    ["CANDIDATE_WEIGHT", "101", /^CANDIDATE_WEIGHT="101": Too big/],
    ["CANDIDATE_WEIGHT", "-1", /^CANDIDATE_WEIGHT="-1": Too small/],
    ["CANDIDATE_WEIGHT", "ten", /^CANDIDATE_WEIGHT="ten": Invalid input: expected number/],
    ["CANDIDATE_WEIGHT", "10.005", /^CANDIDATE_WEIGHT="10.005": expected at most two decimals$/],
    ["SHADOW_PERCENT", "150", /^SHADOW_PERCENT="150": Too big/],
    ["SHADOW_QUEUE_MAX", "0", /^SHADOW_QUEUE_MAX="0": Too small/],
    ["STICKY_HEADER", "x user", /^STICKY_HEADER="x user": expected an HTTP header name$/],
    ["CANDIDATE_TIMEOUT_MS", "0", /^CANDIDATE_TIMEOUT_MS="0": Too small/],
    ["CANDIDATE_CIRCUIT_THRESHOLD", "0", /^CANDIDATE_CIRCUIT_THRESHOLD="0": Too small/],
    ["CANDIDATE_CIRCUIT_COOLDOWN_MS", "10", /^CANDIDATE_CIRCUIT_COOLDOWN_MS="10": Too small/],
    ["CANDIDATE_IDENTITY_SHARE", "0", /^CANDIDATE_IDENTITY_SHARE="0": Too small/],
    ["CANDIDATE_IDENTITY_SHARE", "101", /^CANDIDATE_IDENTITY_SHARE="101": Too big/],
    // A credential's value is never echoed.
    [
      "ROLLOUT_BUCKET_KEY",
      "short-secret",
      /^ROLLOUT_BUCKET_KEY=\(value hidden\): must be at least 32 characters$/,
    ],
    ["MODEL_WATCH_INTERVAL_MS", "50", /^MODEL_WATCH_INTERVAL_MS="50": expected 0 \(off\) or at least 100$/],
    ["MODEL_CANDIDATE", "../etc", /^MODEL_CANDIDATE="\.\.\/etc": not an alias, a version number or a URI/],
    [
      "API_KEY_ROLES",
      "ops:admin+root",
      /^API_KEY_ROLES="ops:admin\+root": identity "ops": unknown role "root" \(roles: admin, ops-read, force-variant; join with \+\)$/,
    ],
    ["JWT_ROLES_CLAIM", " ", null],
  ])("names %s in the error for %j", (name, value, pattern) => {
    if (pattern === null) {
      // Blank means unset: the default claim applies.
      expect(() => loadConfig({ [name]: value })).not.toThrow();
      return;
    }
    const issues = issuesOf({ ...KEYS, [name]: value });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(pattern);
  });

  it("reads the canary bucket key, the circuit cooldown and the per-caller share", () => {
    const key = "k".repeat(32);
    const c = loadConfig({
      ROLLOUT_STRATEGY: "canary",
      MODEL_CANDIDATE: "challenger",
      ROLLOUT_BUCKET_KEY: key,
      CANDIDATE_CIRCUIT_COOLDOWN_MS: "5000",
      CANDIDATE_IDENTITY_SHARE: "12.5",
    });
    expect(c.rollout).toMatchObject({ bucketKey: key, circuitCooldownMs: 5000, identitySharePercent: 12.5 });
  });

  it("gives API-key identities their roles, deduplicated; others get none", () => {
    const c = loadConfig({ ...KEYS, API_KEY_ROLES: "ops:admin+force-variant+admin" });
    expect(c.auth.apiKeys.map((k) => [k.identity, k.roles])).toEqual([
      ["ops", ["admin", "force-variant"]],
      ["app", []],
    ]);
  });
});
