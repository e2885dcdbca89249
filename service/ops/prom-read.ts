/**
 * Reads the service's own prom-client counters and histograms back as numbers: totals over the
 * series a filter selects, and quantiles computed from merged histogram buckets the way
 * Prometheus's histogram_quantile does (linear interpolation inside the bucket).
 */
import type { Counter, Histogram, LabelValues } from "prom-client";

export type LabelFilter = (labels: LabelValues<string>) => boolean;

/** Cumulative bucket counts by upper bound, ascending, ending with +Inf. */
export interface Buckets {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
}

/** Sum of a counter over the series `filter` selects, grouped by `key` (one group "" without). */
export async function counterTotals(
  counter: Counter<string>,
  filter: LabelFilter,
  key: (labels: LabelValues<string>) => string = () => "",
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const { labels, value } of (await counter.get()).values) {
    if (!filter(labels)) continue;
    const k = key(labels);
    out.set(k, (out.get(k) ?? 0) + value);
  }
  return out;
}

/** The histogram's buckets summed over the series `filter` selects. */
export async function mergedBuckets(histogram: Histogram<string>, filter: LabelFilter): Promise<Buckets> {
  const byBound = new Map<number, number>();
  for (const { labels, value, metricName } of (await histogram.get()).values) {
    if (metricName === undefined || !metricName.endsWith("_bucket")) continue;
    const { le, ...rest } = labels;
    if (!filter(rest)) continue;
    const bound = le === "+Inf" ? Infinity : Number(le);
    byBound.set(bound, (byBound.get(bound) ?? 0) + value);
  }
  const bounds = [...byBound.keys()].sort((a, b) => a - b);
  return { bounds, counts: bounds.map((b) => byBound.get(b)!) };
}

/** `later - earlier`, bucket by bucket (same bounds; a missing earlier snapshot counts as zero). */
export function bucketDelta(later: Buckets, earlier: Buckets | undefined): Buckets {
  if (earlier === undefined) return later;
  const before = new Map(earlier.bounds.map((b, i) => [b, earlier.counts[i]!]));
  return {
    bounds: later.bounds,
    counts: later.counts.map((c, i) => c - (before.get(later.bounds[i]!) ?? 0)),
  };
}

/**
 * The q-quantile (0 < q < 1) of the observations in `buckets`, in the buckets' unit; null when
 * there are none. Like Prometheus: a quantile in the +Inf bucket answers the largest finite bound.
 */
export function quantile(buckets: Buckets, q: number): number | null {
  const { bounds, counts } = buckets;
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! < rank) continue;
    const upper = bounds[i]!;
    if (upper === Infinity) return bounds.length > 1 ? bounds[bounds.length - 2]! : null;
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    const below = i === 0 ? 0 : counts[i - 1]!;
    const inBucket = counts[i]! - below;
    return inBucket === 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
  }
  return null;
}
