/** Warm-up measurements shared by every kind of loaded model. */

/** Warm-up measurements, kept for /metadata and the offload decision. */
export interface WarmupReport {
  readonly singleRowMs: number;
  readonly fullBatchMs: number;
  readonly fullBatchRows: number;
  readonly offloaded: boolean;
}

/** Runs per measurement: the median of a few, so one slow first run does not count. */
export const WARMUP_RUNS = 5;

/** The median of `runs` timings (ms) of `run`. */
export async function medianMs(run: () => Promise<number>, runs = WARMUP_RUNS): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await run());
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
