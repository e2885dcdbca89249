/**
 * Drift against a real baseline: quantile bins of 10,000 Fashion-MNIST training images (Debian
 * dataset-fashion-mnist), live windows of held-out test images, as-is and shifted.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFashionMnist } from "../../../service/data/fashion-mnist.js";
import type { DatasetSplits } from "../../../service/data/dataset.js";
import { buildBaseline, type Baseline } from "../../../service/drift/baseline.js";
import { DriftHistory, type DriftEntry } from "../../../service/drift/history.js";
import {
  DRAIN_SLICE_MS,
  DRAIN_SLICE_ROWS,
  DriftMonitor,
  MAX_PENDING_ROWS,
  type MonitoredModel,
} from "../../../service/drift/monitor.js";
import { JsonlFile } from "../../../service/ops/jsonl-file.js";
import { ObservabilityMetrics } from "../../../service/ops/metrics.js";
import type { DriftSettings } from "../../../service/ops/settings.js";
import { fixtureMetadata } from "../inference/fixture-model.js";

const SIZE = 784;
const settings = (over: Partial<DriftSettings> = {}): DriftSettings => ({
  windowSize: 1000,
  minSamples: 200,
  intervalMs: 60_000,
  warnPsi: 0.1,
  alertPsi: 0.25,
  historyPath: undefined,
  historyMaxBytes: 1 << 20,
  ...over,
});

/** The trainer's normalisation (mean/std of Fashion-MNIST), so de-normalising is exercised. */
function model(version: string): MonitoredModel {
  const metadata = fixtureMetadata("probabilities");
  metadata.input.normalization = { scale: 1 / 255, mean: 0.286, std: 0.353 };
  return {
    name: "fashion-classifier",
    version,
    inputSize: SIZE,
    labels: metadata.labels,
    normScale: 1 / 255 / 0.353,
    normShift: -0.286 / 0.353,
    metadata,
  };
}

let data: DatasetSplits;
let baseline: Baseline;
let dir: string;

