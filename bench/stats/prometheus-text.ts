/**
 * Reads the service's own metrics from its Prometheus text exposition: the inference histograms,
 * so the bench gets the per-row inference cost the service measured around `session.run` under
 * load, and the shadow counters, so it knows how much the shadow phase really compared.
 */
import { METRICS } from "../../service/contract/metrics.js";

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labelsOf(text: string | undefined): Map<string, string> {
  return new Map(text === undefined ? [] : [...text.matchAll(LABEL_PAIR)].map((m) => [m[1]!, m[2]!]));
}

/**
 * Sum of the samples of metric `name` in an exposition, over every label set that has all of
 * `labels`; 0 when there is none.
 */
export function sumSamples(
  exposition: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  const wanted = Object.entries(labels);
  let sum = 0;
  for (const line of exposition.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null || match[1] !== name) continue;
    if (wanted.length > 0) {
      const have = labelsOf(match[2]);
      if (!wanted.every(([label, value]) => have.get(label) === value)) continue;
    }
    const value = Number(match[3]);
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/** Cumulative inference counters: seconds inside `session.run`, rows and batches it ran. */
export interface InferenceCounters {
  readonly seconds: number;
  readonly rows: number;
  readonly batches: number;
}

export function inferenceCounters(exposition: string): InferenceCounters {
  return {
    seconds: sumSamples(exposition, `${METRICS.inferenceDuration.name}_sum`),
    rows: sumSamples(exposition, `${METRICS.inferenceBatchSize.name}_sum`),
    batches: sumSamples(exposition, `${METRICS.inferenceBatchSize.name}_count`),
  };
}

export interface InferenceCost {
  /** Mean `session.run` time per row, in microseconds. */
  readonly perRowUs: number;
  /** Mean rows per micro-batch. */
  readonly meanBatchSize: number;
  readonly rows: number;
}

/** The inference cost between two scrapes; undefined when no row ran in between. */
export function inferenceCostBetween(
  before: InferenceCounters,
  after: InferenceCounters,
): InferenceCost | undefined {
  const rows = after.rows - before.rows;
  const batches = after.batches - before.batches;
  if (rows <= 0 || batches <= 0) return undefined;
  return {
    perRowUs: ((after.seconds - before.seconds) * 1e6) / rows,
    meanBatchSize: rows / batches,
    rows,
  };
}

/** Cumulative shadow counters: rows scored by both variants, of them agreeing, and shadow requests dropped. */
export interface ShadowCounters {
  readonly compared: number;
  readonly agreed: number;
  readonly dropped: number;
}

export function shadowCounters(exposition: string): ShadowCounters {
  const comparisons = METRICS.shadowComparisons.name;
  return {
    compared: sumSamples(exposition, comparisons),
    agreed: sumSamples(exposition, comparisons, { outcome: "agree" }),
    dropped: sumSamples(exposition, METRICS.shadowDropped.name),
  };
}

/** What the shadow counters rose by between two scrapes. */
export function shadowCountersBetween(before: ShadowCounters, after: ShadowCounters): ShadowCounters {
  return {
    compared: after.compared - before.compared,
    agreed: after.agreed - before.agreed,
    dropped: after.dropped - before.dropped,
  };
}
