/** Everything one bench run measured: the input of the report (and, as is, its JSON form). */
import type { ImageFloor } from "./floors/image-floor.js";
import type { InferenceFloor } from "./floors/inference-floor.js";
import type { FixedRateResult } from "./load/fixed-rate.js";
import type { SaturationResult } from "./load/saturation.js";
import type { MachineInfo } from "./machine.js";
import type { BenchOptions } from "./options.js";
import type { OipResult } from "./oip-phase.js";
import type { InferenceCost, ShadowCounters } from "./stats/prometheus-text.js";
import type { RssTrend } from "./stats/rss-trend.js";
import type { ServiceDescription } from "./targets/service.js";

export const ROUTES = ["json", "png"] as const;
export type Route = (typeof ROUTES)[number];

/** The HTTP floor (bare fastify), plinth's service, and the FastAPI peer. */
export const SERVERS = ["floor", "service", "peer"] as const;
export type ServerName = (typeof SERVERS)[number];

/** CPU used during a saturation phase, in cores (1 = one core busy the whole phase). */
export interface CpuUse {
  readonly server: number;
  /** The bench process: autocannon. When it nears 1 core, the load generator may be the limit. */
  readonly generator: number;
}

export interface RouteResult {
  saturation?: SaturationResult;
  saturationCpu?: CpuUse;
  fixedRate?: FixedRateResult;
}

export interface SoakResult {
  readonly seconds: number;
  readonly trend: RssTrend;
  readonly timeline: readonly { readonly fromMs: number; readonly peakBytes: number }[];
  readonly json: SaturationResult;
  readonly png: SaturationResult;
}

/** One run of the shadow phase: /predict figures and the service's shadow counters over each phase. */
export interface ShadowLegResult extends RouteResult {
  saturationCounters?: ShadowCounters;
  fixedRateCounters?: ShadowCounters;
}

/**
 * Shadow's cost on stable (issue 4): the service on a copy of the registry whose challenger alias
 * points at the stable model registered again, run alone twice on /predict with the same load:
 * plain (single) and shadowing requests to the challenger.
 */
export interface ShadowResult {
  /** SHADOW_PERCENT of the shadowing run. */
  readonly percent: number;
  /** The challenger's version in the registry copy. */
  readonly candidateVersion: string;
  readonly plain: ShadowLegResult;
  readonly shadow: ShadowLegResult;
}

export interface BenchResults {
  readonly machine: MachineInfo;
  readonly options: BenchOptions;
  readonly model: { readonly name: string; readonly version: string; readonly architecture: string };
  readonly samplePng: string;
  /** Versions reported by the peer (python, fastapi, uvicorn, onnxruntime, ...). */
  peerVersions?: Record<string, string>;
  inferenceFloor?: InferenceFloor;
  imageFloor?: ImageFloor;
  readonly servers: Record<ServerName, Partial<Record<Route, RouteResult>>>;
  serviceStartupMs?: number;
  /** The service's warm-up measurements, offload decision and batching settings (GET /metadata). */
  serviceDescription?: ServiceDescription;
  /** From the service's own metrics, over each route's saturation phase. */
  readonly serviceInference: Partial<Record<Route, InferenceCost>>;
  serviceRss?: { readonly idleBytes: number; readonly trend: RssTrend };
  soak?: SoakResult;
  /** Absent with --no-shadow, or when its registry could not be prepared. */
  shadow?: ShadowResult;
  /** The Open Inference Protocol comparison with KServe and MLServer; absent with --no-peer. */
  oip?: OipResult;
  /** Phases that could not run, with why; their checks show N/A. */
  readonly failures: { readonly phase: string; readonly message: string }[];
}
