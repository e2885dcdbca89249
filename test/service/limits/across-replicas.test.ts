/**
 * Issue #24: limits hold across replicas. Two real service processes share one redis-server
 * (Debian's, TLS with a private CA and a password, as production's): an identity gets its request
 * limit once across both, not once per process; an address gets its failed authentications once;
 * a few expensive requests spend the cost budget. Then Redis hangs (SIGSTOP) and dies (SIGKILL):
 * process A (RATE_LIMIT_REDIS_FAILURE_MODE=per-pod) keeps answering and limiting on its own,
 * process B (closed) answers 503; neither holds a request past the timeout; both share again once
 * Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServiceProcess, type ServiceProcess } from "../../support/service-process.js";
import { RedisServer } from "./redis-server.js";

const KEYS = {
  alice: "alice-key-0123456789",
  bob: "bob-key-0123456789",
  carol: "carol-key-0123456789",
  dave: "dave-key-0123456789",
};
const COUNT_MAX = 4;
const COST_MAX = 100;
const TIMEOUT_MS = 200;
/** Generous for a loaded CI machine; a request waiting on a hung Redis would take far longer. */
const NO_HANG_MS = 2000;
const UNREACHABLE = "rate-limit store (Redis) unreachable";

describe("limits shared by two service processes through one redis-server", () => {
  let redis: RedisServer;
  let a: ServiceProcess;
  let b: ServiceProcess;

  beforeAll(async () => {
    redis = await RedisServer.start({ password: "replicas-test-password-42", tls: true });
    const env = {
      API_KEYS: Object.entries(KEYS)
        .map(([identity, key]) => `${identity}:${key}`)
        .join(","),
      RATE_LIMIT_MAX: String(COUNT_MAX),
      RATE_LIMIT_WINDOW_MS: "60000",
      RATE_LIMIT_COST_MAX: String(COST_MAX),
      AUTH_FAILURE_LIMIT: "3",
      // The failed-auth test names its client address in X-Forwarded-For.
      TRUST_PROXY: "127.0.0.1",
      RATE_LIMIT_REDIS_URL: redis.url,
      RATE_LIMIT_REDIS_CA_FILE: redis.tls!.caFile,
      RATE_LIMIT_REDIS_TIMEOUT_MS: String(TIMEOUT_MS),
    };
    [a, b] = await Promise.all([
      startServiceProcess({ ...env, RATE_LIMIT_REDIS_FAILURE_MODE: "per-pod" }),
      startServiceProcess({ ...env, RATE_LIMIT_REDIS_FAILURE_MODE: "closed" }),
    ]);
  }, 180_000);

  afterAll(async () => {
    redis?.resume();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.dispose();
  });

  const call = (svc: ServiceProcess, path: string, headers: Record<string, string>, body?: unknown) =>
    fetch(`${svc.url}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  /** Status and duration of one request. */
  async function timed(
    svc: ServiceProcess,
    key: string,
  ): Promise<{ status: number; ms: number; code?: string }> {
    const started = Date.now();
    const res = await call(svc, "/metadata", { "x-api-key": key });
    const ms = Date.now() - started;
    const body = (await res.json()) as { error?: { code?: string } };
    return { status: res.status, ms, ...(body.error?.code === undefined ? {} : { code: body.error.code }) };
  }

  async function storeUp(svc: ServiceProcess): Promise<number | undefined> {
    const text = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
    const match = /^plinth_rate_limit_store_up (\d)/m.exec(text);
    return match === null ? undefined : Number(match[1]);
  }

  async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error("condition not met in time");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const warnings = (svc: ServiceProcess) => svc.output.join("").split(UNREACHABLE).length - 1;

  it("gives an identity its request limit once across both processes, not once per process", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 2 * COUNT_MAX; i++) {
      const res = await call(i % 2 === 0 ? a : b, "/metadata", { "x-api-key": KEYS.alice });
      statuses.push(res.status);
    }
    // Per-pod counting (the old store) lets all 8 through: 4 on each process.
    expect(statuses.filter((s) => s === 200)).toHaveLength(COUNT_MAX);
    expect(statuses.slice(COUNT_MAX)).toEqual(Array(COUNT_MAX).fill(429));
    expect(await storeUp(a)).toBe(1);
  });

  it("blocks an address after its failed authentications across both processes", async () => {
    const from = (svc: ServiceProcess, key: string) =>
      call(svc, "/metadata", { "x-api-key": key, "x-forwarded-for": "203.0.113.9" });
    expect((await from(a, "wrong-key-0123456789-1")).status).toBe(401);
    expect((await from(b, "wrong-key-0123456789-2")).status).toBe(401);
    expect((await from(a, "wrong-key-0123456789-3")).status).toBe(401);
    // B saw one failure itself: per-pod counting would let the right key through here.
    const blocked = await from(b, KEYS.dave);
    expect(blocked.status).toBe(429);
    expect(((await blocked.json()) as { error: { message: string } }).error.message).toMatch(
      /too many failed authentications/,
    );
    expect((await from(a, KEYS.dave)).status).toBe(429);
  });

  it("charges the cost budget by rows: two 64-row requests spend it, whichever process serves them", async () => {
    const rows = { inputs: Array.from({ length: 64 }, () => Array<number>(784).fill(0)) };
    const first = await call(a, "/predict", { "x-api-key": KEYS.bob }, rows);
    expect(first.status).toBe(200);
    expect(first.headers.get("plinth-request-cost")).toBe("65");
    const second = await call(b, "/predict", { "x-api-key": KEYS.bob }, rows);
    expect(second.status).toBe(429);
    expect(((await second.json()) as { error: { message: string } }).error.message).toMatch(
      /cost budget of 100 .* exceeded \(this request costs 65\)/,
    );
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
    // The refused request was not charged: a cheap one still fits (65 + 2 <= 100).
    const cheap = await call(
      b,
      "/predict",
      { "x-api-key": KEYS.bob },
      { inputs: [Array<number>(784).fill(0)] },
    );
    expect(cheap.status).toBe(200);
    expect(cheap.headers.get("plinth-request-cost")).toBe("2");
  });

  it("while Redis hangs (SIGSTOP): per-pod limits on A, 503 on B, no request held past the timeout", async () => {
    redis.pause();
    try {
      const onA = [];
      for (let i = 0; i < COUNT_MAX + 1; i++) onA.push(await timed(a, KEYS.carol));
      for (const r of onA) expect(r.ms).toBeLessThan(NO_HANG_MS);
      // Protection weakens to per-process, never disappears.
      expect(onA.map((r) => r.status)).toEqual([...Array<number>(COUNT_MAX).fill(200), 429]);
      const onB = await timed(b, KEYS.carol);
      expect(onB).toMatchObject({ status: 503, code: "OVERLOADED" });
      expect(onB.ms).toBeLessThan(NO_HANG_MS);
      expect(await storeUp(a)).toBe(0);
      expect(await storeUp(b)).toBe(0);
      expect(warnings(a)).toBe(1);
      // Public routes never touch the store.
      expect((await fetch(`${b.url}/health`)).status).toBe(200);
    } finally {
      redis.resume();
    }
    await until(async () => (await storeUp(a)) === 1 && (await storeUp(b)) === 1);
    expect((await timed(b, KEYS.dave)).status).not.toBe(503);
  });

  it("while Redis is dead (SIGKILL): the same, and both share again once it is restarted", async () => {
    await redis.kill();
    const onA = await timed(a, KEYS.dave);
    const onB = await timed(b, KEYS.dave);
    expect(onA.status).toBe(200);
    expect(onB).toMatchObject({ status: 503, code: "OVERLOADED" });
    expect(Math.max(onA.ms, onB.ms)).toBeLessThan(NO_HANG_MS);
    expect(warnings(a)).toBe(2); // once per outage
    await redis.restart();
    await until(async () => (await storeUp(a)) === 1 && (await storeUp(b)) === 1);
    expect(a.output.join("")).toContain("rate-limit store (Redis) reachable again");
    // A fresh (empty) Redis: shared counting from zero, once across both.
    const statuses = [];
    for (let i = 0; i < 2 * COUNT_MAX; i++)
      statuses.push((await timed(i % 2 === 0 ? a : b, KEYS.dave)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(COUNT_MAX);
  });
});
