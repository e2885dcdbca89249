/**
 * The limits' counters against a real redis-server (Debian's, with a password and TLS): atomic
 * across clients, the password and the CA enforced, and the failover's documented behaviour when
 * the server hangs (SIGSTOP) or dies, then comes back.
 */
import type { FastifyBaseLogger } from "fastify";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LimitStoreConfig } from "../../../service/config.js";
import { AuthFailureLimiter } from "../../../service/auth/failure-limit.js";
import { FailoverCounter } from "../../../service/limits/failover-counter.js";
import { MemoryCounter, PartitionedMemoryCounter } from "../../../service/limits/memory-counter.js";
import { connectRedis, redisOptions } from "../../../service/limits/redis-client.js";
import { RedisCounter } from "../../../service/limits/redis-counter.js";
import { RedisServer } from "./redis-server.js";

const PASSWORD = "limits-test-password-0123";

function storeConfig(server: RedisServer, overrides: Partial<LimitStoreConfig> = {}): LimitStoreConfig {
  return {
    url: server.url,
    caFile: server.tls?.caFile,
    timeoutMs: 200,
    failureMode: "per-pod",
    ...overrides,
  };
}

/** A logger that keeps what it is told. */
function recordingLog(): { log: FastifyBaseLogger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_obj: unknown, msg?: string) =>
    void lines.push({ level, msg: msg ?? String(_obj) });
  const log = { warn: at("warn"), info: at("info"), error: at("error"), debug: at("debug") };
  return { log: log as unknown as FastifyBaseLogger, lines };
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `op`'s result once it stops failing while the client reconnects (within 5 s); an error matching
 * `final` is thrown at once.
 */
async function eventually<T>(op: () => Promise<T>, final?: RegExp): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (final?.test(String(err)) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe("RedisCounter over TLS with a password", () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await RedisServer.start({ password: PASSWORD, tls: true });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.dispose();
  });

  async function client(config: LimitStoreConfig): Promise<Redis> {
    const redis = await connectRedis(config, 3000);
    clients.push(redis);
    return redis;
  }

  it("counts one window for all clients, atomically: a limit is never passed by racing clients", async () => {
    const a = new RedisCounter(await client(storeConfig(server)));
    const b = new RedisCounter(await client(storeConfig(server)));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).add("race", 3, 60_000, 50)),
    );
    expect(results.filter((r) => r.added)).toHaveLength(16); // 16 x 3 = 48 <= 50 < 51
    const read = await a.read("race");
    expect(read.total).toBe(48);
    expect(read.ttlMs).toBeGreaterThan(59_000);
    expect(read.ttlMs).toBeLessThanOrEqual(60_000);
  });

  it("expires a window and starts a fresh one", async () => {
    const counter = new RedisCounter(await client(storeConfig(server)));
    await counter.add("short", 5, 150);
    expect((await counter.read("short")).total).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await counter.read("short")).total).toBe(0);
    expect(await counter.add("short", 1, 150)).toMatchObject({ total: 1, added: true });
  });

  it("refunds within a live window only, never below 0", async () => {
    const counter = new RedisCounter(await client(storeConfig(server)));
    await counter.add("refund", 10, 60_000);
    await counter.refund("refund", 4);
    expect((await counter.read("refund")).total).toBe(6);
    await counter.refund("refund", 50);
    expect((await counter.read("refund")).total).toBe(0);
    // No window: a refund opens none, so it cannot bank budget for the next one.
    await counter.refund("no-window", 5);
    expect(await counter.read("no-window")).toMatchObject({ total: 0, ttlMs: 0 });
    expect(await counter.add("no-window", 1, 60_000)).toMatchObject({ total: 1, added: true });
  });

  it("is refused without the password, and without the CA that signed the server's certificate", async () => {
    const noPassword = await client(storeConfig(server, { url: `rediss://127.0.0.1:${server.port}` }));
    await expect(new RedisCounter(noPassword).add("x", 1, 1000)).rejects.toThrow();
    const systemCas = await client(storeConfig(server, { caFile: undefined }));
    expect(systemCas.status).not.toBe("ready");
    await expect(new RedisCounter(systemCas).add("x", 1, 1000)).rejects.toThrow();
  });
});

