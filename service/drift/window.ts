/**
 * A sliding window of the last `capacity` samples, each reduced to one bin index per dimension
 * (input features, then the predicted class). Per-bin counts are kept up to date as samples enter
 * and leave, so the PSI of any dimension needs no pass over the window.
 */
export class BinnedWindow {
  private readonly ring: Uint16Array;
  private readonly counts: Int32Array[];
  private next = 0;
  private filled = 0;

  /** `binsPerDimension[d]` bins in dimension d (at most 65535). */
  constructor(
    readonly capacity: number,
    readonly binsPerDimension: readonly number[],
  ) {
    this.ring = new Uint16Array(capacity * binsPerDimension.length);
    this.counts = binsPerDimension.map((n) => new Int32Array(n));
  }

  get size(): number {
    return this.filled;
  }

  /** Adds one sample (`bins[d]` < binsPerDimension[d]), evicting the oldest when full. */
  add(bins: ArrayLike<number>): void {
    const dims = this.counts.length;
    const base = this.next * dims;
    for (let d = 0; d < dims; d++) {
      if (this.filled === this.capacity) this.counts[d]![this.ring[base + d]!]!--;
      this.ring[base + d] = bins[d]!;
      this.counts[d]![bins[d]!]!++;
    }
    this.next = (this.next + 1) % this.capacity;
    if (this.filled < this.capacity) this.filled++;
  }

  /** Live per-bin counts of dimension `d` (a view; do not modify). */
  countsOf(d: number): Int32Array {
    return this.counts[d]!;
  }
}
