/**
 * The Open Inference Protocol comparison (issue #22): plinth's `POST /v2/models/{name}/infer` and the
 * same request to KServe's ModelServer and Seldon's MLServer (bench/targets/oip-peers.ts), each
 * started alone and loaded alone with the bench's load shape: first every server's saturation, then
 * every server at one fixed rate, a share of the slowest one's saturation, so all of them can
 * sustain it and their p99 compare. With the saturation, each server's scaling curves: throughput
 * and (closed-loop) p99 against concurrent connections, and against rows per request.
 */
import { performance } from "node:perf_hooks";
import { runFixedRate, type FixedRateResult } from "./load/fixed-rate.js";
import { runSaturation, type SaturationResult } from "./load/saturation.js";
import type { HttpTarget, LoadShape } from "./load/target.js";
import type { BenchOptions } from "./options.js";
import { processTreeCpuSeconds } from "./proc.js";
import type { CpuUse } from "./results.js";
import { OIP_PEERS, startOipPeer, type OipPeerOptions } from "./targets/oip-peers.js";

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

export interface OipServerResult {
  curves?: OipCurves;
  startupMs?: number;
  saturation?: SaturationResult;
  saturationCpu?: CpuUse;
  fixedRate?: FixedRateResult;
}

export interface OipResult {
  /** Rows per request (the sample image, raw pixels, FP32 [rows,1,28,28]). */
  readonly rows: number;
  /** The fixed rate every server got, req/s. */
  rate?: number;
  readonly servers: Partial<Record<OipServer, OipServerResult>>;
}

/** A server under test for this phase: its process id, its infer target, and how to stop it. */
export interface OipRunning {
  readonly pid: number;
  readonly startupMs: number;
  readonly target: HttpTarget;
  stop(): Promise<void>;
}

/** The v2 infer body for `pixels` (one image's raw pixels, 0-255), `rows` times. */
export function oipBody(inputName: string, pixels: readonly number[], rows: number): Buffer {
  const data: number[] = [];
  for (let r = 0; r < rows; r++) data.push(...pixels);
  return Buffer.from(
    JSON.stringify({ inputs: [{ name: inputName, shape: [rows, 1, 28, 28], datatype: "FP32", data }] }),
  );
}

export interface OipPhaseDeps {
  readonly options: BenchOptions;
  readonly shape: LoadShape;
  readonly body: Buffer;
  readonly rows: number;
  /** The v2 infer body with `rows` rows, for the batch curve. */
  readonly bodyFor: (rows: number) => Buffer;
  /** Seconds of load per curve point; 0 skips the curves. */
  readonly curveSeconds: number;
  readonly peerOptions: OipPeerOptions;
  /** Starts plinth's service with its OIP target (the bench's API key in its headers). */
  readonly startService: () => Promise<OipRunning>;
  /** Runs a named phase, recording a failure instead of throwing (run.ts). */
  readonly phase: (name: string, body: () => Promise<void>) => Promise<void>;
  readonly log: (line: string) => void;
}

export async function measureOip(deps: OipPhaseDeps): Promise<OipResult> {
  const { options, shape, phase, log } = deps;
  const result: OipResult = { rows: deps.rows, servers: {} };
  const start = async (server: OipServer): Promise<OipRunning> => {
    if (server === "service") return deps.startService();
    const peer = await startOipPeer(server, deps.peerOptions);
    return {
      pid: peer.process.pid,
      startupMs: peer.startupMs,
      target: peer.inferTarget(deps.body),
      stop: peer.stop,
    };
  };
  const withServer = async (
    server: OipServer,
    what: string,
    body: (running: OipRunning) => Promise<void>,
  ) => {
    await phase(`oip: ${server} ${what}`, async () => {
      const running = await start(server);
      try {
        (result.servers[server] ??= {}).startupMs ??= running.startupMs;
        await body(running);
      } finally {
        await running.stop();
      }
    });
  };

  for (const server of OIP_SERVERS) {
    await withServer(server, "saturation", async ({ pid, target }) => {
      if (options.warmupSeconds > 0) await runSaturation(target, shape, options.warmupSeconds);
      const serverCpu = processTreeCpuSeconds(pid);
      const generatorCpu = process.cpuUsage();
      const started = performance.now();
      const saturation = await runSaturation(target, shape, options.durationSeconds);
      const seconds = (performance.now() - started) / 1000;
      const generatorUsed = process.cpuUsage(generatorCpu);
      result.servers[server]!.saturation = saturation;
      result.servers[server]!.saturationCpu = {
        server: (processTreeCpuSeconds(pid) - serverCpu) / seconds,
        generator: (generatorUsed.user + generatorUsed.system) / 1e6 / seconds,
      };
      log(`bench:   ${server} v2 infer saturation ${Math.round(saturation.requestsPerSecond)} req/s`);
      if (deps.curveSeconds > 0) result.servers[server]!.curves = await curves(target, deps);
    });
  }
  const saturations = OIP_SERVERS.flatMap((s) => result.servers[s]?.saturation?.requestsPerSecond ?? []);
  if (saturations.length === 0) return result;
  const rate = options.fixedRateShare * Math.min(...saturations);
  result.rate = rate;
  for (const server of OIP_SERVERS) {
    if (result.servers[server]?.saturation === undefined) continue;
    await withServer(server, "fixed rate", async ({ target }) => {
      if (options.warmupSeconds > 0) await runSaturation(target, shape, options.warmupSeconds);
      const fixedRate = await runFixedRate(target, {
        ratePerSecond: rate,
        durationSeconds: options.durationSeconds,
        connections: options.connections,
        graceSeconds: Math.min(10, Math.max(2, options.durationSeconds)),
      });
      result.servers[server]!.fixedRate = fixedRate;
      log(
        `bench:   ${server} v2 infer at ${Math.round(rate)} req/s: p99 ${fixedRate.latency.p99Ms.toFixed(2)} ms`,
      );
    });
  }
  return result;
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
async function curves(target: HttpTarget, deps: OipPhaseDeps): Promise<OipCurves> {
  const seconds = deps.curveSeconds;
  const byConnections: CurvePoint[] = [];
  for (const connections of CURVE_CONNECTIONS)
    byConnections.push(await point(target, connections, connections, 1, seconds));
  const byRows: CurvePoint[] = [];
  for (const rows of CURVE_ROWS) {
    const rowsTarget = { ...target, body: deps.bodyFor(rows) };
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
