/** Resident memory of a server's process tree, sampled on a timer while load runs. */
import { performance } from "node:perf_hooks";
import { processTreeRssBytes } from "./proc.js";
import type { RssSample } from "./stats/rss-trend.js";

/** Samples a process tree's RSS every `intervalMs` from construction until {@link stop}. */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly startedAt = performance.now();

  constructor(
    private readonly pid: number,
    intervalMs: number,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** Takes one sample now (also called between phases, so short phases are covered). */
  sample(): void {
    const bytes = processTreeRssBytes(this.pid);
    if (bytes > 0) this.samples.push({ atMs: performance.now() - this.startedAt, bytes });
  }

  stop(): RssSample[] {
    clearInterval(this.timer);
    this.sample();
    return this.samples;
  }
}
