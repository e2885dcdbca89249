/**
 * A latency histogram with HdrHistogram's bounded relative error (3 significant digits), recording
 * microseconds and reporting milliseconds. Memory stays constant however many samples a run takes,
 * which a list of raw samples over a 5-minute soak would not.
 */
import * as hdr from "hdr-histogram-js";

/** Longest latency tracked: 2 minutes. Longer samples are clamped to it and counted. */
const HIGHEST_TRACKABLE_US = 120_000_000;

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export class LatencyHistogram {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_US,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });

  /** Records one latency in milliseconds (fractions kept to the microsecond). */
  record(ms: number): void {
    const us = Math.round(ms * 1000);
    this.histogram.recordValue(Math.min(HIGHEST_TRACKABLE_US, Math.max(1, us)));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** Latency at `percentile` (0-100) in milliseconds; 0 when nothing was recorded. */
  percentileMs(percentile: number): number {
    if (this.count === 0) return 0;
    return this.histogram.getValueAtPercentile(percentile) / 1000;
  }

  summary(): LatencySummary {
    const empty = this.count === 0;
    return {
      count: this.count,
      meanMs: empty ? 0 : this.histogram.mean / 1000,
      p50Ms: this.percentileMs(50),
      p90Ms: this.percentileMs(90),
      p99Ms: this.percentileMs(99),
      p999Ms: this.percentileMs(99.9),
      maxMs: empty ? 0 : this.histogram.maxValue / 1000,
    };
  }
}
