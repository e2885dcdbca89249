/**
 * Shadow scoring: after stable has answered, the candidate scores a copy of the request off the
 * response path, and the two predicted labels are compared row by row. The copy is queued with
 * setImmediate, never awaited by the request; at most `queueMax` copies wait or run, further ones
 * are dropped and counted, so a slow or stuck candidate cannot grow memory or delay stable.
 */
import { performance } from "node:perf_hooks";
import type { PlinthModel } from "../inference/model.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import { argmax } from "../serving/top-class.js";
import { reencode } from "./reencode.js";
import { SampleWindow } from "./sample-window.js";

/** What stable did with a request, handed to the shadow after the response is decided. */
export interface ShadowJob {
  /** The rows, normalised for `stable`. */
  readonly data: Float32Array;
  readonly rows: number;
  readonly stable: PlinthModel;
  readonly stableProbs: Float32Array;
  readonly stableSeconds: number;
}

const LATENCY_WINDOW = 1024;

/** Rows the candidate scored in shadow, as encoded for it, with its top class per row. */
export interface ShadowScored {
  readonly model: PlinthModel;
  readonly data: Float32Array;
  readonly rows: number;
  readonly classes: Uint16Array;
}

export type ShadowListener = (scored: ShadowScored) => void;

export class ShadowMirror {
  private pending = 0;
  private idleWaiters: (() => void)[] = [];
  private comparedRows = 0;
  private agreedRows = 0;
  private droppedRequests = 0;
  private readonly listeners = new Set<ShadowListener>();
  readonly latency = {
    stable: new SampleWindow(LATENCY_WINDOW),
    candidate: new SampleWindow(LATENCY_WINDOW),
  };

  constructor(
    /** The candidate to compare with, or undefined while it cannot take traffic. */
    private readonly candidate: () => PlinthModel | undefined,
    private readonly queueMax: number,
    private readonly metrics: ServiceMetrics,
    private readonly modelName: string,
  ) {}

  get compared(): number {
    return this.comparedRows;
  }
  get agreed(): number {
    return this.agreedRows;
  }
  get dropped(): number {
    return this.droppedRequests;
  }

  /**
   * Calls `listener` with every copy the candidate scored (drift watches the candidate's inputs
   * against its own training baseline this way, before it answers anyone); returns the unsubscribe.
   */
  onScored(listener: ShadowListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Queues a comparison; returns at once. */
  offer(job: ShadowJob): void {
    if (this.pending >= this.queueMax) {
      this.drop(this.candidate());
      return;
    }
    this.pending++;
    setImmediate(() => void this.run(job));
  }

  /** Resolves once no comparison is queued or running. */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(job: ShadowJob): Promise<void> {
    const candidate = this.candidate();
    try {
      if (candidate === undefined) {
        this.drop(undefined);
        return;
      }
      const started = performance.now();
      const input = reencode(job.data, job.stable, candidate);
      const probs = await candidate.infer(input, job.rows);
      const seconds = (performance.now() - started) / 1000;
      const classes = this.record(job, candidate, probs, seconds);
      for (const listener of this.listeners)
        listener({ model: candidate, data: input, rows: job.rows, classes });
    } catch {
      this.drop(candidate);
    } finally {
      this.pending--;
      if (this.pending === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /** Counts agreement and latency; returns the candidate's top class per row. */
  private record(job: ShadowJob, candidate: PlinthModel, probs: Float32Array, seconds: number): Uint16Array {
    const width = candidate.labels.length;
    const classes = new Uint16Array(job.rows);
    let agreed = 0;
    for (let r = 0; r < job.rows; r++) {
      classes[r] = argmax(probs, r * width, width);
      const mine = candidate.labels[classes[r]!];
      const theirs =
        job.stable.labels[argmax(job.stableProbs, r * job.stable.labels.length, job.stable.labels.length)];
      if (mine === theirs) agreed++;
    }
    this.comparedRows += job.rows;
    this.agreedRows += agreed;
    const m = this.metrics;
    if (agreed > 0) m.shadowComparisons.labels(this.modelName, candidate.version, "agree").inc(agreed);
    if (agreed < job.rows)
      m.shadowComparisons.labels(this.modelName, candidate.version, "disagree").inc(job.rows - agreed);
    m.shadowScoringDuration.labels(this.modelName, job.stable.version, "stable").observe(job.stableSeconds);
    m.shadowScoringDuration.labels(this.modelName, candidate.version, "candidate").observe(seconds);
    this.latency.stable.add(job.stableSeconds * 1000);
    this.latency.candidate.add(seconds * 1000);
    return classes;
  }

  private drop(candidate: PlinthModel | undefined): void {
    this.droppedRequests++;
    this.metrics.shadowDropped.labels(this.modelName, candidate?.version ?? "").inc();
  }
}
