/**
 * Shadow scoring: after stable has answered, the candidate runs a copy of the request off the
 * response path, and the two predicted labels are compared row by row. The copy is queued with
 * setImmediate, never awaited by the request; at most `queueMax` copies wait or run, further ones
 * are dropped and counted, so a slow or stuck candidate cannot grow memory or delay stable.
 *
 * A job carries the "run the candidate" step, so one mirror serves plinth models (rows re-encoded
 * for the candidate, top class per row) and graph models (the request's own run, predicted labels
 * from the model configuration). When either side's answers carry no label (a regression, a raw
 * or unconfigured graph model), latency and drops are still measured, but no rows are compared.
 */
import { performance } from "node:perf_hooks";
import type { Tensor } from "onnxruntime-node";
import type { GraphModel } from "../inference/graph-model.js";
import type { LoadedModel } from "../inference/load-model.js";
import type { PlinthModel } from "../inference/model.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import { classificationsInResults, type ConfiguredPrediction } from "../serving/configured-io.js";
import { argmax } from "../serving/top-class.js";
import { reencode } from "./reencode.js";
import { SampleWindow } from "./sample-window.js";

/** Rows the candidate scored in shadow, as encoded for it, with its top class per row. */
export interface ShadowScored {
  readonly model: PlinthModel;
  readonly data: Float32Array;
  readonly rows: number;
  readonly classes: Uint16Array;
}

/** What the candidate said of a shadow copy. */
export interface CandidateAnswer {
  /** Its predicted label per row; undefined when its answers carry none. */
  readonly labels: readonly string[] | undefined;
  /** What a plinth candidate scored, for the {@link ShadowMirror.onScored} listeners (drift). */
  readonly scored?: ShadowScored;
}

/** What stable did with a request, handed to the shadow after the response is decided. */
export interface ShadowJob {
  readonly stableVersion: string;
  readonly stableSeconds: number;
  /** Stable's predicted label per row (worked out off the response path); undefined when its answers carry none. */
  readonly stableLabels: () => readonly string[] | undefined;
  /** Runs the same request on the candidate; a rejection counts as a drop. */
  readonly runCandidate: (candidate: LoadedModel) => Promise<CandidateAnswer>;
}

const LATENCY_WINDOW = 1024;

/** The label of the top class of each of `rows` rows of `labels.length` probabilities. */
function topLabels(probs: Float32Array, rows: number, labels: readonly string[]): string[] {
  return Array.from({ length: rows }, (_, r) => labels[argmax(probs, r * labels.length, labels.length)]!);
}

/** A plinth model's shadow copy: `data` (encoded for `stable`) re-encoded for and scored by the candidate. */
export function plinthShadowJob(
  stable: PlinthModel,
  data: Float32Array,
  rows: number,
  stableProbs: Float32Array,
  stableSeconds: number,
): ShadowJob {
  // The job may wait in the shadow queue: its own copy, not a view pinning a 64 KiB row slab.
  const rowsCopy = data.slice();
  return {
    stableVersion: stable.version,
    stableSeconds,
    stableLabels: () => topLabels(stableProbs, rows, stable.labels),
    runCandidate: async (candidate) => {
      if (candidate.kind !== "plinth")
        throw new Error(`candidate version ${candidate.version} has no plinth metadata, stable has`);
      const input = reencode(rowsCopy, stable, candidate);
      const probs = await candidate.infer(input, rows);
      const width = candidate.labels.length;
      const classes = new Uint16Array(rows);
      for (let r = 0; r < rows; r++) classes[r] = argmax(probs, r * width, width);
      return {
        labels: Array.from(classes, (c) => candidate.labels[c]!),
        scored: { model: candidate, data: input, rows, classes },
      };
    },
  };
}

/** Predicts the label of each row of a graph model's answer; undefined when the answer carries none. */
export type GraphLabels<T> = (model: GraphModel, result: T) => readonly string[] | undefined;

/** A graph model's shadow copy: the request's own `run` on the candidate, labels read by `labelsOf`. */
export function graphShadowJob<T>(
  stable: GraphModel,
  result: T,
  stableSeconds: number,
  run: (model: GraphModel) => Promise<T>,
  labelsOf: GraphLabels<T> | undefined,
): ShadowJob {
  return {
    stableVersion: stable.version,
    stableSeconds,
    stableLabels: () => labelsOf?.(stable, result),
    runCandidate: async (candidate) => {
      if (candidate.kind !== "graph")
        throw new Error(`candidate version ${candidate.version} has plinth metadata, stable has none`);
      const answer = await run(candidate);
      return { labels: labelsOf?.(candidate, answer) };
    },
  };
}

/** The predicted label of every row, when every prediction has one (a classification's); else undefined. */
export function labelsOfPredictions(predictions: readonly ConfiguredPrediction[]): string[] | undefined {
  const labels: string[] = [];
  for (const p of predictions) {
    if (!("label" in p)) return undefined;
    labels.push(p.label);
  }
  return labels;
}

/**
 * The predicted labels in a graph model's run results (the Open Inference Protocol's answer): for
 * a model configured as a classification, when the run returned its answering output; else undefined.
 */
export function labelsOfResults(
  model: GraphModel,
  results: Readonly<Record<string, Tensor>>,
  rows: number,
): string[] | undefined {
  const predictions = classificationsInResults(model.io, results, rows);
  return predictions === undefined ? undefined : labelsOfPredictions(predictions);
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
    private readonly candidate: () => LoadedModel | undefined,
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
      const answer = await job.runCandidate(candidate);
      const seconds = (performance.now() - started) / 1000;
      this.record(job, candidate, answer, seconds);
      if (answer.scored !== undefined) for (const listener of this.listeners) listener(answer.scored);
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

  /** Counts latency, and agreement when both variants' answers carry predicted labels. */
  private record(job: ShadowJob, candidate: LoadedModel, answer: CandidateAnswer, seconds: number): void {
    const mine = answer.labels;
    const theirs = mine === undefined ? undefined : job.stableLabels();
    const m = this.metrics;
    if (mine !== undefined && theirs !== undefined) {
      const rows = theirs.length;
      let agreed = 0;
      for (let r = 0; r < rows; r++) if (mine[r] === theirs[r]) agreed++;
      this.comparedRows += rows;
      this.agreedRows += agreed;
      if (agreed > 0) m.shadowComparisons.labels(this.modelName, candidate.version, "agree").inc(agreed);
      if (agreed < rows)
        m.shadowComparisons.labels(this.modelName, candidate.version, "disagree").inc(rows - agreed);
    }
    m.shadowScoringDuration.labels(this.modelName, job.stableVersion, "stable").observe(job.stableSeconds);
    m.shadowScoringDuration.labels(this.modelName, candidate.version, "candidate").observe(seconds);
    this.latency.stable.add(job.stableSeconds * 1000);
    this.latency.candidate.add(seconds * 1000);
  }

  private drop(candidate: LoadedModel | undefined): void {
    this.droppedRequests++;
    this.metrics.shadowDropped.labels(this.modelName, candidate?.version ?? "").inc();
  }
}
