/** The scaling curves' verdict (collapses), chart data and SVG, and their PNG (sharp). */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { collapses, type CurvePoint, type OipResult } from "../../bench/oip-phase.js";
import { curveChartData, writeCurveCharts } from "../../bench/report/curve-charts.js";
import { lineChartSvg, yTicks } from "../../bench/report/line-chart.js";

const curve = (...rates: number[]): CurvePoint[] =>
  rates.map((r, i) => ({
    x: 4 ** i,
    requestsPerSecond: r,
    rowsPerSecond: r,
    closedLoopP99Ms: 1 + i,
    failed: 0,
  }));

const oip: OipResult = {
  rows: 1,
  servers: {
    service: { curves: { byConnections: curve(900, 3000, 3100, 3050), byRows: curve(3000, 9000, 20_000) } },
    kserve: { curves: { byConnections: curve(800, 1200, 900, 400), byRows: curve(1200, 3000, 4000) } },
    mlserver: {},
  },
};

describe("collapses", () => {
  it("holds when throughput stays near its peak after it, collapses when it falls below 80 % of it", () => {
    expect(collapses(curve(900, 3000, 3100, 3050))).toBe(false);
    expect(collapses(curve(800, 1200, 900, 400))).toBe(true);
    expect(collapses(curve(800, 1200, 961))).toBe(false);
    expect(collapses(curve(800, 1200, 959))).toBe(true);
    // Rising all the way never collapses, whatever the start.
    expect(collapses(curve(1, 2, 4))).toBe(false);
    // Along rows per request, requests per second fall by design: rows per second are judged.
    const rows: CurvePoint[] = [1, 4, 16].map((r, i) => ({
      x: r,
      requestsPerSecond: [11_000, 4_600, 1_300][i]!,
      rowsPerSecond: [11_000, 18_400, 20_800][i]!,
      closedLoopP99Ms: 1,
      failed: 0,
    }));
    expect(collapses(rows)).toBe(true);
    expect(collapses(rows, (p) => p.rowsPerSecond)).toBe(false);
  });
});

describe("the curve charts", () => {
  it("draw one line per server with curves, through its points, on round ticks", () => {
    const [throughput, p99] = curveChartData(oip);
    expect(throughput!.file).toBe("oip-throughput-by-connections.png");
    expect(throughput!.chart.series.map((s) => s.name)).toEqual(["plinth", "KServe ModelServer"]);
    expect(throughput!.chart.series[1]!.points).toEqual([
      [1, 800],
      [4, 1200],
      [16, 900],
      [64, 400],
    ]);
    expect(p99!.chart.series[0]!.points.map(([, y]) => y)).toEqual([1, 2, 3, 4]);
    expect(yTicks(3100)).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(yTicks(7.3)).toEqual([0, 2, 4, 6, 8]);
    const svg = lineChartSvg(throughput!.chart);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(8);
    expect(svg).toContain(">KServe ModelServer</text>");
  });

  it("are written as PNGs beside the report, none for a run without curves", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "plinth-curves-"));
    try {
      const files = await writeCurveCharts(oip, dir);
      expect(files).toHaveLength(4);
      const meta = await sharp(await readFile(path.join(dir, files[0]!))).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(["png", 720, 420]);
      expect(await writeCurveCharts({ rows: 1, servers: { service: {} } }, dir)).toEqual([]);
      expect(await writeCurveCharts(undefined, dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
