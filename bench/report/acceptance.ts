/**
 * The acceptance checks of issue 3 ("Speed"), of issue 4's shadow cost, and of issue 22's
 * comparison with the servers users would pick instead, computed from one run's results. Targets
 * are here, in one place, beside the figures they apply to.
 */
import type { FixedRateResult } from "../load/fixed-rate.js";
import type { SaturationResult } from "../load/saturation.js";
import { failureShare, MAX_FAILURE_SHARE, type ResponseCounts } from "../load/target.js";
import type { BenchResults, Route, ServerName, ShadowResult } from "../results.js";
import { DEFAULT_RSS_TREND } from "../stats/rss-trend.js";
import { limitCheck, ratioCheck, type Check, type Figure, type Target, type Unit } from "./checks.js";
import { costSplit, splitTerms } from "./cost-split.js";
import { oipChecks } from "./oip-checks.js";

export const TARGETS = {
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
  /** plinth's v2 infer against KServe's and MLServer's, each body each accepts (issue #22). */
  v2ThroughputVsPeer: { comparator: ">=", value: 3 },
  v2P99VsPeer: { comparator: "<", value: 1 },
  /**
   * plinth's own CPU per request at saturation: the service's, less the HTTP floor's, its inference
   * and (PNG) the image decode (cost-split.ts), i.e. auth, limits, validation, batching, metrics.
   */
  ownCpuJson: { comparator: "<=", value: 25, unit: "us" },
  ownCpuPng: { comparator: "<=", value: 40, unit: "us" },
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
    ownCpuCheck(results, "json", TARGETS.ownCpuJson),
    ownCpuCheck(results, "png", TARGETS.ownCpuPng),
    ...oipChecks(
      results.oip,
      { throughputVsPeer: TARGETS.v2ThroughputVsPeer, p99VsPeer: TARGETS.v2P99VsPeer },
      { throughputOf, p99Of },
    ),
    shadowCheck(shadow),
  ];
}

const ROUTE_REQUESTS: Record<Route, string> = { json: "JSON /predict", png: "PNG /predict-image" };

/** plinth's own CPU per request at saturation (restUs of the cost split), with the split's terms. */
export function ownCpuCheck(
  results: BenchResults,
  route: Route,
  target: Target & { readonly unit: Unit },
): Check {
  const split = costSplit(results, route);
  const counts = saturation(results, "service", route);
  const check = limitCheck(
    `plinth's own CPU per ${ROUTE_REQUESTS[route]} request at saturation`,
    split === undefined || counts === undefined ? undefined : withCaveat(split.restUs, "us", counts),
    target,
  );
  return split === undefined
    ? { ...check, notes: ["not measured: a saturation phase or a floor did not run"] }
    : { ...check, notes: [...check.notes, splitTerms(split)] };
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
