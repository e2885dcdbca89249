/**
 * The Open Inference Protocol comparison (issue #22): plinth's `POST /v2/models/{name}/infer` and the
 * same request to KServe's ModelServer and Seldon's MLServer (bench/targets/oip-peers.ts), each
 * started alone and loaded alone with the bench's load shape, once with the tensor in the JSON body
 * and once as binary tensor data (bench/oip-request.ts) where the server accepts it: first every
 * server's saturation, then every server at one fixed rate per body, a share of the slowest one's
 * saturation, so all of them can sustain it and their p99 compare. With the JSON saturation, each
 * server's scaling curves: throughput and (closed-loop) p99 against concurrent connections, and
 * against rows per request.
 */
import { performance } from "node:perf_hooks";
import { runFixedRate, type FixedRateResult } from "./load/fixed-rate.js";
import { runSaturation, type SaturationResult } from "./load/saturation.js";
import type { HttpTarget, LoadShape } from "./load/target.js";
import { binaryRefusal } from "./oip-probe.js";
import { OIP_BODIES, type OipBody, type OipRequest } from "./oip-request.js";
import type { BenchOptions } from "./options.js";
import { processTreeCpuSeconds } from "./proc.js";
import type { CpuUse } from "./results.js";
import { OIP_PEERS, startOipPeer, type OipPeerOptions } from "./targets/oip-peers.js";
import type { ServerSettings } from "./targets/oip-tuning.js";

export const OIP_SERVERS = ["service", ...OIP_PEERS] as const;
export type OipServer = (typeof OIP_SERVERS)[number];

/** Connections of the concurrency curve, and rows per request of the batch curve. */
export const CURVE_CONNECTIONS = [1, 4, 16, 64, 256] as const;
export const CURVE_ROWS = [1, 4, 16, 64] as const;

export interface CurvePoint {
  /** Connections, or rows per request. */
  readonly x: number;
  readonly requestsPerSecond: number;
  readonly rowsPerSecond: number;
  readonly closedLoopP99Ms: number;
  /** Requests that failed or were not 2xx. */
  readonly failed: number;
}

export interface OipCurves {
  readonly byConnections: CurvePoint[];
  readonly byRows: CurvePoint[];
}

/** One body's figures on one server; `unsupported` instead of figures when the server refused it. */
export interface OipLoad {
  saturation?: SaturationResult;
  saturationCpu?: CpuUse;
  fixedRate?: FixedRateResult;
  /** Why this server was not measured with this body (it does not accept it). */
  unsupported?: string;
}

export interface OipServerResult {
  curves?: OipCurves;
  startupMs?: number;
  bodies?: Partial<Record<OipBody, OipLoad>>;
}

export interface OipResult {
  /** Rows per request (the sample image, raw pixels, FP32 [rows,1,28,28]). */
  readonly rows: number;
  /** The fixed rate every server got with each body, req/s. */
  readonly rates?: Partial<Record<OipBody, number>>;
  /** How each server was configured (processes, threads, batching). */
  readonly settings?: Partial<Record<OipServer, ServerSettings>>;
  readonly servers: Partial<Record<OipServer, OipServerResult>>;
}

/** A server under test for this phase: its process id, its infer target, and how to stop it. */
export interface OipRunning {
  readonly pid: number;
  readonly startupMs: number;
  /** The infer request with `request`'s body and headers (and whatever the server needs). */
  targetFor(request: OipRequest): HttpTarget;
  stop(): Promise<void>;
}

export interface OipPhaseDeps {
  readonly options: BenchOptions;
  readonly shape: LoadShape;
  readonly rows: number;
  /** The requests of the comparison, one per body. */
  readonly requests: Readonly<Record<OipBody, OipRequest>>;
  /** The JSON request with `rows` rows, for the batch curve. */
  readonly requestFor: (rows: number) => OipRequest;
  /** Seconds of load per curve point; 0 skips the curves. */
  readonly curveSeconds: number;
  readonly peerOptions: OipPeerOptions;
  readonly settings: Partial<Record<OipServer, ServerSettings>>;
  /** Starts plinth's service with its OIP target (the bench's API key in its headers). */
  readonly startService: () => Promise<OipRunning>;
  /** Runs a named phase, recording a failure instead of throwing (run.ts). */
  readonly phase: (name: string, body: () => Promise<void>) => Promise<void>;
  readonly log: (line: string) => void;
}

/** The share of the slowest server's saturation with `body`: every server's fixed rate for it. */
export function sharedRate(servers: OipResult["servers"], body: OipBody, share: number): number | undefined {
  const saturations = OIP_SERVERS.flatMap(
    (s) => servers[s]?.bodies?.[body]?.saturation?.requestsPerSecond ?? [],
  );
  return saturations.length === 0 ? undefined : share * Math.min(...saturations);
}

