/**
 * The request-count limit's hook on a bare fastify app: each limited request counted under its
 * key, the `ratelimit-*` headers on every limited response, past the limit `retry-after` and a 429
 * worded as before; routes declaring `rateLimit: false` exempt; a failing counter refuses.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { installErrorHandlers } from "../../../service/errors/handler.js";
import { COUNT_PREFIX, installCountLimit } from "../../../service/limits/count-limit.js";
import { PartitionedMemoryCounter } from "../../../service/limits/memory-counter.js";
import type { WindowCounter } from "../../../service/limits/window-counter.js";
import { COUNT_FAILURES, failingCounter } from "./failing-counter.js";

/** Answers every count a turn later, as Redis does. */
function later(inner: PartitionedMemoryCounter): WindowCounter {
  const turn = <T>(answer: () => T) => new Promise<T>((resolve) => setImmediate(() => resolve(answer())));
  return {
    add: (key, amount, windowMs, limit) => turn(() => inner.add(key, amount, windowMs, limit)),
    read: (key) => turn(() => inner.read(key)),
    refund: (key, amount) => turn(() => inner.refund(key, amount)),
  };
}

let app: FastifyInstance | undefined;
afterEach(() => app?.close());

async function limitedApp(counter: WindowCounter, max = 2): Promise<FastifyInstance> {
  app = Fastify({ logger: false });
  installErrorHandlers(app);
  installCountLimit(app, counter, {
    max,
    windowMs: 60_000,
    keyOf: (request) => String(request.headers["x-caller"] ?? request.ip),
  });
  app.get("/limited", async () => ({ ok: true }));
  app.get("/exempt", { config: { rateLimit: false } }, async () => ({ ok: true }));
  await app.ready();
  return app;
}

const get = (url: string, caller = "alice") => app!.inject({ url, headers: { "x-caller": caller } });

describe.each([
  ["answering at once (this process's memory)", (memory: PartitionedMemoryCounter): WindowCounter => memory],
  ["answering later (a promise, as Redis does)", later],
])("the request-count limit, its counter %s", (_, wrap) => {
  it("counts each request under its key and says what is left", async () => {
    const counter = new PartitionedMemoryCounter();
    await limitedApp(wrap(counter));
    const res = await get("/limited");
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({
      "ratelimit-limit": "2",
      "ratelimit-remaining": "1",
      "ratelimit-reset": "60",
    });
    expect(res.headers["retry-after"]).toBeUndefined();
    expect(counter.read(`${COUNT_PREFIX}alice`).total).toBe(1);
    expect((await get("/limited")).headers["ratelimit-remaining"]).toBe("0");
  });

  it("answers 429 past the limit, with retry-after, and keeps counting", async () => {
    const counter = new PartitionedMemoryCounter();
    await limitedApp(wrap(counter));
    await get("/limited");
    await get("/limited");
    const res = await get("/limited");
    expect(res.statusCode).toBe(429);
    expect(res.headers).toMatchObject({
      "ratelimit-limit": "2",
      "ratelimit-remaining": "0",
      "ratelimit-reset": "60",
      "retry-after": "60",
    });
    expect(res.json()).toMatchObject({
      error: { code: "RATE_LIMITED", message: "rate limit of 2 requests per 60 s exceeded; retry in 60 s" },
    });
    expect(counter.read(`${COUNT_PREFIX}alice`).total).toBe(3);
    // Another caller has its own bucket.
    expect((await get("/limited", "bob")).statusCode).toBe(200);
  });

  it("counts a HEAD request to a limited GET route once", async () => {
    const counter = new PartitionedMemoryCounter();
    await limitedApp(wrap(counter));
    const res = await app!.inject({ method: "HEAD", url: "/limited", headers: { "x-caller": "carol" } });
    expect(res.headers["ratelimit-remaining"]).toBe("1");
    expect(counter.read(`${COUNT_PREFIX}carol`).total).toBe(1);
  });

  it("leaves a route declaring rateLimit: false alone", async () => {
    const counter = new PartitionedMemoryCounter();
    await limitedApp(wrap(counter), 0);
    const res = await get("/exempt");
    expect(res.statusCode).toBe(200);
    expect(res.headers["ratelimit-limit"]).toBeUndefined();
    expect(counter.read(`${COUNT_PREFIX}alice`).total).toBe(0);
    expect((await get("/limited")).statusCode).toBe(429);
  });
});

describe("the request-count limit over a failing counter", () => {
  it.each(COUNT_FAILURES)("refuses the request when the counter %s", async (_, fail) => {
    await limitedApp(failingCounter(fail));
    const res = await get("/limited");
    expect(res.statusCode).toBe(500);
    expect(res.headers["ratelimit-limit"]).toBeUndefined();
  });
});

describe("a route's rate-limit declaration", () => {
  it("must be false or absent", async () => {
    app = Fastify({ logger: false });
    installCountLimit(app, new PartitionedMemoryCounter(), { max: 1, windowMs: 1000, keyOf: () => "k" });
    expect(() =>
      app!.get("/custom", { config: { rateLimit: { max: 5 } as unknown as false } }, async () => "ok"),
    ).toThrow("route GET /custom: config.rateLimit must be false (exempt) or absent (counted)");
  });
});
