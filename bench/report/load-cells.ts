/** Table cells shared by the report's load tables: throughput, CPU, a fixed-rate phase, failures. */
import type { FixedRateResult } from "../load/fixed-rate.js";
import type { SaturationResult } from "../load/saturation.js";
import type { CpuUse } from "../results.js";
import { formatNumber, formatRatio } from "./format.js";

export const ms = (value: number) => formatNumber(value, "ms");
export const reqs = (value: number) => formatNumber(value, "req/s");
export const count = (value: number) => Math.round(value).toLocaleString("en-US");

export const cpuCell = (cpu: CpuUse | undefined) =>
  cpu === undefined ? "—" : `${cpu.server.toFixed(2)} / ${cpu.generator.toFixed(2)}`;

/** `measured / reference` as a ratio cell; — when either is missing. */
export const ratioOf = (measured: number | undefined, reference: number | undefined) =>
  formatRatio(
    measured !== undefined && reference !== undefined && reference > 0 ? measured / reference : undefined,
  );

/** The columns of a fixed-rate phase (fixedRateCells) and the failed requests of the route. */
export const LOAD_COLUMNS = [
  "CPU server / generator (cores)",
  "fixed rate",
  "p50",
  "p99",
  "p99.9",
  "max",
  "failed",
];

export function fixedRateCells(result: FixedRateResult | undefined): string[] {
  if (result === undefined) return ["—", "—", "—", "—", "—"];
  const l = result.latency;
  return [
    `${reqs(result.ratePerSecond)} (got ${reqs(result.achievedPerSecond)})`,
    ms(l.p50Ms),
    ms(l.p99Ms),
    ms(l.p999Ms),
    ms(l.maxMs),
  ];
}

/** Requests of a saturation and a fixed-rate phase that failed or were not 2xx. */
export function failedIn(r: { saturation?: SaturationResult; fixedRate?: FixedRateResult }): number {
  return (
    (r.saturation?.non2xx ?? 0) +
    (r.saturation?.failed ?? 0) +
    (r.fixedRate?.non2xx ?? 0) +
    (r.fixedRate?.failed ?? 0)
  );
}
