/**
 * Open-loop capacity: the highest fixed request rate a target sustains, found by stepping the rate
 * up from below a closed-loop estimate until a step fails.
 *
 * A closed loop overstates what an open-loop load can be given. Its 32 connections keep the
 * batcher's batches full (the model costs ~43 us a row at batch 32, ~115 us alone), while requests
 * arriving on their own schedule make smaller batches; and its generator is cheaper than one
 * holding hundreds of TLS connections. Soak run 10 took 70 % of a closed-loop 2,927 req/s: the
 * service then needed 89-92 % of a core and the generator stalled. Measured with the generator and
 * the pool the soak itself uses, 70 % of capacity leaves the machine the headroom it says it does.
 */
import type { FixedRateResult } from "./fixed-rate.js";

/** The rates tried, as shares of the closed-loop estimate, lowest first. */
export const CAPACITY_STEP_SHARES = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2] as const;

/** A step holds only if it answered at least this share of its rate. */
export const MIN_ACHIEVED_SHARE = 0.98;

/**
 * A step holds only if its p99 stays under this. Far above a healthy p99 here (5-50 ms at moderate
 * load), far below what a backlog growing through a 15-second step produces (seconds).
 */
export const MAX_STEP_P99_MS = 250;

export interface CapacityStep {
  readonly share: number;
  readonly result: FixedRateResult;
  /** Why the step does not hold; absent when it holds. */
  readonly failure?: string;
}

export interface CapacitySearch {
  /** The highest rate that held, in requests per second. */
  readonly ratePerSecond: number;
  /** Every step run, lowest rate first; the last one failed unless the ladder's top held. */
  readonly steps: readonly CapacityStep[];
}

/** Why a step at a fixed rate does not count as sustained, or undefined when it does. */
export function stepFailure(result: FixedRateResult): string | undefined {
  const errors = result.non2xx + result.failed;
  if (errors > 0) return `${errors} of ${result.sent} requests failed or were not 2xx`;
  if (result.achievedPerSecond < result.ratePerSecond * MIN_ACHIEVED_SHARE) {
    return `answered ${result.achievedPerSecond.toFixed(0)} req/s of ${result.ratePerSecond}`;
  }
  // What the service held each request for: a step is not failed for the generator's own delays.
  if (result.serviceLatency.p99Ms > MAX_STEP_P99_MS) {
    return `p99 ${result.serviceLatency.p99Ms.toFixed(0)} ms > ${MAX_STEP_P99_MS} ms`;
  }
  return undefined;
}

/**
 * Runs `runStep` at each share of `estimatePerSecond`, lowest first, and stops at the first step
 * that does not hold. Throws when even the lowest step fails: there is no capacity to take a share
 * of, and the error says why.
 */
export async function searchCapacity(
  estimatePerSecond: number,
  runStep: (ratePerSecond: number) => Promise<FixedRateResult>,
  onStep: (step: CapacityStep) => void = () => {},
  shares: readonly number[] = CAPACITY_STEP_SHARES,
): Promise<CapacitySearch> {
  if (!(estimatePerSecond > 0))
    throw new RangeError(`capacity estimate must be positive, got ${estimatePerSecond}`);
  const steps: CapacityStep[] = [];
  let ratePerSecond: number | undefined;
  for (const share of shares) {
    const rate = Math.max(1, Math.round(estimatePerSecond * share));
    const result = await runStep(rate);
    const failure = stepFailure(result);
    const step: CapacityStep = failure === undefined ? { share, result } : { share, result, failure };
    steps.push(step);
    onStep(step);
    if (failure !== undefined) break;
    ratePerSecond = rate;
  }
  if (ratePerSecond === undefined) {
    const first = steps[0]!;
    throw new Error(
      `no open-loop rate held: the lowest step, ${first.result.ratePerSecond} req/s ` +
        `(${Math.round(first.share * 100)} % of the closed-loop ${Math.round(estimatePerSecond)}), failed: ${first.failure}`,
    );
  }
  return { ratePerSecond, steps };
}
