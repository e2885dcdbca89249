/**
 * Live drift against the training baseline, per serving variant.
 *
 * On the request path `observe` copies the already-normalised input rows and their predicted
 * classes into a fixed ring of pending rows (a memcpy, no arithmetic). Every DRIFT_INTERVAL_MS,
 * `summariseInSlices` turns the pending rows into image features (service/drift/features.ts, the
 * function the baseline was built with), a few dozen rows per turn of the event loop, drops each
 * into its baseline quantile bin in a sliding window, and computes the PSI of every feature and of
 * the predicted-class distribution. The largest is the drift score; it is
 * exported as gauges and appended to the drift history with its level and trend.
 *
 * A variant's window belongs to one model version: when a reload changes the version, the window
 * restarts with that version's baseline.json. A version without a baseline is not monitored.
 */
import type { FastifyBaseLogger } from "fastify";
import type { PlinthModel } from "../inference/model.js";
import type { ObservabilityMetrics } from "../ops/metrics.js";
import type { DriftSettings } from "../ops/settings.js";
import { driftUnsupported } from "../serving/capabilities.js";
import { binIndex, type Baseline } from "./baseline.js";
import { IMAGE_FEATURE_NAMES, imageFeatures } from "./features.js";
import { trendOf, type DriftEntry, type DriftHistory, type DriftLevel } from "./history.js";
import { psi } from "./psi.js";
import { BinnedWindow } from "./window.js";

/** Rows turned into features between two yields to the event loop (~1.5 ms of work). */
export const DRAIN_SLICE_ROWS = 32;
/**
 * ...and the time a slice may take. The summary runs every 15 s, long enough for V8 to drop the
 * feature code's optimised form: the first slices can run many times slower than the rest, so a
 * slice stops at this time whatever its row count.
 */
export const DRAIN_SLICE_MS = 1;

/**
 * Rows one interval can contribute, at most (the newest win): 10,000 rows of 784 pixels are 31 MB,
 * where a ring as large as the largest DRIFT_WINDOW_SIZE (1,000,000) would be 3 GB. A larger window
 * fills over several intervals.
 */
export const MAX_PENDING_ROWS = 10_000;

/** One turn of the event loop, after pending I/O (so requests run between drain slices). */
const yieldToRequests = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The `feature` label value of the predicted-class PSI (as the metric catalog documents). */
export const PREDICTION_FEATURE = "prediction";

/** What drift needs of a model. */
export type MonitoredModel = Pick<
  PlinthModel,
  "name" | "version" | "inputSize" | "labels" | "normScale" | "normShift" | "metadata"
>;

/** One scored request: its normalised input rows and the top class of each. */
export interface ScoredRows {
  readonly model: MonitoredModel;
  readonly variant: string;
  readonly data: Float32Array;
  readonly rows: number;
  readonly classes: ArrayLike<number>;
}

/** Reads a version's baseline.json; undefined when the version has none. */
export type BaselineLoader = (model: { name: string; version: string }) => Promise<Baseline | undefined>;

export type BaselineState = "loading" | "loaded" | "missing" | "failed";

/** A variant's drift as the ops summary shows it. */
export interface VariantDrift {
  readonly variant: string;
  readonly model: string;
  readonly version: string;
  readonly baseline: BaselineState;
  readonly samples: number;
  /** The newest history entry of this variant and version; undefined before the first one. */
  readonly latest: DriftEntry | undefined;
}

export function levelOf(score: number, settings: Pick<DriftSettings, "warnPsi" | "alertPsi">): DriftLevel {
  if (score >= settings.alertPsi) return "alert";
  if (score >= settings.warnPsi) return "warn";
  return "ok";
}

const LEVEL_VALUE: Readonly<Record<DriftLevel, number>> = { ok: 0, warn: 1, alert: 2 };
const round = (v: number) => Number(v.toFixed(6));

