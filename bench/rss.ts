/**
 * Resident memory of a process and its descendants, read from /proc (Linux), sampled on a timer
 * while load runs. Threads (ONNX Runtime, libuv, worker_threads) share their process's RSS;
 * descendants are added so a server that forks workers is measured whole.
 */
import { readFileSync, readdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { RssSample } from "./stats/rss-trend.js";

function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
    if (text !== "") children.push(...text.split(/\s+/).map(Number));
  }
  return children;
}

/** RSS of `pid` plus all its descendants, in bytes; 0 once the process is gone. */
export function processTreeRssBytes(pid: number): number {
  try {
    return readRssBytes(pid) + childrenOf(pid).reduce((sum, child) => sum + processTreeRssBytes(child), 0);
  } catch {
    return 0;
  }
}

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
