/**
 * The report's Open Inference Protocol section: each server's settings, the same v2 infer request
 * (JSON body, binary tensor body) to plinth and each peer (throughput, plinth's ratio, p99 at one
 * rate per body, N/A with the reason where a server refuses a body), and the scaling curves.
 */
import {
  collapses,
  CURVE_CONNECTIONS,
  CURVE_ROWS,
  OIP_SERVERS,
  type CurvePoint,
  type OipResult,
  type OipServer,
} from "../oip-phase.js";
import { BODY_TITLES, OIP_BODIES } from "../oip-request.js";
import type { BenchResults } from "../results.js";
import type { OipTuningMode } from "../targets/oip-tuning.js";
import { CURVE_CHARTS, OIP_TITLES } from "./curve-charts.js";
import { formatNumber, markdownTable } from "./format.js";
import { count, cpuCell, failedIn, fixedRateCells, LOAD_COLUMNS, ms, ratioOf, reqs } from "./load-cells.js";

/** The curves' figures, and their charts (written beside the report by main.ts). */
function curveSection(oip: OipResult): string[] {
  const measured = OIP_SERVERS.filter((s) => oip.servers[s]?.curves !== undefined);
  if (measured.length === 0) return [];
  const row = (server: OipServer, points: readonly CurvePoint[], rows: boolean) => [
    OIP_TITLES[server],
    ...points.map(
      (p) =>
        `${count(rows ? p.rowsPerSecond : p.requestsPerSecond)} · ${formatNumber(p.closedLoopP99Ms, "ms")}` +
        (p.failed > 0 ? ` (${p.failed} failed)` : ""),
    ),
    collapses(points, (p) => (rows ? p.rowsPerSecond : p.requestsPerSecond)) ? "COLLAPSES" : "holds",
  ];
  return [
    "Scaling curves, JSON body (closed loop, each point a short saturation; p99 at autocannon's 1 ms " +
      "resolution): requests per second · p99, by connections (1 row):",
    "",
    markdownTable(
      ["server", ...CURVE_CONNECTIONS.map((c) => `${c} conn.`), "past its peak"],
      measured.map((s) => row(s, oip.servers[s]!.curves!.byConnections, false)),
    ),
    "",
    "Rows per second · p99, by rows per request:",
    "",
    markdownTable(
      ["server", ...CURVE_ROWS.map((r) => (r === 1 ? "1 row" : `${r} rows`)), "past its peak"],
      measured.map((s) => row(s, oip.servers[s]!.curves!.byRows, true)),
    ),
    "",
    ...CURVE_CHARTS.map((c) => `![${c.title}](${c.file})`),
    "",
  ];
}

const TUNING_WORDS: Record<OipTuningMode, string> = {
  recommended:
    "the peers as their docs recommend for CPU serving, at the values measured best on 2 cores " +
    "(bench/targets/oip-tuning.ts)",
  defaults: "the peers as each ships (`--peer-settings defaults`)",
};

/** How each server ran: processes, threads, batching. */
function settingsTable(oip: OipResult, mode: OipTuningMode): string[] {
  const rows = OIP_SERVERS.flatMap((server) => {
    const s = oip.settings?.[server];
    return s === undefined ? [] : [[OIP_TITLES[server], s.processes, s.threads, s.batching]];
  });
  if (rows.length === 0) return [];
  return [
    `Each server's settings (${TUNING_WORDS[mode]}; per-request logs off for all):`,
    "",
    markdownTable(["server", "processes", "threads", "batching"], rows),
    "",
  ];
}

/** The figures table: one row per server and body; a refused body shows N/A and its reason below. */
function figuresTable(oip: OipResult): string[] {
  const rows: string[][] = [];
  const refusals: string[] = [];
  for (const body of OIP_BODIES) {
    const plinth = oip.servers.service?.bodies?.[body]?.saturation?.requestsPerSecond;
    for (const server of OIP_SERVERS) {
      const r = oip.servers[server];
      const load = r?.bodies?.[body];
      if (r === undefined || load === undefined) continue;
      if (load.unsupported !== undefined) {
        refusals.push(`- ${OIP_TITLES[server]}, ${BODY_TITLES[body]}: N/A, ${load.unsupported}.`);
        rows.push([OIP_TITLES[server], BODY_TITLES[body], "N/A (not supported)", ...Array(9).fill("—")]);
        continue;
      }
      const saturation = load.saturation?.requestsPerSecond;
      rows.push([
        OIP_TITLES[server],
        BODY_TITLES[body],
        saturation === undefined ? "—" : reqs(saturation),
        server === "service" ? "—" : ratioOf(plinth, saturation),
        cpuCell(load.saturationCpu),
        ...fixedRateCells(load.fixedRate),
        String(failedIn(load)),
        r.startupMs === undefined ? "—" : ms(r.startupMs),
      ]);
    }
  }
  return [
    markdownTable(["server", "body", "saturation", "plinth / this", ...LOAD_COLUMNS, "start-up"], rows),
    ...(refusals.length > 0 ? ["", ...refusals] : []),
  ];
}

/** The same v2 infer request to plinth and each OIP peer: settings, figures, curves. */
export function oipFigures(results: BenchResults): string[] {
  const oip = results.oip;
  if (oip === undefined) return ["Not measured (--no-peer)."];
  return [
    ...settingsTable(oip, results.options.oipTuning),
    `\`POST /v2/models/{name}/infer\`, the same tensor (FP32, ${oip.rows} row of raw pixels) to every ` +
      "server, in the JSON body and as binary tensor data (`Inference-Header-Content-Length`, " +
      "`binary_data_size`, raw little-endian FP32 after the JSON header); each server started and " +
      "loaded alone. The fixed rate of each body is a share of the slowest server's saturation with it.",
    "",
    ...figuresTable(oip),
    "",
    ...curveSection(oip),
  ];
}