describe("FailoverCounter against a redis-server that hangs, dies and comes back", () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await RedisServer.start({ password: PASSWORD });
    redis = await connectRedis(storeConfig(server), 3000);
  });
  afterAll(async () => {
    redis?.disconnect();
    server?.resume();
    await server?.dispose();
  });

  it("per-pod: falls back to memory within the timeout, warns once, and shares again when Redis is back", async () => {
    const { log, lines } = recordingLog();
    const states: boolean[] = [];
    const counter = new FailoverCounter(
      new RedisCounter(redis),
      new MemoryCounter(),
      { mode: "per-pod", log, onState: (up) => states.push(up), probeIntervalMs: 100 },
      redis.status === "ready",
    );
    try {
      expect(await counter.add("k", 1, 60_000)).toMatchObject({ total: 1 });

      server.pause();
      let started = Date.now();
      // The first check waits at most the command timeout, then memory answers.
      expect(await counter.add("k", 1, 60_000)).toMatchObject({ total: 1, added: true });
      expect(Date.now() - started).toBeLessThan(1000);
      started = Date.now();
      for (let i = 0; i < 5; i++) await counter.add("k", 1, 60_000);
      expect(Date.now() - started).toBeLessThan(100); // no request waits on a store known down
      expect(counter.storeUp).toBe(false);
      expect(lines.filter((l) => l.level === "warn")).toHaveLength(1);
      // A refund while down is taken back from this pod's own count.
      await counter.refund("k", 2);
      expect((await counter.add("k", 0, 60_000)).total).toBe(4);
      await counter.add("k", 2, 60_000);

      server.resume();
      await until(() => counter.storeUp);
      // Redis's count resumes where it was; the increment that timed out was still in the socket
      // and landed when Redis woke: a hang can make a limit count more, never less.
      expect(await counter.add("k", 1, 60_000)).toMatchObject({ total: 3 });

      await server.kill();
      started = Date.now();
      expect((await counter.add("k", 1, 60_000)).total).toBe(7); // memory: the 6 of the first outage, + 1
      expect(Date.now() - started).toBeLessThan(1000);
      await server.restart();
      await until(() => counter.storeUp, 15_000);
      expect(await counter.add("k", 1, 60_000)).toMatchObject({ total: 1 }); // a fresh server: nothing kept
      expect(states).toEqual([true, false, true, false, true]);
      expect(lines.filter((l) => l.level === "warn")).toHaveLength(2); // once per outage
      expect(lines.filter((l) => l.msg.includes("reachable again"))).toHaveLength(2);
    } finally {
      counter.close();
    }
  });

  it("closed: answers 503 OVERLOADED with Retry-After while Redis hangs", async () => {
    const { log } = recordingLog();
    const counter = new FailoverCounter(
      new RedisCounter(redis),
      new MemoryCounter(),
      { mode: "closed", log, onState: () => undefined, probeIntervalMs: 100 },
      redis.status === "ready",
    );
    try {
      await until(() => redis.status === "ready", 15_000);
      server.pause();
      const started = Date.now();
      await expect(counter.add("c", 1, 60_000)).rejects.toMatchObject({
        code: "OVERLOADED",
        headers: { "retry-after": "1" },
      });
      expect(Date.now() - started).toBeLessThan(1000);
      await expect(counter.add("c", 1, 60_000)).rejects.toMatchObject({ code: "OVERLOADED" });
      // A refund is best effort in every mode: nothing was charged that it could return.
      await expect(Promise.resolve(counter.refund("c", 1))).resolves.toBeUndefined();
      // The failed-auth limiter runs before credentials on every route, operators' included: it
      // never answers 503 for the store, it counts per pod until Redis is back.
      const failures = new AuthFailureLimiter({ limit: 2, windowMs: 60_000 }, counter);
      expect(await failures.blockedFor("203.0.113.9")).toBeUndefined();
      await failures.recordFailure("203.0.113.9");
      await failures.recordFailure("203.0.113.9");
      expect(await failures.blockedFor("203.0.113.9")).toBeGreaterThan(0);
      server.resume();
      await until(() => counter.storeUp);
      expect(await counter.add("c", 1, 60_000)).toMatchObject({ added: true });
    } finally {
      counter.close();
    }
  });
});

