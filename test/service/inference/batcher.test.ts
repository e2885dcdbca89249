import { describe, expect, it } from "vitest";
import { MicroBatcher, QueueFullError, type BatchObserver } from "../../../service/inference/batcher.js";
import type { BatchResult, BatchRunner } from "../../../service/inference/runner.js";

/** A runner whose output row r is `[input[r*2] * 10, input[r*2+1] * 10]`, recording batch sizes. */
class FakeRunner implements BatchRunner {
  readonly batches: number[] = [];
  private gate: (() => void) | undefined;
  private blocked: Promise<void> | undefined;

  /** Holds every run until `release()`. */
  block(): void {
    this.blocked = new Promise((resolve) => (this.gate = resolve));
  }
  release(): void {
    this.gate?.();
    this.blocked = undefined;
  }

  async run(input: Float32Array, rows: number): Promise<BatchResult> {
    this.batches.push(rows);
    const copy = input.slice(0, rows * 2);
    await this.blocked;
    return { output: copy.map((v) => v * 10), seconds: 0.001 };
  }
  async dispose(): Promise<void> {}
}

function recorder() {
  const seen = { batches: [] as number[], waits: 0, rejected: 0 };
  const observer: BatchObserver = {
    batch: (rows) => seen.batches.push(rows),
    queueWait: () => seen.waits++,
    rejected: (rows) => (seen.rejected += rows),
  };
  return { seen, observer };
}

const options = { inputSize: 2, outputSize: 2, maxBatchSize: 4, maxDelayMs: 5, queueMaxRows: 10 };
const row = (id: number) => Float32Array.of(id, -id);

describe("MicroBatcher", () => {
  it("coalesces a burst into batches of at most maxBatchSize and routes each result to its caller", async () => {
    const runner = new FakeRunner();
    const { seen, observer } = recorder();
    const batcher = new MicroBatcher(runner, options, observer);
    const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const results = await Promise.all(ids.map((id) => batcher.submit(row(id), 1)));
    expect(results.map((r) => [...r])).toEqual(ids.map((id) => [id * 10, -id * 10]));
    expect(runner.batches.every((n) => n <= 4)).toBe(true);
    expect(runner.batches.reduce((a, b) => a + b, 0)).toBe(10);
    expect(runner.batches).toEqual([4, 4, 2]);
    expect(seen.batches).toEqual([4, 4, 2]);
    expect(seen.waits).toBe(10);
  });

  it("runs a lone row after maxDelayMs rather than waiting for company", async () => {
    const runner = new FakeRunner();
    const batcher = new MicroBatcher(runner, options, recorder().observer);
    expect([...(await batcher.submit(row(7), 1))]).toEqual([70, -70]);
    expect(runner.batches).toEqual([1]);
  });

  it("takes rows that arrived during a run into the next batch", async () => {
    const runner = new FakeRunner();
    const batcher = new MicroBatcher(runner, { ...options, maxDelayMs: 0 }, recorder().observer);
    runner.block();
    const first = batcher.submit(row(1), 1);
    await new Promise((r) => setTimeout(r, 5)); // first batch is running and blocked
    const later = [2, 3, 4].map((id) => batcher.submit(row(id), 1));
    runner.release();
    const all = await Promise.all([first, ...later]);
    expect(all.map((r) => r[0])).toEqual([10, 20, 30, 40]);
    expect(runner.batches).toEqual([1, 3]);
  });

  it("splits a request larger than a batch and reassembles its rows in order", async () => {
    const runner = new FakeRunner();
    const batcher = new MicroBatcher(runner, options, recorder().observer);
    const input = Float32Array.from({ length: 6 * 2 }, (_, i) => i);
    const out = await batcher.submit(input, 6);
    expect([...out]).toEqual([...input].map((v) => v * 10));
    expect(runner.batches).toEqual([4, 2]);
  });

  it("refuses rows beyond queueMaxRows at once, counts them, and serves the next request normally", async () => {
    const runner = new FakeRunner();
    const { seen, observer } = recorder();
    const batcher = new MicroBatcher(runner, { ...options, maxBatchSize: 2, queueMaxRows: 4 }, observer);
    runner.block();
    const running = batcher.submit(Float32Array.of(1, 1, 2, 2), 2); // fills and starts a batch
    await new Promise((r) => setTimeout(r, 1));
    const queued = [
      batcher.submit(row(3), 1),
      batcher.submit(row(4), 1),
      batcher.submit(Float32Array.of(5, 5, 6, 6), 2),
    ];
    await expect(batcher.submit(row(9), 1)).rejects.toBeInstanceOf(QueueFullError);
    expect(seen.rejected).toBe(1);
    expect(batcher.depth).toBe(4);
    runner.release();
    await Promise.all([running, ...queued]);
    expect([...(await batcher.submit(row(8), 1))]).toEqual([80, -80]);
  });

  it("rejects every caller of a failed batch and keeps serving", async () => {
    let fail = true;
    const runner: BatchRunner = {
      run: async (input, rows) => {
        if (fail) throw new Error("engine fault");
        return { output: input.slice(0, rows * 2), seconds: 0 };
      },
      dispose: async () => {},
    };
    const batcher = new MicroBatcher(runner, options, recorder().observer);
    const results = await Promise.allSettled([batcher.submit(row(1), 1), batcher.submit(row(2), 1)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect([...(await batcher.submit(row(3), 1))]).toEqual([3, -3]);
  });

  it("drain() resolves once queued and running batches are done", async () => {
    const runner = new FakeRunner();
    const batcher = new MicroBatcher(runner, options, recorder().observer);
    runner.block();
    let done = false;
    const pending = batcher.submit(row(1), 1).then(() => (done = true));
    const drained = batcher.drain().then(() => done);
    await new Promise((r) => setTimeout(r, 10));
    runner.release();
    expect(await drained).toBe(true);
    await pending;
  });
});
