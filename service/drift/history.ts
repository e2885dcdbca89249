/**
 * The drift history: one entry per variant per summary interval, kept in memory for the ops
 * summary and the admin panel (the newest {@link HISTORY_KEPT}), and appended to a size-capped
 * JSONL file when DRIFT_HISTORY_PATH is set. Each entry carries the trend against the previous
 * entry of the same variant and model version.
 */
import type { JsonlFile } from "../ops/jsonl-file.js";

export type DriftLevel = "ok" | "warn" | "alert";
export type DriftTrend = "rising" | "falling" | "steady";

export interface DriftEntry {
  readonly time: string;
  readonly model: string;
  readonly version: string;
  readonly variant: string;
  /** Samples in the window. */
  readonly samples: number;
  /** The largest PSI over the input features and the predicted-class distribution. */
  readonly score: number;
  readonly level: DriftLevel;
  readonly trend: DriftTrend;
  /** `score` minus the previous entry's; null for the first entry of this variant and version. */
  readonly delta: number | null;
  /** PSI of the predicted-class distribution. */
  readonly predictionPsi: number;
  /** PSI per input feature. */
  readonly features: Readonly<Record<string, number>>;
}

/** Entries kept in memory: a day at the default 15 s interval is 5760; the panel needs far fewer. */
export const HISTORY_KEPT = 480;
/** Score changes smaller than this are "steady": about the PSI noise of a 1000-sample window. */
export const TREND_TOLERANCE = 0.01;

export function trendOf(delta: number | null): DriftTrend {
  if (delta === null || Math.abs(delta) < TREND_TOLERANCE) return "steady";
  return delta > 0 ? "rising" : "falling";
}

export class DriftHistory {
  private readonly entries: DriftEntry[] = [];

  constructor(
    private readonly file: JsonlFile | undefined,
    private readonly onWriteError: (err: Error) => void,
  ) {}

  /** The newest entry of `variant` for `version`, if any. */
  latest(variant: string, version?: string): DriftEntry | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.variant === variant && (version === undefined || e.version === version)) return e;
    }
    return undefined;
  }

  /** Kept entries, oldest first, optionally of one variant. */
  list(variant?: string): readonly DriftEntry[] {
    return variant === undefined ? [...this.entries] : this.entries.filter((e) => e.variant === variant);
  }

  /** Records `entry`; the file write happens in the background and never throws here. */
  append(entry: DriftEntry): void {
    this.entries.push(entry);
    if (this.entries.length > HISTORY_KEPT) this.entries.splice(0, this.entries.length - HISTORY_KEPT);
    this.file?.append([entry]).catch((err: Error) => this.onWriteError(err));
  }
}