/** Baseline bins in IMAGE_FEATURE_NAMES order, or an error naming what does not fit. */
function featureBins(baseline: Baseline, model: MonitoredModel) {
  const bins = IMAGE_FEATURE_NAMES.map((name) => {
    const found = baseline.features.find((f) => f.name === name);
    if (found === undefined) throw new Error(`baseline has no bins for feature "${name}"`);
    if (found.proportions.length !== found.edges.length + 1)
      throw new Error(
        `baseline feature "${name}": ${found.edges.length} edges need ${found.edges.length + 1} proportions`,
      );
    return found;
  });
  if (baseline.predictions.proportions.length !== model.labels.length) {
    throw new Error(
      `baseline has ${baseline.predictions.proportions.length} class proportions, the model ${model.labels.length} labels`,
    );
  }
  return bins;
}

/**
 * Rows waiting for the next summary, copied into a fixed ring where the newest `capacity` rows win
 * (older ones could never count in a window of that size). Requests' own buffers are never
 * retained: kept until the summary, they outlived two scavenges, were promoted and then died in
 * the old generation, and under load the full GCs that collected them held the event loop for
 * 30-60 ms at a time. A copy of a 784-pixel row is a memcpy.
 */
class PendingRows {
  private readonly pixels: Float32Array;
  private readonly classes: Int32Array;
  /** Slot of the oldest pending row. */
  private head = 0;
  count = 0;

  constructor(
    private readonly capacity: number,
    private readonly size: number,
  ) {
    this.pixels = new Float32Array(capacity * size);
    this.classes = new Int32Array(capacity);
  }

  push(data: Float32Array, rows: number, classes: ArrayLike<number>): void {
    const { capacity, size } = this;
    for (let r = 0; r < rows; r++) {
      let slot: number;
      if (this.count === capacity) {
        slot = this.head; // full: the oldest row gives way
        this.head = (this.head + 1) % capacity;
      } else {
        slot = (this.head + this.count) % capacity;
        this.count++;
      }
      this.pixels.set(data.subarray(r * size, (r + 1) * size), slot * size);
      this.classes[slot] = classes[r]!;
    }
  }

  /** The oldest row's slot, removed from the pending rows; read it before the next push. */
  shift(): number {
    const slot = this.head;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return slot;
  }

  rowAt(slot: number): Float32Array {
    return this.pixels.subarray(slot * this.size, (slot + 1) * this.size);
  }

  classAt(slot: number): number {
    return this.classes[slot]!;
  }
}

/** The window and pending rows of one variant serving one model version. */
class VariantWindow {
  baseline: BaselineState = "loading";
  private bins: ReturnType<typeof featureBins> | undefined;
  private predictionBaseline: readonly number[] = [];
  private window: BinnedWindow | undefined;
  private pending: PendingRows | undefined;
  private readonly pixels: Float32Array;
  private readonly width: number;
  private readonly height: number;

  constructor(
    readonly variant: string,
    readonly model: MonitoredModel,
    private readonly capacity: number,
  ) {
    ({ width: this.width, height: this.height } = model.metadata.input.image);
    this.pixels = new Float32Array(this.width * this.height);
  }

  get samples(): number {
    return this.window?.size ?? 0;
  }

  attach(baseline: Baseline): void {
    this.bins = featureBins(baseline, this.model);
    this.predictionBaseline = baseline.predictions.proportions;
    this.window = new BinnedWindow(this.capacity, [
      ...this.bins.map((f) => f.proportions.length),
      this.model.labels.length,
    ]);
    this.baseline = "loaded";
  }

  /** Hot path: copies the rows into the pending ring (the ring is allocated on first use). */
  push(scored: ScoredRows): void {
    if (this.baseline === "missing" || this.baseline === "failed") return;
    this.pending ??= new PendingRows(Math.min(this.capacity, MAX_PENDING_ROWS), this.width * this.height);
    this.pending.push(scored.data, scored.rows, scored.classes);
  }

