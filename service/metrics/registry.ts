/**
 * The service's prom-client registry, built from the metric catalog (service/contract/metrics.ts),
 * plus the process defaults. Hot paths keep their children in {@link LabelledCache} (no label
 * arrays built per request), and count and observe through {@link HotCounter} and HotHistogram
 * cells (no label hashing either).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { METRICS, MODEL_STATES, type MetricSpec, type ModelStateLabel } from "../contract/metrics.js";
import { HotHistogram } from "./hot-histogram.js";

/** Micro-batch sizes up to 1024 rows. */
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
/** session.run and queue wait: 25 us .. 1 s. */
const INFERENCE_SECONDS_BUCKETS = [
  0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

export interface MetricsOptions {
  /** Buckets of the HTTP duration histogram (HTTP_LATENCY_BUCKETS_SECONDS). */
  readonly httpBucketsSeconds: readonly number[];
  /** Collect Node.js and process defaults (off in tests that count exact series). */
  readonly processDefaults?: boolean;
}

/** One child of a {@link HotCounter}: increments add up here until the counter is collected. */
export class HotCounterCell {
  private pending = 0;
  constructor(private readonly child: { inc(value: number): void }) {}

  inc(value = 1): void {
    this.pending += value;
  }

  flush(): void {
    if (this.pending === 0) return;
    this.child.inc(this.pending);
    this.pending = 0;
  }
}

/**
 * A counter the request path increments: prom-client validates and hashes a child's labels on
 * every inc() (0.35 us), and two counters see every request; a {@link HotCounterCell} adds in
 * memory and hands the sum to prom-client when the counter is collected, on every scrape and
 * every get(), so what is read is never behind. Its series are never removed or reset (bounded
 * label sets: routes, statuses, versions, labels).
 */
export class HotCounter extends Counter {
  private readonly cells = new Map<string, HotCounterCell>();

  constructor(spec: MetricSpec, registers: Registry[]) {
    super({
      name: spec.name,
      help: spec.help,
      labelNames: spec.labelNames,
      registers,
      collect(this: Counter) {
        for (const cell of (this as HotCounter).cells.values()) cell.flush();
      },
    });
  }

  /** The cell of these label values (one per distinct set, kept for the counter's life). */
  cell(...values: string[]): HotCounterCell {
    const key = values.join("\u0000");
    let cell = this.cells.get(key);
    if (cell === undefined) {
      cell = new HotCounterCell(this.labels(...values));
      this.cells.set(key, cell);
    }
    return cell;
  }
}

function counter(spec: MetricSpec, registers: Registry[]) {
  return new Counter({ name: spec.name, help: spec.help, labelNames: spec.labelNames, registers });
}
function gauge(spec: MetricSpec, registers: Registry[]) {
  return new Gauge({ name: spec.name, help: spec.help, labelNames: spec.labelNames, registers });
}
function histogram(spec: MetricSpec, buckets: readonly number[], registers: Registry[]) {
  return new Histogram({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames,
    buckets: [...buckets],
    registers,
  });
}

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpRequests;
  readonly httpRequestDuration;
  readonly inferenceDuration;
  readonly inferenceBatchSize;
  readonly inferenceQueueWait;
  readonly inferenceQueueRejections;
  readonly predictions;
  readonly modelInfo;
  readonly modelReady;
  /** plinth_model_state: set at each scrape from {@link collectModelStates}'s function. */
  readonly modelState;
  readonly modelCapability;
  readonly modelFileBytes;
  readonly modelLoadRssDelta;
  readonly candidateFallbacks;
  readonly candidateCircuitOpen;
  readonly shadowComparisons;
  readonly shadowDropped;
  readonly shadowScoringDuration;
  readonly modelReloads;
  private modelStates: (() => readonly ModelVariantState[]) | undefined;

  constructor(options: MetricsOptions) {
    const r = [this.registry];
    this.httpRequests = new HotCounter(METRICS.httpRequests, r);
    this.httpRequestDuration = new HotHistogram(METRICS.httpRequestDuration, options.httpBucketsSeconds, r);
    this.inferenceDuration = new HotHistogram(METRICS.inferenceDuration, INFERENCE_SECONDS_BUCKETS, r);
    this.inferenceBatchSize = new HotHistogram(METRICS.inferenceBatchSize, BATCH_SIZE_BUCKETS, r);
    this.inferenceQueueWait = new HotHistogram(METRICS.inferenceQueueWait, INFERENCE_SECONDS_BUCKETS, r);
    this.inferenceQueueRejections = counter(METRICS.inferenceQueueRejections, r);
    this.predictions = new HotCounter(METRICS.predictions, r);
    this.modelInfo = gauge(METRICS.modelInfo, r);
    this.modelReady = gauge(METRICS.modelReady, r);
    const states = () => this.modelStates;
    this.modelState = new Gauge({
      name: METRICS.modelState.name,
      help: METRICS.modelState.help,
      labelNames: METRICS.modelState.labelNames,
      registers: r,
      collect() {
        const current = states();
        if (current === undefined) return;
        this.reset();
        for (const { model, variant, state } of current())
          for (const s of MODEL_STATES) this.labels(model, variant, s).set(s === state ? 1 : 0);
      },
    });
    this.modelCapability = gauge(METRICS.modelCapability, r);
    this.modelFileBytes = gauge(METRICS.modelFileBytes, r);
    this.modelLoadRssDelta = gauge(METRICS.modelLoadRssDelta, r);
    this.candidateFallbacks = counter(METRICS.candidateFallbacks, r);
    this.candidateCircuitOpen = gauge(METRICS.candidateCircuitOpen, r);
    this.shadowComparisons = counter(METRICS.shadowComparisons, r);
    this.shadowDropped = counter(METRICS.shadowDropped, r);
    this.shadowScoringDuration = histogram(METRICS.shadowScoringDuration, INFERENCE_SECONDS_BUCKETS, r);
    this.modelReloads = counter(METRICS.modelReloads, r);
    if (options.processDefaults !== false) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Where plinth_model_state reads each configured variant's state at a scrape: derived from what
   * serves, so the metric cannot disagree with /ready and /ready/pod.
   */
  collectModelStates(states: () => readonly ModelVariantState[]): void {
    this.modelStates = states;
  }
}

/** One configured model variant's state, as plinth_model_state exports it. */
export interface ModelVariantState {
  readonly model: string;
  readonly variant: string;
  readonly state: ModelStateLabel;
}

/**
 * Memoises prom-client children by a caller-built key. Label values must come from a bounded set
 * (route templates, status codes, model versions, class labels), so the cache is bounded too.
 */
export class LabelledCache<T> {
  private readonly children = new Map<string, T>();
  constructor(private readonly create: (labels: readonly string[]) => T) {}

  get(key: string, labels: () => readonly string[]): T {
    let child = this.children.get(key);
    if (child === undefined) {
      child = this.create(labels());
      this.children.set(key, child);
    }
    return child;
  }
}
