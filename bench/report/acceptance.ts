/**
 * The acceptance checks of issue 3 ("Speed"), and of issue 4's shadow cost, computed from one
 * run's results. Targets are here, in one place, beside the figures they apply to.
 */
import type { FixedRateResult } from "../load/fixed-rate.js";
import type { SaturationResult } from "../load/saturation.js";
import { failureShare, MAX_FAILURE_SHARE, type ResponseCounts } from "../load/target.js";
import type { BenchResults, Route, ServerName, ShadowResult } from "../results.js";
import { DEFAULT_RSS_TREND } from "../stats/rss-trend.js";
import { limitCheck, ratioCheck, type Check, type Figure } from "./checks.js";

export const TARGETS = {
  jsonVsFloor: { comparator: ">=", value: 0.8 },
  pngVsFloor: { comparator: ">=", value: 0.35 },
  pngP99AtHalfRate: { comparator: "<=", value: 10, unit: "ms" },
  inferencePerRowVsFloor: { comparator: "<=", value: 2 },
  throughputVsPeer: { comparator: ">=", value: 3 },
  p99VsPeer: { comparator: "<", value: 1 },
  peakRss: { comparator: "<=", value: 250, unit: "MB" },
  /**
   * Shadow scores off the response path, but on the same event loop and cores: at half of the
   * shadowing service's saturation (the rate both runs get) there is headroom for the extra
   * inference, so stable's p99 should barely move. 1.5x allows for a noisy shared 2-core machine
   * while still catching shadow work that delays responses.
   */
  shadowP99VsPlain: { comparator: "<=", value: 1.5 },
} as const;

const BYTES_PER_MB = 1e6;

function caveatOf(counts: ResponseCounts): string | undefined {
  if (failureShare(counts) <= MAX_FAILURE_SHARE) return undefined;
  const total = counts.ok + counts.non2xx + counts.failed;
  return `${counts.non2xx + counts.failed} of ${total} requests failed or non-2xx`;
}

function withCaveat(value: number, unit: Figure["unit"], counts: ResponseCounts): Figure {
  const caveat = caveatOf(counts);
  return caveat === undefined ? { value, unit } : { value, unit, caveat };
}

export function throughputOf(result: SaturationResult | undefined): Figure | undefined {
  return result === undefined ? undefined : withCaveat(result.requestsPerSecond, "req/s", result);
}

export function p99Of(result: FixedRateResult | undefined): Figure | undefined {
  return result === undefined ? undefined : withCaveat(result.latency.p99Ms, "ms", result);
}

function saturation(results: BenchResults, server: ServerName, route: Route): SaturationResult | undefined {
  return results.servers[server][route]?.saturation;
}

function fixedRate(results: BenchResults, server: ServerName, route: Route): FixedRateResult | undefined {
  return results.servers[server][route]?.fixedRate;
}

function rateLabel(result: FixedRateResult | undefined, unmeasured = "half of saturation"): string {
  return result === undefined ? unmeasured : `${Math.round(result.ratePerSecond)} req/s`;
}

export function acceptanceChecks(results: BenchResults): Check[] {
  const throughput = (server: ServerName, route: Route) => throughputOf(saturation(results, server, route));
  const p99 = (server: ServerName, route: Route) => p99Of(fixedRate(results, server, route));
  const servicePngRate = fixedRate(results, "service", "png");
  const serviceJsonRate = fixedRate(results, "service", "json");
  const inference = results.serviceInference.json;
  const floor = results.inferenceFloor;
  const soak = results.soak;
  const shadow = results.shadow;

  return [
    ratioCheck(
      "JSON /predict throughput / HTTP floor, same body (goal 0.9x)",
      throughput("service", "json"),
      throughput("floor", "json"),
      TARGETS.jsonVsFloor,
    ),
    ratioCheck(
      "PNG /predict-image throughput / HTTP floor, same PNG (goal 0.5x)",
      throughput("service", "png"),
      throughput("floor", "png"),
      TARGETS.pngVsFloor,
    ),
    limitCheck(
      `PNG p99 at ${rateLabel(servicePngRate)} (half of saturation)`,
      p99("service", "png"),
      TARGETS.pngP99AtHalfRate,
    ),
    ratioCheck(
      `inference per row at JSON saturation (mean batch ${inference?.meanBatchSize.toFixed(1) ?? "—"}) / batch-32 floor`,
      inference === undefined ? undefined : { value: inference.perRowUs, unit: "us" },
      floor === undefined ? undefined : { value: floor.batchPerRowUs, unit: "us" },
      TARGETS.inferencePerRowVsFloor,
    ),
    ratioCheck(
      "JSON throughput / FastAPI peer",
      throughput("service", "json"),
      throughput("peer", "json"),
      TARGETS.throughputVsPeer,
    ),
    ratioCheck(
      "PNG throughput / FastAPI peer",
      throughput("service", "png"),
      throughput("peer", "png"),
      TARGETS.throughputVsPeer,
    ),
    ratioCheck(
      `JSON p99 / FastAPI peer p99, both at ${rateLabel(serviceJsonRate)}`,
      p99("service", "json"),
      p99("peer", "json"),
      TARGETS.p99VsPeer,
    ),
    ratioCheck(
      `PNG p99 / FastAPI peer p99, both at ${rateLabel(servicePngRate)}`,
      p99("service", "png"),
      p99("peer", "png"),
      TARGETS.p99VsPeer,
    ),
    limitCheck(
      "service peak RSS under load",
      results.serviceRss === undefined
        ? undefined
        : { value: results.serviceRss.trend.peakBytes / BYTES_PER_MB, unit: "MB" },
      TARGETS.peakRss,
    ),
    soak === undefined
      ? {
          ...limitCheck("RSS growth over a soak (flat)", undefined, {
            comparator: "<=",
            value: DEFAULT_RSS_TREND.toleranceBytes / BYTES_PER_MB,
            unit: "MB",
          }),
          notes: ["no soak in this run: add --soak 300"],
        }
      : limitCheck(
          `RSS growth over the ${soak.seconds} s soak (flat)`,
          { value: soak.trend.growthBytes / BYTES_PER_MB, unit: "MB" },
          { comparator: "<=", value: Math.round(soak.trend.toleranceBytes / BYTES_PER_MB), unit: "MB" },
        ),
    shadowCheck(shadow),
  ];
}

function shadowCheck(shadow: ShadowResult | undefined): Check {
  const check = ratioCheck(
    `JSON p99 with ${shadow?.percent ?? 100}% shadowed / plain, both at ${rateLabel(shadow?.shadow.fixedRate, "half of the shadowed saturation")}`,
    p99Of(shadow?.shadow.fixedRate),
    p99Of(shadow?.plain.fixedRate),
    TARGETS.shadowP99VsPlain,
  );
  return shadow === undefined ? { ...check, notes: ["no shadow phase in this run (--no-shadow)"] } : check;
}
