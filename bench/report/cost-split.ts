/**
 * Where the service's CPU goes per request at saturation, next to the HTTP floor's, and the best
 * throughput ratio to the floor that this model allows on one event loop.
 *
 * Both servers run one event loop at ~1 core when saturated, so throughput ratios are ratios of CPU
 * per request. An ideal service that added nothing to the HTTP floor but the inference floor (and,
 * for images, the decode floor) would spend `floor + inference + decode` per request: the ceiling
 * is `floor / that`. A target above the ceiling needs a cheaper model or more cores, not a leaner
 * service.
 */
import type { BenchResults, Route, RouteResult } from "../results.js";
import { formatNumber } from "./format.js";

export interface CostSplit {
  readonly route: Route;
  /** CPU microseconds per request of the service at saturation (all its threads). */
  readonly serviceUs: number;
  /** The same for the HTTP floor on the same body. */
  readonly floorUs: number;
  /** The service's own `session.run` time per row over its saturation phase (one row per request). */
  readonly inferenceUs: number;
  /** The service's image decode per request (its in-process floor); 0 for JSON rows. */
  readonly decodeUs: number;
  /** What is left: plinth's own request path (auth, limits, validation, batching, metrics, logs). */
  readonly restUs: number;
  /** The batch-32 inference floor per row: what the ceiling assumes inference costs. */
  readonly inferenceFloorUs: number;
  /** `floorUs / (floorUs + inferenceFloorUs + decodeUs)`. */
  readonly ceilingRatio: number;
}

function cpuPerRequestUs(result: RouteResult | undefined): number | undefined {
  const rps = result?.saturation?.requestsPerSecond;
  const cores = result?.saturationCpu?.server;
  return rps === undefined || cores === undefined || rps <= 0 ? undefined : (cores / rps) * 1e6;
}

/** Undefined when a phase it needs did not run. */
export function costSplit(results: BenchResults, route: Route): CostSplit | undefined {
  const serviceUs = cpuPerRequestUs(results.servers.service[route]);
  const floorUs = cpuPerRequestUs(results.servers.floor[route]);
  const inferenceUs = results.serviceInference[route]?.perRowUs;
  const inferenceFloorUs = results.inferenceFloor?.batchPerRowUs;
  const decodeUs = route === "png" ? results.imageFloor?.serviceUs : 0;
  if (
    serviceUs === undefined ||
    floorUs === undefined ||
    inferenceUs === undefined ||
    inferenceFloorUs === undefined ||
    decodeUs === undefined
  ) {
    return undefined;
  }
  return {
    route,
    serviceUs,
    floorUs,
    inferenceUs,
    decodeUs,
    restUs: serviceUs - floorUs - inferenceUs - decodeUs,
    inferenceFloorUs,
    ceilingRatio: floorUs / (floorUs + inferenceFloorUs + decodeUs),
  };
}

/** The split as arithmetic: `service 200 us − HTTP floor 83.3 us − inference 57.0 us = 59.7 us`. */
export function splitTerms(split: CostSplit): string {
  const us = (value: number) => formatNumber(value, "us");
  const decode = split.route === "png" ? ` − image decode ${us(split.decodeUs)}` : "";
  return (
    `service ${us(split.serviceUs)} − HTTP floor ${us(split.floorUs)} − inference ${us(split.inferenceUs)}` +
    `${decode} = ${us(split.restUs)}`
  );
}
