/**
 * Quantile of a small list of numbers (RSS samples, per-run figures) by linear interpolation between
 * the closest ranks (R's type 7, numpy's default). Latencies go through the HDR histogram instead.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError("quantile of an empty list");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within [0, 1], got ${q}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = q * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.ceil(rank);
  const low = sorted[below]!;
  return low + (sorted[above]! - low) * (rank - below);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}