beforeAll(async () => {
  data = await loadFashionMnist();
  const train = data.train;
  baseline = buildBaseline(
    { pixels: train.pixels.subarray(0, 10_000 * SIZE), width: 28, height: 28, count: 10_000 },
    data.test.labels,
    train.labelNames,
  );
  dir = await mkdtemp(path.join(tmpdir(), "plinth-drift-"));
}, 60_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

/** `count` test images from `start`, transformed, normalised as the service would. */
function rows(start: number, count: number, transform: (p: number) => number = (p) => p) {
  const m = model("1");
  const out = new Float32Array(count * SIZE);
  for (let i = 0; i < count * SIZE; i++) {
    out[i] = transform(data.test.pixels[start * SIZE + i]!) * m.normScale + m.normShift;
  }
  return { data: out, rows: count, classes: data.test.labels.subarray(start, start + count) };
}

function monitorWith(over: Partial<DriftSettings> = {}, withBaseline = true) {
  const metrics = new ObservabilityMetrics(new Registry());
  const s = settings(over);
  const file = s.historyPath === undefined ? undefined : new JsonlFile(s.historyPath, s.historyMaxBytes);
  const history = new DriftHistory(file, (err) => {
    throw err;
  });
  const monitor = new DriftMonitor(
    s,
    async () => (withBaseline ? baseline : undefined),
    metrics,
    history,
    pino({ level: "silent" }),
  );
  return { monitor, metrics, history };
}

/** Lets the baseline promise settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function gauge(metrics: ObservabilityMetrics, name: "driftScore" | "driftPsi", feature?: string) {
  const values = (await metrics[name].get()).values;
  return values.find((v) => feature === undefined || v.labels.feature === feature)?.value;
}

describe("drift monitor", () => {
  it("stays below the warn threshold on held-out test images", async () => {
    const { monitor, metrics } = monitorWith();
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 1) });
    await settle();
    for (let start = 1; start < 1000; start += 111)
      monitor.observe({ model: model("1"), variant: "stable", ...rows(start, Math.min(111, 1000 - start)) });
    const [entry] = monitor.summarise(new Date("2026-01-01T00:00:00Z"));
    expect(entry!.samples).toBe(1000);
    expect(entry!.score).toBeLessThan(0.1);
    expect(entry!.level).toBe("ok");
    expect(entry!.predictionPsi).toBeLessThan(0.02);
    expect(Object.keys(entry!.features)).toHaveLength(19);
    expect(entry!.score).toBe(Math.max(entry!.predictionPsi, ...Object.values(entry!.features)));
    expect(await gauge(metrics, "driftScore")).toBe(entry!.score);
    expect(await gauge(metrics, "driftPsi", "prediction")).toBe(entry!.predictionPsi);
    expect(await gauge(metrics, "driftPsi", "mean_intensity")).toBe(entry!.features.mean_intensity);
  });

  for (const [name, transform] of [
    ["inverted", (p: number) => 255 - p],
    ["brightened", (p: number) => Math.min(255, p + 60)],
  ] as const) {
    it(`rises past the alert threshold on ${name} images`, async () => {
      const { monitor, metrics } = monitorWith();
      monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 500, transform) });
      await settle();
      monitor.observe({ model: model("1"), variant: "stable", ...rows(500, 500, transform) });
      const [entry] = monitor.summarise();
      expect(entry!.score).toBeGreaterThan(0.25);
      expect(entry!.level).toBe("alert");
      expect(entry!.features.mean_intensity).toBeGreaterThan(0.25);
      const status = (await metrics.driftStatus.get()).values[0]!.value;
      expect(status).toBe(2);
    });
  }

  it("appends a JSONL history with trend and delta as the window shifts", async () => {
    const historyPath = path.join(dir, "history.jsonl");
    const { monitor, history } = monitorWith({ historyPath, windowSize: 400, minSamples: 100 });
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 400) });
    await settle();
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 400) });
    const [first] = monitor.summarise(new Date("2026-01-01T00:00:00Z"));
    monitor.observe({ model: model("1"), variant: "stable", ...rows(400, 200, (p) => 255 - p) });
    const [second] = monitor.summarise(new Date("2026-01-01T00:00:15Z"));
    monitor.observe({ model: model("1"), variant: "stable", ...rows(600, 400) });
    const [third] = monitor.summarise(new Date("2026-01-01T00:00:30Z"));
    expect([first!.trend, second!.trend, third!.trend]).toEqual(["steady", "rising", "falling"]);
    expect(first!.delta).toBeNull();
    expect(second!.delta).toBeCloseTo(second!.score - first!.score, 6);
    expect(third!.delta).toBeCloseTo(third!.score - second!.score, 6);
    await settle();
    await new Promise((r) => setTimeout(r, 50));
    const lines = (await readFile(historyPath, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as DriftEntry);
    expect(lines.map((l) => l.time)).toEqual([
      "2026-01-01T00:00:00.000Z",
      "2026-01-01T00:00:15.000Z",
      "2026-01-01T00:00:30.000Z",
    ]);
    expect(lines[1]).toMatchObject({
      variant: "stable",
      version: "1",
      samples: 400,
      trend: "rising",
      level: second!.level,
    });
    expect(history.list("stable")).toHaveLength(3);
  });

  it("summarises in slices on the timer: same entry, requests served between slices, no row lost", async () => {
    const time = new Date("2026-01-01T00:00:00Z");
    const whole = monitorWith().monitor;
    const sliced = monitorWith().monitor;
    for (const monitor of [whole, sliced])
      monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 1) });
    await settle();
    for (const monitor of [whole, sliced]) {
      for (let start = 1; start < 900; start += 9)
        monitor.observe({ model: model("1"), variant: "stable", ...rows(start, 9) });
    }
    // Something else waiting on the event loop, like a request: it runs while the summary works.
    let turns = 0;
    const otherWork = (): void => {
      turns++;
      if (turns < 1000) setImmediate(otherWork);
    };
    setImmediate(otherWork);
    const summary = sliced.summariseInSlices(time);
    // A second timer tick while the first summary is still slicing does not start another one.
    expect(await sliced.summariseInSlices(time)).toEqual([]);
    // Rows observed mid-summary are kept: counted now or at the next summary.
    sliced.observe({ model: model("1"), variant: "stable", ...rows(900, 100) });
    whole.observe({ model: model("1"), variant: "stable", ...rows(900, 100) });
    const [entry] = await summary;
    // At least 900 rows in slices of DRAIN_SLICE_ROWS: a turn of other work between every two.
    expect(turns).toBeGreaterThanOrEqual(Math.ceil(900 / DRAIN_SLICE_ROWS) - 1);
    expect(turns).toBeLessThan(1000);
    expect(entry).toEqual(whole.summarise(time)[0]);
    expect(entry!.samples).toBe(1000);
  });

  it("on the timer, never turns more than a slice of rows (or of time) into features at once, however fast rows arrive", async () => {
    const time = new Date("2026-01-01T00:00:00Z");
    const { monitor } = monitorWith({ windowSize: 200, minSamples: 100 });
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 1) });
    await settle();
    monitor.observe({ model: model("1"), variant: "stable", ...rows(1, 199) });
    // Drain calls on this monitor's window (its class is internal: reached through the instance).
    const window = (
      monitor as unknown as { windows: Map<string, { drain(maxRows?: number, untilMs?: number): number }> }
    ).windows.get("stable")!;
    const slices: { maxRows: number | undefined; allowedMs: number | undefined; moved: number }[] = [];
    const drain = window.drain.bind(window);
    window.drain = (maxRows?: number, untilMs?: number) => {
      const allowedMs = untilMs === undefined ? undefined : untilMs - performance.now();
      const moved = drain(maxRows, untilMs);
      slices.push({ maxRows, allowedMs, moved });
      return moved;
    };
    // A client faster than the slices: 64 rows every turn of the event loop while the summary runs.
    let sending = true;
    const send = (): void => {
      if (!sending) return;
      monitor.observe({ model: model("1"), variant: "stable", ...rows(1, 64) });
      setImmediate(send);
    };
    setImmediate(send);
    const [entry] = await monitor.summariseInSlices(time);
    sending = false;
    expect(entry!.samples).toBe(200);
    // The budget (twice the window) ran out with rows pending: they wait for the next summary.
    expect(slices.reduce((sum, slice) => sum + slice.moved, 0)).toBe(2 * 200);
    for (const { maxRows, allowedMs, moved } of slices) {
      expect(maxRows).toBeLessThanOrEqual(DRAIN_SLICE_ROWS);
      expect(moved).toBeLessThanOrEqual(DRAIN_SLICE_ROWS);
      expect(allowedMs).toBeGreaterThan(0);
      expect(allowedMs).toBeLessThanOrEqual(DRAIN_SLICE_MS);
    }
  });

  it("keeps its own copy of observed rows: a request's buffers may be reused or freed at once", async () => {
    const { monitor } = monitorWith();
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 1) });
    await settle();
    const request = rows(1, 999);
    monitor.observe({ model: model("1"), variant: "stable", ...request });
    // Overwritten with inverted images after the observation (which alone would raise an alert).
    const inverted = rows(1, 999, (p) => 255 - p);
    request.data.set(inverted.data);
    const [entry] = monitor.summarise();
    expect(entry!.samples).toBe(1000);
    expect(entry!.level).toBe("ok");
    expect(entry!.score).toBeLessThan(0.1);
  });

  it("counts at most the newest MAX_PENDING_ROWS rows of an interval, however large the window", async () => {
    const { monitor } = monitorWith({ windowSize: 20_000, minSamples: 100 });
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 1) });
    await settle();
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 6000) });
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 6000) });
    const [entry] = monitor.summarise();
    expect(MAX_PENDING_ROWS).toBe(10_000);
    expect(entry!.samples).toBe(MAX_PENDING_ROWS);
  });

  it("publishes nothing until the window holds DRIFT_MIN_SAMPLES", async () => {
    const { monitor, metrics } = monitorWith({ minSamples: 300 });
    // Rows observed while the baseline is still loading wait and are counted once it is there.
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 250) });
    await settle();
    monitor.observe({ model: model("1"), variant: "stable", ...rows(250, 49) });
    expect(monitor.summarise()).toEqual([]);
    expect((await metrics.driftWindowSamples.get()).values[0]!.value).toBe(299);
    expect(await gauge(metrics, "driftScore")).toBeUndefined();
    monitor.observe({ model: model("1"), variant: "stable", ...rows(299, 1) });
    expect(monitor.summarise().map((e) => e.samples)).toEqual([300]);
  });

  it("restarts the window for a new model version and drops the old version's gauges", async () => {
    const { monitor, metrics } = monitorWith({ minSamples: 100 });
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 200) });
    await settle();
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 200) });
    monitor.summarise();
    monitor.observe({ model: model("2"), variant: "stable", ...rows(0, 50) });
    await settle();
    const versions = (await metrics.driftScore.get()).values.map((v) => v.labels.model_version);
    expect(versions).toEqual([]);
    expect(monitor.variants()).toEqual([
      expect.objectContaining({
        variant: "stable",
        version: "2",
        baseline: "loaded",
        samples: 0,
        latest: undefined,
      }),
    ]);
  });

  it("does not monitor a version without a baseline", async () => {
    const { monitor } = monitorWith({}, false);
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 300) });
    await settle();
    monitor.observe({ model: model("1"), variant: "stable", ...rows(0, 300) });
    expect(monitor.summarise()).toEqual([]);
    expect(monitor.variants()[0]).toMatchObject({ baseline: "missing", samples: 0 });
  });
});
