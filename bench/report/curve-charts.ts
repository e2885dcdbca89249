/**
 * The scaling curves of the Open Inference Protocol comparison as PNG charts beside the report:
 * throughput and p99 against connections, and against rows per request, one line per server.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { OIP_SERVERS, type CurvePoint, type OipCurves, type OipResult } from "../oip-phase.js";
import { lineChartSvg, type LineChart } from "./line-chart.js";

export const OIP_TITLES = {
  service: "plinth",
  kserve: "KServe ModelServer",
  mlserver: "Seldon MLServer",
} as const;

interface CurveChart {
  readonly file: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly points: (curves: OipCurves) => readonly CurvePoint[];
  readonly value: (point: CurvePoint) => number;
}

/** The two curves (x axes), each drawn twice: its throughput and its p99. */
const AXES = [
  {
    key: "connections",
    about: "v2 infer, 1 row",
    xLabel: "connections",
    points: (c: OipCurves) => c.byConnections,
    throughput: {
      name: "throughput",
      label: "requests per second",
      of: (p: CurvePoint) => p.requestsPerSecond,
    },
  },
  {
    key: "batch",
    about: "v2 infer",
    xLabel: "rows per request",
    points: (c: OipCurves) => c.byRows,
    throughput: { name: "rows", label: "rows per second", of: (p: CurvePoint) => p.rowsPerSecond },
  },
] as const;

export const CURVE_CHARTS: readonly CurveChart[] = AXES.flatMap((axis) =>
  [axis.throughput, { name: "p99", label: "p99 (ms)", of: (p: CurvePoint) => p.closedLoopP99Ms }].map(
    (metric) => ({
      file: `oip-${metric.name}-by-${axis.key}.png`,
      title: `${axis.about}: ${metric.label} by ${axis.xLabel}${metric.name === "p99" ? " (closed loop)" : ""}`,
      xLabel: axis.xLabel,
      yLabel: metric.label,
      points: axis.points,
      value: metric.of,
    }),
  ),
);

/** The charts' definitions with this run's lines; a server without curves has no line. */
export function curveChartData(oip: OipResult): { file: string; chart: LineChart }[] {
  return CURVE_CHARTS.map((c) => ({
    file: c.file,
    chart: {
      title: c.title,
      xLabel: c.xLabel,
      yLabel: c.yLabel,
      series: OIP_SERVERS.flatMap((server) => {
        const curves = oip.servers[server]?.curves;
        return curves === undefined
          ? []
          : [{ name: OIP_TITLES[server], points: c.points(curves).map((p) => [p.x, c.value(p)] as const) }];
      }),
    },
  }));
}

/** Writes every chart with at least one line into `outDir`; returns the files written. */
export async function writeCurveCharts(oip: OipResult | undefined, outDir: string): Promise<string[]> {
  if (oip === undefined) return [];
  const written: string[] = [];
  for (const { file, chart } of curveChartData(oip)) {
    if (chart.series.length === 0) continue;
    await writeFile(
      path.join(outDir, file),
      await sharp(Buffer.from(lineChartSvg(chart)))
        .png()
        .toBuffer(),
    );
    written.push(file);
  }
  return written;
}
