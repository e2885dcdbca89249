/**
 * Reads the service's inference histograms from its Prometheus text exposition, so the bench gets
 * the per-row inference cost the service itself measured around `session.run` under load.
 */
import { METRICS } from "../../service/metrics/catalog.js";

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})?\s+(\S+)/;

/** Sum of every sample of metric `name` (all label sets) in an exposition; 0 when absent. */
export function sumSamples(exposition: string, name: string): number {
  let sum = 0;
  for (const line of exposition.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null || match[1] !== name) continue;
    const value = Number(match[2]);
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