export async function measureOip(deps: OipPhaseDeps): Promise<OipResult> {
  const { options, phase, log } = deps;
  const servers: OipResult["servers"] = {};
  const start = async (server: OipServer): Promise<OipRunning> => {
    if (server === "service") return deps.startService();
    const peer = await startOipPeer(server, deps.peerOptions);
    return { pid: peer.process.pid, startupMs: peer.startupMs, targetFor: peer.inferTarget, stop: peer.stop };
  };
  const withServer = async (
    server: OipServer,
    what: string,
    body: (running: OipRunning, into: Partial<Record<OipBody, OipLoad>>) => Promise<void>,
  ) => {
    await phase(`oip: ${server} ${what}`, async () => {
      const running = await start(server);
      try {
        const result = (servers[server] ??= {});
        result.startupMs ??= running.startupMs;
        await body(running, (result.bodies ??= {}));
      } finally {
        await running.stop();
      }
    });
  };

  for (const server of OIP_SERVERS) {
    await withServer(server, "saturation", async (running, into) => {
      for (const body of OIP_BODIES) {
        const target = running.targetFor(deps.requests[body]);
        const refused = body === "binary" ? await binaryRefusal(server, target) : undefined;
        if (refused !== undefined) {
          into[body] = { unsupported: refused };
          log(`bench:   ${server} v2 infer, ${body}: not supported (${refused})`);
          continue;
        }
        const load = await saturate(running.pid, target, deps);
        into[body] = load;
        log(
          `bench:   ${server} v2 infer saturation, ${body}: ${Math.round(load.saturation!.requestsPerSecond)} req/s`,
        );
      }
      if (deps.curveSeconds > 0) {
        servers[server]!.curves = await curves((request) => running.targetFor(request), deps);
      }
    });
  }
  const rates: Partial<Record<OipBody, number>> = {};
  for (const body of OIP_BODIES) {
    const rate = sharedRate(servers, body, options.fixedRateShare);
    if (rate !== undefined) rates[body] = rate;
  }
  for (const server of OIP_SERVERS) {
    const measured = OIP_BODIES.filter((b) => servers[server]?.bodies?.[b]?.saturation !== undefined);
    if (measured.length === 0) continue;
    await withServer(server, "fixed rate", async (running, into) => {
      for (const body of measured) {
        const fixedRate = await atRate(running.targetFor(deps.requests[body]), rates[body]!, deps);
        into[body]!.fixedRate = fixedRate;
        log(
          `bench:   ${server} v2 infer, ${body}, at ${Math.round(rates[body]!)} req/s: p99 ${fixedRate.latency.p99Ms.toFixed(2)} ms`,
        );
      }
    });
  }
  return { rows: deps.rows, rates, settings: deps.settings, servers };
}

/** Warm-up, then saturation with the server's and the generator's CPU. */
async function saturate(pid: number, target: HttpTarget, deps: OipPhaseDeps): Promise<OipLoad> {
  const { options, shape } = deps;
  if (options.warmupSeconds > 0) await runSaturation(target, shape, options.warmupSeconds);
  const serverCpu = processTreeCpuSeconds(pid);
  const generatorCpu = process.cpuUsage();
  const started = performance.now();
  const saturation = await runSaturation(target, shape, options.durationSeconds);
  const seconds = (performance.now() - started) / 1000;
  const generatorUsed = process.cpuUsage(generatorCpu);
  return {
    saturation,
    saturationCpu: {
      server: (processTreeCpuSeconds(pid) - serverCpu) / seconds,
      generator: (generatorUsed.user + generatorUsed.system) / 1e6 / seconds,
    },
  };
}

/** Warm-up, then the open-loop phase at `rate`. */
async function atRate(target: HttpTarget, rate: number, deps: OipPhaseDeps): Promise<FixedRateResult> {
  const { options, shape } = deps;
  if (options.warmupSeconds > 0) await runSaturation(target, shape, options.warmupSeconds);
  return runFixedRate(target, {
    ratePerSecond: rate,
    durationSeconds: options.durationSeconds,
    connections: options.connections,
    graceSeconds: Math.min(10, Math.max(2, options.durationSeconds)),
    warmupSeconds: options.warmupSeconds,
  });
}

/** One closed-loop point: `target` with `connections` for `seconds`. */
async function point(
  target: HttpTarget,
  connections: number,
  x: number,
  rows: number,
  seconds: number,
): Promise<CurvePoint> {
  const r = await runSaturation(target, { connections, pipelining: 1 }, seconds);
  return {
    x,
    requestsPerSecond: r.requestsPerSecond,
    rowsPerSecond: r.requestsPerSecond * rows,
    closedLoopP99Ms: r.closedLoopP99Ms,
    failed: r.non2xx + r.failed,
  };
}

/** The concurrency curve (one row per request), then the batch curve (the bench's connections). */
async function curves(
  targetFor: (request: OipRequest) => HttpTarget,
  deps: OipPhaseDeps,
): Promise<OipCurves> {
  const seconds = deps.curveSeconds;
  const target = targetFor(deps.requests.json);
  const byConnections: CurvePoint[] = [];
  for (const connections of CURVE_CONNECTIONS)
    byConnections.push(await point(target, connections, connections, 1, seconds));
  const byRows: CurvePoint[] = [];
  for (const rows of CURVE_ROWS) {
    const rowsTarget = targetFor(deps.requestFor(rows));
    byRows.push(await point(rowsTarget, deps.shape.connections, rows, rows, seconds));
  }
  deps.log(
    `bench:   curves: ${byConnections.map((p) => Math.round(p.requestsPerSecond)).join(", ")} req/s at ` +
      `${CURVE_CONNECTIONS.join(", ")} connections; ${byRows.map((p) => Math.round(p.rowsPerSecond)).join(", ")} rows/s at ${CURVE_ROWS.join(", ")} rows`,
  );
  return { byConnections, byRows };
}

/**
 * Whether a curve collapses: past its best point, its throughput (`of`: requests per second along
 * connections, rows per second along rows per request) falls below `share` of the best. A server
 * that queues what it cannot take stays flat at its ceiling; one that thrashes falls.
 */
export function collapses(
  points: readonly CurvePoint[],
  of: (point: CurvePoint) => number = (p) => p.requestsPerSecond,
  share = 0.8,
): boolean {
  const best = points.reduce((i, p, j) => (of(p) > of(points[i]!) ? j : i), 0);
  return points.slice(best).some((p) => of(p) < share * of(points[best]!));
}
