/**
 * Traffic, errors and latency of the prediction routes, read from the service's own metrics
 * (plinth_http_request_* and plinth_inference_duration_seconds), as cumulative samples taken every
 * OPS_SAMPLE_INTERVAL_MS. Consecutive samples give the admin panel's per-interval series (request
 * rate per variant, error rate, p95) without any state on the request path.
 */
import type { ServiceMetrics } from "../metrics/registry.js";
import { PREDICTION_ROUTES } from "../contract/prediction-routes.js";
import { bucketDelta, counterTotals, mergedBuckets, quantile, type Buckets } from "./prom-read.js";

export interface TrafficSample {
  readonly timeMs: number;
  /** Prediction requests by the variant that answered ("" for those refused before routing). */
  readonly requestsByVariant: ReadonlyMap<string, number>;
  /** Prediction requests answered with a 5xx. */
  readonly errors: number;
  /** HTTP duration of prediction requests, seconds. */
  readonly http: Buckets;
  /** session.run duration by variant, seconds. */
  readonly inferenceByVariant: ReadonlyMap<string, Buckets>;
}

/** One point of the panel's series: what happened between two samples. */
export interface TrafficPoint {
  readonly time: string;
  readonly requestsPerSecond: Readonly<Record<string, number>>;
  readonly errorRate: number | null;
  readonly p95Ms: number | null;
}

/** Samples kept: 10 minutes at the default 5 s interval. */
export const SAMPLES_KEPT = 120;
const toMs = (seconds: number | null) => (seconds === null ? null : Number((seconds * 1000).toFixed(3)));
const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

export async function sampleTraffic(metrics: ServiceMetrics, timeMs = Date.now()): Promise<TrafficSample> {
  const onPredictionRoute = (l: Record<string, unknown>) => PREDICTION_ROUTES.has(String(l.route));
  const requestsByVariant = await counterTotals(metrics.httpRequests, onPredictionRoute, (l) =>
    String(l.variant ?? ""),
  );
  const errors = sum(
    (
      await counterTotals(metrics.httpRequests, (l) => onPredictionRoute(l) && Number(l.status_code) >= 500)
    ).values(),
  );
  const http = await mergedBuckets(metrics.httpRequestDuration, onPredictionRoute);
  const inferenceByVariant = new Map<string, Buckets>();
  for (const variant of new Set([...requestsByVariant.keys()].filter((v) => v !== ""))) {
    inferenceByVariant.set(
      variant,
      await mergedBuckets(metrics.inferenceDuration, (l) => l.variant === variant),
    );
  }
  return { timeMs, requestsByVariant, errors, http, inferenceByVariant };
}

/** Totals and p95s since the process started. */
export function trafficTotals(sample: TrafficSample) {
  const requests = sum(sample.requestsByVariant.values());
  const byVariant = Object.fromEntries([...sample.requestsByVariant].filter(([v]) => v !== ""));
  const inferenceP95MsByVariant = Object.fromEntries(
    [...sample.inferenceByVariant].map(([v, b]) => [v, toMs(quantile(b, 0.95))]),
  );
  const allInference = [...sample.inferenceByVariant.values()];
  return {
    requests,
    requestsByVariant: byVariant,
    errors: sample.errors,
    errorRate: requests === 0 ? null : Number((sample.errors / requests).toFixed(6)),
    p95Ms: toMs(quantile(sample.http, 0.95)),
    inferenceP95Ms: toMs(quantile(mergeAll(allInference), 0.95)),
    inferenceP95MsByVariant,
  };
}

function mergeAll(list: readonly Buckets[]): Buckets {
  if (list.length === 0) return { bounds: [], counts: [] };
  const bounds = list[0]!.bounds;
  return { bounds, counts: bounds.map((_, i) => sum(list.map((b) => b.counts[i] ?? 0))) };
}

/** The change between two samples as a series point. */
export function trafficPoint(later: TrafficSample, earlier: TrafficSample): TrafficPoint {
  const seconds = Math.max(0.001, (later.timeMs - earlier.timeMs) / 1000);
  const requestsPerSecond: Record<string, number> = {};
  let requests = 0;
  for (const [variant, count] of later.requestsByVariant) {
    const delta = count - (earlier.requestsByVariant.get(variant) ?? 0);
    requests += delta;
    if (variant !== "") requestsPerSecond[variant] = Number((delta / seconds).toFixed(3));
  }
  const errors = later.errors - earlier.errors;
  return {
    time: new Date(later.timeMs).toISOString(),
    requestsPerSecond,
    errorRate: requests === 0 ? null : Number((errors / requests).toFixed(6)),
    p95Ms: toMs(quantile(bucketDelta(later.http, earlier.http), 0.95)),
  };
}

/** Samples traffic on an interval and keeps the last {@link SAMPLES_KEPT}. */
export class TrafficSampler {
  private readonly samples: TrafficSample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly metrics: ServiceMetrics,
    private readonly intervalMs: number,
  ) {}

  async sample(timeMs = Date.now()): Promise<TrafficSample> {
    const s = await sampleTraffic(this.metrics, timeMs);
    this.samples.push(s);
    if (this.samples.length > SAMPLES_KEPT) this.samples.shift();
    return s;
  }

  /**
   * A reading of the metrics now, not kept: what a read (GET /ops/summary) needs to be current.
   * Keeping it would let every poll add a sample, and 130 polls squeeze the 10-minute series into
   * a fraction of a second of history.
   */
  current(timeMs = Date.now()): Promise<TrafficSample> {
    return sampleTraffic(this.metrics, timeMs);
  }

  /**
   * Series points between consecutive kept samples, oldest first, and from the last kept sample to
   * `now` when given (a reading that is not kept).
   */
  series(now?: TrafficSample): TrafficPoint[] {
    const points = this.samples.slice(1).map((s, i) => trafficPoint(s, this.samples[i]!));
    const last = this.samples.at(-1);
    if (now !== undefined && last !== undefined && now.timeMs > last.timeMs)
      points.push(trafficPoint(now, last));
    return points;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