  /**
   * Moves up to `maxRows` pending rows, oldest first, into the window (features, bins, counts),
   * stopping once `performance.now()` reaches `untilMs` (after one row at least); returns how many
   * it moved.
   */
  drain(maxRows = Infinity, untilMs = Infinity): number {
    const window = this.window;
    const bins = this.bins;
    const pending = this.pending;
    if (window === undefined || bins === undefined || pending === undefined) return 0;
    const { normScale, normShift } = this.model;
    const size = this.width * this.height;
    const sample = new Array<number>(bins.length + 1);
    let moved = 0;
    for (; moved < maxRows && pending.count > 0; moved++) {
      if (moved > 0 && untilMs !== Infinity && performance.now() >= untilMs) break;
      const slot = pending.shift();
      const row = pending.rowAt(slot);
      // The baseline was computed on raw 0..255 pixels: undo the model's normalisation. float32
      // leaves a black pixel at about +-1e-5 instead of 0, which would move it out of the "<= 0"
      // bin that dominates the corner blocks: round to a thousandth of a pixel level.
      for (let i = 0; i < size; i++) {
        this.pixels[i] = Math.round(((row[i]! - normShift) / normScale) * 1000) / 1000;
      }
      const features = imageFeatures(this.pixels, this.width, this.height);
      for (let f = 0; f < bins.length; f++) sample[f] = binIndex(bins[f]!.edges, features[f]!);
      sample[bins.length] = pending.classAt(slot);
      window.add(sample);
    }
    return moved;
  }

  /** Rows observed and not yet turned into features. */
  get pendingRows(): number {
    return this.window === undefined ? 0 : (this.pending?.count ?? 0);
  }

  /** PSI per feature and of the predictions over the current window. */
  psi(): { features: Record<string, number>; prediction: number } {
    const window = this.window!;
    const features: Record<string, number> = {};
    this.bins!.forEach((f, d) => {
      features[f.name] = round(psi(f.proportions, window.countsOf(d), window.size));
    });
    const prediction = round(psi(this.predictionBaseline, window.countsOf(this.bins!.length), window.size));
    return { features, prediction };
  }
}

export class DriftMonitor {
  private readonly windows = new Map<string, VariantWindow>();
  private timer: NodeJS.Timeout | undefined;
  private summarising = false;

