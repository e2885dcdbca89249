/**
 * How fast the CPU runs for this process, over time. On a shared VM the same work can take 25 %
 * more CPU for minutes at a time (another tenant on the sibling hyperthread; it does not show as
 * steal), and a stack loaded to 70 % of the capacity measured earlier is then at ~90 %. The probe
 * times a fixed piece of arithmetic every second and keeps the fastest of a few runs (preemption
 * only ever makes a run slower), so a minute's median says how fast the machine was.
 */
import { performance } from "node:perf_hooks";
import { median } from "../stats/quantile.js";

export interface ProbeSample {
  readonly atMs: number;
  /** Fastest of {@link RUNS_PER_SAMPLE} runs of the fixed work, in microseconds. */
  readonly microseconds: number;
}

const RUNS_PER_SAMPLE = 3;
const WORK_ITERATIONS = 50_000;

/** The fixed work: integer mixing the optimiser cannot fold away (the result is returned). */
function fixedWork(seed: number): number {
  let x = seed | 0;
  for (let i = 0; i < WORK_ITERATIONS; i++) x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i;
  return x;
}

export class SpeedProbe {
  readonly samples: ProbeSample[] = [];
  private readonly timer: NodeJS.Timeout;
  private sink = 0;

  constructor(intervalMs = 1000) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    let fastest = Infinity;
    for (let run = 0; run < RUNS_PER_SAMPLE; run++) {
      const start = performance.now();
      this.sink ^= fixedWork(run + this.samples.length);
      fastest = Math.min(fastest, (performance.now() - start) * 1000);
    }
    this.samples.push({ atMs: performance.now(), microseconds: fastest });
  }

  /** Median time of the fixed work over samples taken in [fromMs, toMs) (performance.now()). */
  medianBetween(fromMs: number, toMs: number): number {
    const inWindow = this.samples.filter((s) => s.atMs >= fromMs && s.atMs < toMs).map((s) => s.microseconds);
    return inWindow.length === 0 ? NaN : median(inWindow);
  }

  stop(): void {
    clearInterval(this.timer);
    // Keeps the work observable, so it is never optimised out.
    if (this.sink === 0.5) this.samples.length = 0;
  }
}

/** Speed of a window against a reference, in percent (100: as fast; 80: the work took 25 % longer). */
export function relativeSpeedPercent(referenceMicroseconds: number, windowMicroseconds: number): number {
  return Math.round((referenceMicroseconds / windowMicroseconds) * 1000) / 10;
}
