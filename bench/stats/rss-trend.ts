/**
 * Is memory flat under sustained load? Compares the median RSS of an early window (after a
 * warm-up share of the run, when caches, JIT code and pools have filled) with that of the last
 * window, and fits a least-squares slope over everything after the warm-up.
 */
import { median } from "./quantile.js";

export interface RssSample {
  /** Milliseconds since sampling started. */
  readonly atMs: number;
  readonly bytes: number;
}

export interface RssTrendOptions {
  /** Share of the run ignored as warm-up. */
  readonly warmupShare: number;
  /** Share of the run in each of the early and late windows. */
  readonly windowShare: number;
  /** Growth allowed before memory counts as not flat: the larger of these two. */
  readonly toleranceBytes: number;
  readonly toleranceShare: number;
}

export const DEFAULT_RSS_TREND: RssTrendOptions = {
  warmupShare: 0.1,
  windowShare: 0.2,
  toleranceBytes: 10e6,
  toleranceShare: 0.05,
};

export interface RssTrend {
  readonly peakBytes: number;
  /** Median RSS of the early window. */
  readonly earlyBytes: number;
  /** Median RSS of the late window. */
  readonly lateBytes: number;
  readonly growthBytes: number;
  /** Least-squares slope after the warm-up, in bytes per minute. */
  readonly slopeBytesPerMinute: number;
  /** Growth allowed before memory counts as not flat. */
  readonly toleranceBytes: number;
  readonly flat: boolean;
}

function slopePerMs(samples: readonly RssSample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const meanT = samples.reduce((s, x) => s + x.atMs, 0) / n;
  const meanB = samples.reduce((s, x) => s + x.bytes, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const x of samples) {
    covariance += (x.atMs - meanT) * (x.bytes - meanB);
    variance += (x.atMs - meanT) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

export function rssTrend(
  samples: readonly RssSample[],
  options: RssTrendOptions = DEFAULT_RSS_TREND,
): RssTrend {
  if (samples.length === 0) throw new RangeError("no RSS samples");
  const first = samples[0]!.atMs;
  const span = samples[samples.length - 1]!.atMs - first;
  const warmupEnd = first + span * options.warmupShare;
  const earlyEnd = warmupEnd + span * options.windowShare;
  const lateStart = first + span * (1 - options.windowShare);
  const steady = samples.filter((s) => s.atMs >= warmupEnd);
  const early = steady.filter((s) => s.atMs <= earlyEnd).map((s) => s.bytes);
  const late = steady.filter((s) => s.atMs >= lateStart).map((s) => s.bytes);
  const earlyBytes = median(early.length > 0 ? early : [samples[0]!.bytes]);
  const lateBytes = median(late.length > 0 ? late : [samples[samples.length - 1]!.bytes]);
  const growthBytes = lateBytes - earlyBytes;
  const toleranceBytes = Math.max(options.toleranceBytes, earlyBytes * options.toleranceShare);
  return {
    peakBytes: Math.max(...samples.map((s) => s.bytes)),
    earlyBytes,
    lateBytes,
    growthBytes,
    slopeBytesPerMinute: slopePerMs(steady) * 60_000,
    toleranceBytes,
    flat: growthBytes <= toleranceBytes,
  };
}

/** Peak RSS per consecutive window of `windowMs`, for an "RSS over time" table. */
export function rssTimeline(
  samples: readonly RssSample[],
  windowMs: number,
): { fromMs: number; peakBytes: number }[] {
  const rows = new Map<number, number>();
  for (const s of samples) {
    const from = Math.floor(s.atMs / windowMs) * windowMs;
    rows.set(from, Math.max(rows.get(from) ?? 0, s.bytes));
  }
  return [...rows.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([fromMs, peakBytes]) => ({ fromMs, peakBytes }));
}