describe("after a managed failover leaves a connection on a read-only replica", () => {
  it("the probe needs a write, so the store is not marked up while every count fails; READONLY reconnects", async () => {
    const primary = await RedisServer.start({ password: PASSWORD });
    const replica = await RedisServer.start({ password: PASSWORD });
    const admin = await connectRedis(storeConfig(replica), 3000);
    const redis = await connectRedis(storeConfig(replica), 3000);
    try {
      await admin.config("SET", "masterauth", PASSWORD);
      await admin.call("REPLICAOF", "127.0.0.1", String(primary.port));
      const counter = new RedisCounter(redis);
      await expect(counter.add("k", 1, 60_000)).rejects.toThrow(/^READONLY/);
      // The client reconnects on READONLY (to find a new primary); on this replica, again and again.
      expect(await eventually(() => redis.ping())).toBe("PONG"); // what a PING probe would have believed
      await expect(eventually(() => counter.ping(), /READONLY/)).rejects.toThrow(/^READONLY/);
      expect(
        redisOptions(storeConfig(replica)).reconnectOnError?.(new Error("READONLY You can't write")),
      ).toBe(true);
      await admin.call("REPLICAOF", "NO", "ONE");
      // A write taken again: the probe would bring the store back now.
      await eventually(() => counter.ping());
      expect(await counter.add("k", 1, 60_000)).toMatchObject({ added: true });
    } finally {
      admin.disconnect();
      redis.disconnect();
      await replica.dispose();
      await primary.dispose();
    }
  });
});

describe("a service that starts while Redis is down", () => {
  it("limits per pod from the start, and shares once Redis comes", async () => {
    const server = await RedisServer.start({ password: PASSWORD });
    await server.kill();
    const redis = await connectRedis(storeConfig(server), 300);
    const { log, lines } = recordingLog();
    const counter = new FailoverCounter(
      new RedisCounter(redis),
      new MemoryCounter(),
      { mode: "per-pod", log, onState: () => undefined, probeIntervalMs: 100 },
      redis.status === "ready",
    );
    try {
      expect(counter.storeUp).toBe(false);
      expect(lines[0]?.msg).toContain("unreachable");
      expect(await counter.add("s", 1, 60_000)).toMatchObject({ total: 1, added: true });
      await server.restart();
      await until(() => counter.storeUp, 15_000);
      expect(await counter.add("s", 5, 60_000)).toMatchObject({ total: 5 });
    } finally {
      counter.close();
      redis.disconnect();
      await server.dispose();
    }
  });
});

describe("PartitionedMemoryCounter", () => {
  it("keeps each kind of limit apart, so a flood of one cannot evict another's windows", async () => {
    const counter = new PartitionedMemoryCounter({ maxKeys: 2 });
    await counter.add("count:alice", 3, 60_000);
    for (let i = 0; i < 10; i++) await counter.add(`auth-failures:198.51.100.${i}`, 1, 60_000);
    expect((await counter.read("count:alice")).total).toBe(3);
    expect((await counter.read("auth-failures:198.51.100.0")).total).toBe(0); // forgotten in its own kind
  });
});

describe("MemoryCounter refunds", () => {
  it("within a live window only, never below 0", async () => {
    const counter = new PartitionedMemoryCounter();
    await counter.add("cost:alice", 10, 60_000);
    await counter.refund("cost:alice", 4);
    expect((await counter.read("cost:alice")).total).toBe(6);
    await counter.refund("cost:alice", 50);
    expect((await counter.read("cost:alice")).total).toBe(0);
    await counter.refund("cost:bob", 5);
    expect(await counter.add("cost:bob", 1, 60_000)).toMatchObject({ total: 1, added: true });
  });
});
