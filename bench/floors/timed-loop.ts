/**
 * A measured loop for the in-process floors: runs `step` sequentially for a time budget after a
 * fixed warm-up, and reports the mean time per call. Sequential on purpose: a floor is the cost of
 * one operation with nothing else running.
 */
import { performance } from "node:perf_hooks";

export interface LoopTiming {
  readonly calls: number;
  readonly meanUs: number;
}

export async function timedLoop(
  step: () => Promise<unknown>,
  budgetMs: number,
  warmupCalls: number,
): Promise<LoopTiming> {
  for (let i = 0; i < warmupCalls; i++) await step();
  const start = performance.now();
  let calls = 0;
  let elapsed = 0;
  // Check the clock every 16 calls: the floor being measured may be a few microseconds.
  while (elapsed < budgetMs) {
    for (let i = 0; i < 16; i++) await step();
    calls += 16;
    elapsed = performance.now() - start;
  }
  return { calls, meanUs: (elapsed * 1000) / calls };
}
