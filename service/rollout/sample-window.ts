/** The last `capacity` samples of a measurement, for a recent percentile without a histogram. */
export class SampleWindow {
  private readonly values: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  add(value: number): void {
    this.values[this.next] = value;
    this.next = (this.next + 1) % this.values.length;
    if (this.filled < this.values.length) this.filled++;
  }

  /** The nearest-rank quantile `q` (0-1) of the samples held; null when there are none. */
  quantile(q: number): number | null {
    if (this.filled === 0) return null;
    const sorted = this.values.slice(0, this.filled).sort();
    return sorted[Math.min(this.filled - 1, Math.max(0, Math.ceil(q * this.filled) - 1))]!;
  }
}
