/**
 * The cost budget's hook on a bare fastify app: a request is charged before its handler, refused
 * uncharged past the budget, and refunded when the service then refuses it without doing the work.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installErrorHandlers } from "../../../service/errors/handler.js";
import { ApiError } from "../../../service/errors/api-error.js";
import { ErrorCode } from "../../../service/errors/codes.js";
import { installCostBudget } from "../../../service/limits/cost-budget.js";
import { PartitionedMemoryCounter } from "../../../service/limits/memory-counter.js";
import type { Counted, WindowCount, WindowCounter } from "../../../service/limits/window-counter.js";
import { COUNT_FAILURES, failingCounter } from "./failing-counter.js";
import { decorateRequests } from "../../../service/server/request-context.js";

/** A counter answering through a promise a turn later, as Redis does: the hook's other path. */
class LaterCounter implements WindowCounter {
  constructor(private readonly inner: WindowCounter) {}
  add(key: string, amount: number, windowMs: number, limit?: number): Promise<WindowCount> {
    return later(() => this.inner.add(key, amount, windowMs, limit));
  }
  read(key: string): Promise<WindowCount> {
    return later(() => this.inner.read(key));
  }
  refund(key: string, amount: number): Promise<void> {
    return later(() => this.inner.refund(key, amount));
  }
}
const later = <T>(answer: () => Counted<T>) =>
  new Promise<T>((resolve) => setImmediate(() => resolve(answer())));

async function budgetApp(counter: WindowCounter): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  decorateRequests(app);
  installErrorHandlers(app);
  installCostBudget(app, counter, {
    max: 20,
    windowMs: 60_000,
    imageMaxPixels: 1_000_000,
    explainMaxPixels: 1_000_000,
    maxRowsPerRequest: 64,
  });
  // /predict costs 1 + its rows.
  app.post("/predict", async (request) => {
    const { answer } = request.query as { answer?: string };
    if (answer === "queue-full") throw new ApiError(ErrorCode.OVERLOADED, "inference queue full");
    if (answer === "share") throw new ApiError(ErrorCode.RATE_LIMITED, "over your share of the candidate");
    if (answer === "invalid") throw new ApiError(ErrorCode.INVALID_REQUEST, "inputs: bad");
    return { ok: true };
  });
  await app.ready();
  return app;
}

const predictOn = (app: FastifyInstance, rows: number, answer?: string) =>
  app.inject({
    method: "POST",
    url: `/predict${answer === undefined ? "" : `?answer=${answer}`}`,
    payload: { inputs: Array.from({ length: rows }, () => [0]) },
  });

describe.each([
  ["answering at once (this process's memory)", (memory: WindowCounter) => memory],
  ["answering later (a promise, as Redis does)", (memory: WindowCounter) => new LaterCounter(memory)],
])("the cost budget, its counter %s", (_, wrap) => {
  const counter = new PartitionedMemoryCounter();
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await budgetApp(wrap(counter));
  });
  afterAll(() => app.close());
  // A refund is not awaited by the response: let a later counter's answer land first.
  const spent = async () => {
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
    return counter.read("cost:127.0.0.1").total;
  };
  const predict = (rows: number, answer?: string) => predictOn(app, rows, answer);

  it("charges a served request its cost and says so", async () => {
    const res = await predict(4);
    expect(res.statusCode).toBe(200);
    expect(res.headers["plinth-request-cost"]).toBe("5");
    expect(await spent()).toBe(5);
  });

  it("refunds a request the service refused without doing its work (503, 429), not one it judged (400)", async () => {
    expect((await predict(4, "queue-full")).statusCode).toBe(503);
    expect((await predict(4, "share")).statusCode).toBe(429);
    expect(await spent()).toBe(5);
    expect((await predict(4, "invalid")).statusCode).toBe(400);
    expect(await spent()).toBe(10);
  });

  it("refuses uncharged past the budget, with Retry-After, and still takes a request that fits", async () => {
    const refused = await predict(19);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers["retry-after"]).toMatch(/^\d+$/);
    expect(refused.json().error.message).toMatch(
      /^cost budget of 20 per 60000 ms exceeded \(this request costs 20\)/,
    );
    expect(await spent()).toBe(10);
    expect((await predict(9)).statusCode).toBe(200);
    expect(await spent()).toBe(20);
  });

  it("says when a request costs more than the whole budget: no Retry-After, since waiting cannot help", async () => {
    const res = await predict(30);
    expect(res.statusCode).toBe(429);
    expect(res.headers["retry-after"]).toBeUndefined();
    expect(res.json().error.message).toBe(
      "this request costs 31, more than the whole cost budget of 20 per 60000 ms (RATE_LIMIT_COST_MAX); send fewer rows or a smaller image",
    );
  });
});

describe("the cost budget, its counter failing", () => {
  it.each(COUNT_FAILURES)(
    "refuses the request with the error envelope when the counter %s, never serves it unchecked",
    async (_, fail) => {
      const app = await budgetApp(failingCounter(fail));
      try {
        const res = await predictOn(app, 1);
        expect(res.statusCode).toBe(500);
        expect(res.json().error.code).toBe("INTERNAL");
      } finally {
        await app.close();
      }
    },
  );

  it("passes a closed store's 503 on as it is", async () => {
    const closed = new ApiError(ErrorCode.OVERLOADED, "the rate-limit store is unreachable; retry shortly", {
      "retry-after": "1",
    });
    const app = await budgetApp(failingCounter(() => Promise.reject(closed)));
    try {
      const res = await predictOn(app, 1);
      expect(res.statusCode).toBe(503);
      expect(res.headers["retry-after"]).toBe("1");
    } finally {
      await app.close();
    }
  });
});
