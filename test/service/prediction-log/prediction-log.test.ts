import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { Registry } from "prom-client";
import { JsonlFile } from "../../../service/ops/jsonl-file.js";
import { ObservabilityMetrics } from "../../../service/ops/metrics.js";
import { PredictionLog, type PredictionRecord } from "../../../service/prediction-log/log.js";
import { rowForClass } from "../inference/fixture-model.js";
import { KEY_HEADERS, startTestService, type TestService } from "../server/service-fixture.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "plinth-predlog-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Flushing by hand: the timer is set far out so each test decides when a write happens. */
const MANUAL_FLUSH = { PREDICTION_LOG_FLUSH_MS: "60000" };

async function outcomes(svc: TestService): Promise<Record<string, number>> {
  const values = (await svc.observability.metrics.predictionLogRecords.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.outcome), v.value]));
}

function predict(svc: TestService, inputs: unknown) {
  return svc.app.inject({ method: "POST", url: "/predict", headers: KEY_HEADERS, payload: { inputs } });
}

/** Reads the FIFO while `write` runs (a writer blocks until a reader opens it). */
async function drainFifo(fifo: string, write: () => Promise<unknown>): Promise<string> {
  const reading = open(fifo, "r").then(async (reader) => {
    try {
      return await reader.readFile("utf8");
    } finally {
      await reader.close();
    }
  });
  await write();
  return reading;
}

/** sha256 of a raw-pixel row as the fixture model takes it (scale 1/255, mean 0, std 1), float32 LE. */
function expectedDigest(row: number[]): string {
  const bytes = Buffer.alloc(row.length * 4);
  row.forEach((p, i) => bytes.writeFloatLE(Math.fround(p * (1 / 255)), i * 4));
  return createHash("sha256").update(bytes).digest("hex");
}

describe("prediction log", () => {
  it("writes one record per predicted row, with the response's prediction_id", async () => {
    const file = path.join(dir, "ok.jsonl");
    const svc = await startTestService({ PREDICTION_LOG_PATH: file, ...MANUAL_FLUSH });
    try {
      const single = await predict(svc, rowForClass(3));
      const batch = await predict(svc, [rowForClass(1), rowForClass(7)]);
      expect([single.statusCode, batch.statusCode]).toEqual([200, 200]);
      expect(single.headers["x-prediction-id"]).toBe(single.json().prediction_id);
      await svc.observability.predictionLog!.flush();
      const records = (await readFile(file, "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as PredictionRecord);
      expect(records.map((r) => [r.id, r.row, r.label, r.variant, r.version, r.model])).toEqual([
        [single.json().prediction_id, 0, "dress", "stable", "1", "fashion-classifier"],
        [batch.json().prediction_id, 0, "trouser", "stable", "1", "fashion-classifier"],
        [batch.json().prediction_id, 1, "sneaker", "stable", "1", "fashion-classifier"],
      ]);
      expect(records[0]!.confidence).toBeCloseTo(single.json().predictions[0].probabilities[3], 5);
      expect(records[0]!.input_sha256).toBe(expectedDigest(rowForClass(3)));
      expect(records[2]!.input_sha256).toBe(expectedDigest(rowForClass(7)));
      expect(records[0]!.latency_ms).toBeGreaterThan(0);
      expect(Date.parse(records[0]!.time)).not.toBeNaN();
      expect(await outcomes(svc)).toEqual({ written: 3 });
    } finally {
      await svc.close();
    }
  });

  it("digests rows when they are queued: the request's input buffer is not kept until the flush", async () => {
    const file = path.join(dir, "copy.jsonl");
    const metrics = new ObservabilityMetrics(new Registry());
    const log = new PredictionLog(new JsonlFile(file, 1e9), 100, 60_000, metrics, pino({ level: "silent" }));
    const rows = [rowForClass(2), rowForClass(5)];
    const data = Float32Array.from(rows.flat(), (p) => p / 255);
    log.add({
      timeMs: Date.parse("2026-01-01T00:00:00Z"),
      id: "req-1",
      model: "m",
      version: "1",
      variant: "stable",
      labels: ["a", "b", "c", "d", "e", "f"],
      data,
      rows: 2,
      classes: [2, 5],
      confidences: [0.9, 0.8],
      latencyMs: 1.5,
    });
    // The buffer is reused by the time the log is written.
    data.fill(0);
    await log.close();
    const records = (await readFile(file, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as PredictionRecord);
    expect(records.map((r) => [r.row, r.label, r.input_sha256])).toEqual([
      [0, "c", expectedDigest(rows[0]!)],
      [1, "f", expectedDigest(rows[1]!)],
    ]);
  });

  it("does not log failed requests", async () => {
    const file = path.join(dir, "failed.jsonl");
    const svc = await startTestService({ PREDICTION_LOG_PATH: file, ...MANUAL_FLUSH });
    try {
      expect((await predict(svc, [1, 2, 3])).statusCode).toBe(400);
      await svc.observability.predictionLog!.flush();
      expect(await outcomes(svc)).toEqual({});
    } finally {
      await svc.close();
    }
  });

  it("keeps serving and counts the dropped records when the sink fails (folder does not exist)", async () => {
    const file = path.join(dir, "no-such-folder", "log.jsonl");
    const svc = await startTestService({ PREDICTION_LOG_PATH: file, ...MANUAL_FLUSH });
    try {
      for (let i = 0; i < 3; i++) expect((await predict(svc, rowForClass(i))).statusCode).toBe(200);
      await svc.observability.predictionLog!.flush();
      expect((await predict(svc, rowForClass(4))).statusCode).toBe(200);
      await svc.observability.predictionLog!.flush();
      expect(await outcomes(svc)).toEqual({ dropped_sink_error: 4 });
      expect((await svc.observability.metrics.predictionLogSinkErrors.get()).values[0]!.value).toBe(2);
    } finally {
      await svc.close();
    }
  });

  it("never makes a request wait for a stuck sink: the queue bound drops and counts instead", async () => {
    // A FIFO with no reader: opening it for writing blocks until someone reads, so the first
    // flush hangs for as long as this test wants.
    const fifo = path.join(dir, "stuck.fifo");
    execFileSync("mkfifo", [fifo]);
    const svc = await startTestService({
      PREDICTION_LOG_PATH: fifo,
      PREDICTION_LOG_QUEUE_MAX: "2",
      ...MANUAL_FLUSH,
    });
    try {
      expect((await predict(svc, rowForClass(1))).statusCode).toBe(200);
      const stuck = svc.observability.predictionLog!.flush(); // takes the one queued row, then hangs
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await predict(svc, rowForClass(2))).statusCode);
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      expect(svc.observability.predictionLog!.pending).toBe(2);
      expect(await outcomes(svc)).toEqual({ dropped_queue_full: 3 });
      // Release the sink: a reader drains the FIFO and the stuck write completes.
      const first = await drainFifo(fifo, () => stuck);
      expect(first.trim().split("\n")).toHaveLength(1);
      expect(await outcomes(svc)).toEqual({ dropped_queue_full: 3, written: 1 });
      // Closing the service writes what is still queued (the two rows the bound admitted).
      const last = await drainFifo(fifo, () => svc.close());
      expect(last.trim().split("\n")).toHaveLength(2);
      expect(await outcomes(svc)).toEqual({ dropped_queue_full: 3, written: 3 });
    } finally {
      await svc.close();
    }
  });
});