  constructor(
    private readonly settings: DriftSettings,
    private readonly loadBaseline: BaselineLoader,
    private readonly metrics: ObservabilityMetrics,
    readonly history: DriftHistory,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Request path: a copy of the rows, no feature work. */
  observe(scored: ScoredRows): void {
    let window = this.windows.get(scored.variant);
    if (
      window === undefined ||
      window.model.version !== scored.model.version ||
      window.model.name !== scored.model.name
    ) {
      if (window !== undefined) this.removeGauges(window);
      window = this.open(scored.variant, scored.model);
    }
    window.push(scored);
  }

  /**
   * Summarises every variant's window now; returns the history entries appended. `drain: false`
   * summarises what is already in the windows, leaving rows still pending to the next summary.
   */
  summarise(now: Date = new Date(), { drain = true }: { drain?: boolean } = {}): DriftEntry[] {
    const appended: DriftEntry[] = [];
    for (const window of this.windows.values()) {
      if (window.baseline !== "loaded") continue;
      if (drain) window.drain();
      const labels = [window.model.name, window.model.version, window.variant];
      this.metrics.driftWindowSamples.labels(...labels).set(window.samples);
      if (window.samples < this.settings.minSamples) continue;
      const { features, prediction } = window.psi();
      const score = Math.max(prediction, ...Object.values(features));
      const level = levelOf(score, this.settings);
      for (const [feature, value] of Object.entries(features)) {
        this.metrics.driftPsi.labels(...labels, feature).set(value);
      }
      this.metrics.driftPsi.labels(...labels, PREDICTION_FEATURE).set(prediction);
      this.metrics.driftScore.labels(...labels).set(score);
      this.metrics.driftStatus.labels(...labels).set(LEVEL_VALUE[level]);
      const previous = this.history.latest(window.variant, window.model.version);
      const delta = previous === undefined ? null : round(score - previous.score);
      const entry: DriftEntry = {
        time: now.toISOString(),
        model: window.model.name,
        version: window.model.version,
        variant: window.variant,
        samples: window.samples,
        score,
        level,
        trend: trendOf(delta),
        delta,
        predictionPsi: prediction,
        features,
      };
      this.history.append(entry);
      appended.push(entry);
      if (level !== "ok" && previous?.level !== level) {
        this.log.warn({ drift: { ...entry, features: undefined } }, `input drift ${level}: score ${score}`);
      }
    }
    return appended;
  }

  /** Every monitored variant, for the ops summary. */
  variants(): VariantDrift[] {
    return [...this.windows.values()].map((w) => ({
      variant: w.variant,
      model: w.model.name,
      version: w.model.version,
      baseline: w.baseline,
      samples: w.samples,
      latest: this.history.latest(w.variant, w.model.version),
    }));
  }

  /**
   * The timer's summary: the pending rows are turned into features in slices of
   * {@link DRAIN_SLICE_ROWS} (and at most {@link DRAIN_SLICE_MS}), yielding to requests between
   * slices, then summarised. A window of 1,000 rows is ~45 ms of feature work on the 2-core
   * machine: in one piece it stalled every request in flight once per interval (seen as p99 spikes
   * in the soak). Under load rows arrive
   * while the slices run, so whatever the budget leaves pending waits for the next summary rather
   * than being drained in one piece at the end (a full ring per window, twice with a shadow
   * candidate's: the bench's shadowed p99 at 4x plain's).
   */
  async summariseInSlices(now?: Date): Promise<DriftEntry[]> {
    if (this.summarising) return [];
    this.summarising = true;
    try {
      for (const window of [...this.windows.values()]) {
        // Bounded work per summary, however fast rows arrive between slices.
        let budget = 2 * this.settings.windowSize;
        while (budget > 0 && window.pendingRows > 0) {
          const moved = window.drain(Math.min(DRAIN_SLICE_ROWS, budget), performance.now() + DRAIN_SLICE_MS);
          if (moved === 0) break; // nothing it can move (no baseline yet)
          budget -= moved;
          await yieldToRequests();
        }
      }
      return this.summarise(now, { drain: false });
    } finally {
      this.summarising = false;
    }
  }

  start(): void {
    this.timer ??= setInterval(() => void this.summariseInSlices(), this.settings.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private open(variant: string, model: MonitoredModel): VariantWindow {
    const window = new VariantWindow(variant, model, this.settings.windowSize);
    this.windows.set(variant, window);
    const unsupported = driftUnsupported(model);
    if (unsupported !== undefined) {
      window.baseline = "failed";
      this.log.warn({ model: model.name, version: model.version }, `drift: ${unsupported}; not monitored`);
      return window;
    }
    this.loadBaseline(model)
      .then((baseline) => {
        if (baseline !== undefined) return window.attach(baseline);
        window.baseline = "missing";
        this.log.warn(
          { model: model.name, version: model.version },
          "drift: no baseline.json; not monitored",
        );
      })
      .catch((err: Error) => {
        window.baseline = "failed";
        this.log.error(
          { err, model: model.name, version: model.version },
          "drift: baseline unusable; not monitored",
        );
      });
    return window;
  }

  private removeGauges(window: VariantWindow): void {
    const labels = [window.model.name, window.model.version, window.variant];
    for (const feature of [...IMAGE_FEATURE_NAMES, PREDICTION_FEATURE]) {
      this.metrics.driftPsi.remove(...labels, feature);
    }
    for (const gauge of [
      this.metrics.driftScore,
      this.metrics.driftWindowSamples,
      this.metrics.driftStatus,
    ]) {
      gauge.remove(...labels);
    }
  }
}
