import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthFailureLimiter } from "../../../service/auth/failure-limit.js";
import { API_KEY, errorCode, startTestService, type TestService } from "../server/service-fixture.js";

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe("AuthFailureLimiter", () => {
  it("blocks an address at the limit until its window ends, with the seconds left", async () => {
    const time = clock();
    const limiter = new AuthFailureLimiter({ limit: 3, windowMs: 60_000, now: time.now });
    await limiter.recordFailure("a");
    await limiter.recordFailure("a");
    expect(await limiter.blockedFor("a")).toBeUndefined();
    time.advance(10_500);
    await limiter.recordFailure("a");
    expect(await limiter.blockedFor("a")).toBe(50); // 49.5 s left, rounded up
    expect(await limiter.blockedFor("b")).toBeUndefined();
    time.advance(49_499);
    expect(await limiter.blockedFor("a")).toBe(1);
    time.advance(1);
    expect(await limiter.blockedFor("a")).toBeUndefined();
    expect(limiter.size).toBe(0); // the expired window is dropped
  });

  it("starts a fresh count after a window expires", async () => {
    const time = clock();
    const limiter = new AuthFailureLimiter({ limit: 2, windowMs: 1000, now: time.now });
    await limiter.recordFailure("a");
    time.advance(1000);
    await limiter.recordFailure("a");
    expect(await limiter.blockedFor("a")).toBeUndefined();
    await limiter.recordFailure("a");
    expect(await limiter.blockedFor("a")).toBe(1);
  });

  it("tracks at most maxAddresses, forgetting the oldest window first", async () => {
    const time = clock();
    const limiter = new AuthFailureLimiter({ limit: 1, windowMs: 60_000, maxAddresses: 2, now: time.now });
    await limiter.recordFailure("a");
    time.advance(1);
    await limiter.recordFailure("b");
    await limiter.recordFailure("c");
    expect(limiter.size).toBe(2);
    expect(await limiter.blockedFor("a")).toBeUndefined();
    expect(await limiter.blockedFor("b")).toBe(60);
    expect(await limiter.blockedFor("c")).toBe(60);
  });

  it("counts nothing with a limit of 0", async () => {
    const limiter = new AuthFailureLimiter({ limit: 0, windowMs: 60_000 });
    for (let i = 0; i < 100; i++) await limiter.recordFailure("a");
    expect(limiter.enabled).toBe(false);
    expect(limiter.size).toBe(0);
    expect(await limiter.blockedFor("a")).toBeUndefined();
  });
});

describe("failed authentications in the service", () => {
  let direct: TestService;
  let proxied: TestService;
  beforeAll(async () => {
    const limits = { AUTH_FAILURE_LIMIT: "3", AUTH_FAILURE_WINDOW_MS: "60000", RATE_LIMIT_MAX: "1000" };
    [direct, proxied] = await Promise.all([
      startTestService(limits),
      startTestService({ ...limits, TRUST_PROXY: "127.0.0.1" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([direct?.close(), proxied?.close()]);
  });

  const metadata = (svc: TestService, remoteAddress: string, headers: Record<string, string>) =>
    svc.app.inject({ method: "GET", url: "/metadata", remoteAddress, headers });

  it("answers 429 with Retry-After after three wrong keys, even to the right key, from that address only", async () => {
    for (let i = 0; i < 3; i++) {
      const wrong = await metadata(direct, "203.0.113.7", { "x-api-key": `wrong-key-${i}-0123456789` });
      expect(wrong.statusCode).toBe(401);
      expect(errorCode(wrong)).toBe("INVALID_CREDENTIALS");
    }
    const blocked = await metadata(direct, "203.0.113.7", { "x-api-key": API_KEY });
    expect(blocked.statusCode).toBe(429);
    expect(errorCode(blocked)).toBe("RATE_LIMITED");
    expect(blocked.json().error.message).toMatch(
      /too many failed authentications from this address; retry in \d+ s/,
    );
    const retryAfter = Number(blocked.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(59);
    expect(retryAfter).toBeLessThanOrEqual(60);

    expect((await metadata(direct, "203.0.113.8", { "x-api-key": API_KEY })).statusCode).toBe(200);
    // Health and readiness stay public for the blocked address.
    const health = await direct.app.inject({ method: "GET", url: "/health", remoteAddress: "203.0.113.7" });
    expect(health.statusCode).toBe(200);
  });

  it("counts wrong bearer tokens too, and never a request without credentials", async () => {
    for (let i = 0; i < 5; i++) {
      const missing = await metadata(direct, "203.0.113.9", {});
      expect(missing.statusCode).toBe(401);
      expect(errorCode(missing)).toBe("UNAUTHENTICATED");
    }
    expect((await metadata(direct, "203.0.113.9", { "x-api-key": API_KEY })).statusCode).toBe(200);
    for (let i = 0; i < 3; i++) {
      const res = await metadata(direct, "203.0.113.10", { authorization: "Bearer not-a-key-0123456789" });
      expect(errorCode(res)).toBe("INVALID_CREDENTIALS");
    }
    expect((await metadata(direct, "203.0.113.10", { "x-api-key": API_KEY })).statusCode).toBe(429);
  });

  it("ignores X-Forwarded-For from a proxy it was not told to trust", async () => {
    for (let i = 0; i < 3; i++) {
      await metadata(direct, "203.0.113.20", {
        "x-api-key": "wrong-key-0123456789",
        "x-forwarded-for": `198.51.100.${i}`,
      });
    }
    const res = await metadata(direct, "203.0.113.20", {
      "x-api-key": API_KEY,
      "x-forwarded-for": "198.51.100.99",
    });
    expect(res.statusCode).toBe(429);
  });

  it("counts the client named by a trusted proxy's X-Forwarded-For, not the proxy", async () => {
    const viaProxy = (client: string, key: string) =>
      metadata(proxied, "127.0.0.1", { "x-api-key": key, "x-forwarded-for": client });
    for (let i = 0; i < 3; i++)
      expect((await viaProxy("198.51.100.1", "wrong-key-0123456789")).statusCode).toBe(401);
    expect((await viaProxy("198.51.100.1", API_KEY)).statusCode).toBe(429);
    // Other clients behind the same proxy are unaffected.
    expect((await viaProxy("198.51.100.2", API_KEY)).statusCode).toBe(200);
    expect((await metadata(proxied, "127.0.0.1", { "x-api-key": API_KEY })).statusCode).toBe(200);
  });
});
