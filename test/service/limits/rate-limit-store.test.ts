/**
 * The request-count store @fastify/rate-limit calls with callbacks: answered at once from memory,
 * when the answer arrives from a counter that answers later (Redis), and always with an Error when
 * the counter fails, so a failed count is never mistaken for an allowed request.
 */
import { describe, expect, it } from "vitest";
import { PartitionedMemoryCounter } from "../../../service/limits/memory-counter.js";
import { rateLimitStore } from "../../../service/limits/rate-limit-store.js";
import type { WindowCounter } from "../../../service/limits/window-counter.js";
import { COUNT_FAILURES, failingCounter } from "./failing-counter.js";

type Answer = { err: Error | null; result?: { current: number; ttl: number } };

function incr(counter: WindowCounter, key: string): Promise<Answer> {
  const Store = rateLimitStore(counter);
  return new Promise<Answer>((resolve) => {
    new Store(undefined).incr(key, (err, result) => resolve({ err, result }), 60_000);
  });
}

describe("the rate limiter's count store", () => {
  it("counts in memory and answers before incr returns", () => {
    const counter = new PartitionedMemoryCounter();
    const Store = rateLimitStore(counter);
    const answers: number[] = [];
    const store = new Store(undefined);
    for (let i = 0; i < 3; i++)
      store.incr("alice", (err, result) => answers.push(err === null ? result!.current : -1), 60_000);
    expect(answers).toEqual([1, 2, 3]);
    expect(counter.read("count:alice").total).toBe(3);
  });

  it("answers when a later counter's count arrives", async () => {
    const memory = new PartitionedMemoryCounter();
    const later: WindowCounter = {
      add: (...args) => new Promise((resolve) => setImmediate(() => resolve(memory.add(...args)))),
      read: (key) => Promise.resolve(memory.read(key)),
      refund: (key, amount) => Promise.resolve(memory.refund(key, amount)),
    };
    const { err, result } = await incr(later, "bob");
    expect(err).toBeNull();
    expect(result).toMatchObject({ current: 1 });
    expect(result!.ttl).toBeGreaterThan(59_000);
  });

  it.each(COUNT_FAILURES)("hands the limiter an Error when the counter %s", async (_, fail) => {
    const { err, result } = await incr(failingCounter(fail), "eve");
    expect(err).toBeInstanceOf(Error);
    expect(result).toBeUndefined();
  });
});
