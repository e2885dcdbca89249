/**
 * Acceptance: `promote --weight 100` against a real Prometheus scraping real plinth services under
 * real traffic. Four canaries at 50%, one Prometheus job each:
 *
 * - healthy: the candidate is the same trained model under a new version -> every gate passes, the
 *   stack file is written and the audit line holds the passing gates;
 * - broken: ONNX Runtime refuses the candidate, so its traffic falls back to stable -> error-rate fails;
 * - slow: the candidate answers correctly but ~60 ms slower (identity convolutions in front of the
 *   model, as many as this machine needs for 60 ms: 3x the gate's +20 ms margin; a fixed count
 *   added 40-60 ms on one machine and only 20 on another, where the gate passed) -> a tail-latency
 *   gate against stable fails;
 * - idle: no traffic -> every gate is inconclusive and blocks; --force writes, and says so in the audit.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GateResult } from "../../infra/promote/gates.js";
import { brokenModel, bundledVersion, calibratedSlowModel } from "./candidate-models.js";
import {
  drive,
  promoteLive,
  registryWith,
  samplePngs,
  startCanary,
  startPrometheus,
  stopLive,
  type LivePrometheus,
  type LiveService,
} from "./live-stack.js";

const TRAFFIC_MS = 17_000;
/** What the slow candidate adds per row on a quiet machine: 3x the gate's 20 ms tolerance. */
const SLOW_CANDIDATE_ADDED_SECONDS = 0.06;

let registry: Awaited<ReturnType<typeof registryWith>>;
let services: Record<"healthy" | "broken" | "slow" | "idle", LiveService>;
let prometheus: LivePrometheus;
let dir: string;
let slowCandidate: Awaited<ReturnType<typeof calibratedSlowModel>>;
const traffic: Record<string, Map<number, number>> = {};

beforeAll(async () => {
  const bundled = await bundledVersion();
  const model = bundled["model.onnx"]!;
  slowCandidate = await calibratedSlowModel(model, SLOW_CANDIDATE_ADDED_SECONDS);
  registry = await registryWith([
    { files: bundled, alias: "champion" },
    { files: bundled, alias: "healthy" },
    { files: { ...bundled, "model.onnx": brokenModel(model) }, alias: "broken" },
    { files: { ...bundled, "model.onnx": slowCandidate.model }, alias: "slow" },
  ]);
  const [healthy, broken, slow, idle] = await Promise.all(
    ["healthy", "broken", "slow", "healthy"].map((candidate) => startCanary(registry.dir, candidate)),
  );
  services = { healthy: healthy!, broken: broken!, slow: slow!, idle: idle! };
  prometheus = await startPrometheus(
    Object.fromEntries(Object.entries(services).map(([job, s]) => [job, s.metricsTarget])),
  );
  const images = await samplePngs();
  const [h, b, s] = await Promise.all([
    drive(services.healthy, images, { workers: 2, pauseMs: 40, durationMs: TRAFFIC_MS }),
    drive(services.broken, images, { workers: 2, pauseMs: 40, durationMs: TRAFFIC_MS }),
    drive(services.slow, images, { workers: 1, pauseMs: 60, durationMs: TRAFFIC_MS }),
  ]);
  Object.assign(traffic, { healthy: h, broken: b, slow: s });
  await new Promise((r) => setTimeout(r, 1500)); // the last scrape
  dir = await mkdtemp(path.join(tmpdir(), "plinth-promote-live-"));
}, 90_000);

afterAll(() => stopLive({ prometheus, services, registry, dir }));

/** Runs `promote --weight 100` on a fresh copy of the test stack, reading the given Prometheus job. */
function promoteTo100(job: string, ...extra: string[]) {
  return promoteLive({
    dir,
    job,
    prometheusUrl: prometheus.url,
    gates: { maxDriftScore: 1 },
    argv: ["--weight", "100", ...extra],
  });
}

function verdicts(results: readonly GateResult[]): Record<string, string> {
  return Object.fromEntries(results.map((r) => [r.gate, r.verdict]));
}

describe("promote gates against a real Prometheus and real services", () => {
  it("served the traffic: every request answered 200, including those the broken candidate dropped", () => {
    for (const job of ["healthy", "broken", "slow"]) {
      expect([...traffic[job]!.keys()], job).toEqual([200]);
      expect(traffic[job]!.get(200)!, job).toBeGreaterThan(100);
    }
  });

  it("passes a healthy candidate and writes the step with its gate results", async () => {
    const run = await promoteTo100("healthy");
    expect(run.output).not.toContain("BLOCKED");
    expect(run.code, run.output).toBe(0);
    expect(run.after).toContain("candidate: { modelVersion: challenger, weight: 100 }");
    expect(run.entries).toHaveLength(1);
    const [entry] = run.entries;
    expect(entry!.forced).toBe(false);
    expect(entry!.who).toBe("release-tester");
    expect(verdicts(entry!.gates)).toEqual({
      "error-rate": "pass",
      "p95-vs-stable": "pass",
      "p99-vs-stable": "pass",
      "p99-vs-slo": "pass",
      drift: "pass",
    });
    expect(entry!.gates.find((g) => g.gate === "error-rate")!.value).toBe(0);
  });

  it("fails a candidate that cannot load: all its traffic fell back to stable", async () => {
    const run = await promoteTo100("broken");
    expect(run.code, run.output).toBe(1);
    expect(run.after).toBe(run.before);
    expect(run.entries).toEqual([]);
    expect(run.output, run.output).toMatch(/FAIL +error-rate +1 +<= 0\.01/);
    expect(run.output).toContain("BLOCKED by error-rate fail");
  });

  it("fails a slow candidate on latency against stable, with no errors", async () => {
    const run = await promoteTo100("slow");
    const calibration = `slow candidate: ${slowCandidate.layers} layers, ~${Math.round(slowCandidate.addedSeconds * 1000)} ms added per row`;
    expect(run.code, `${calibration}\n${run.output}`).toBe(1);
    expect(run.after).toBe(run.before);
    expect(run.output, run.output).toMatch(/PASS +error-rate +0 /);
    // Which tail quantile crosses the limit first depends on the machine's load; one of them must.
    expect(run.output, run.output).toMatch(/FAIL +p9[59]-vs-stable /);
    expect(run.output).toMatch(/BLOCKED by p9[59]-vs-stable fail/);
  });

  it("calls no traffic inconclusive and blocks; --force writes and records it", async () => {
    const blocked = await promoteTo100("idle");
    expect(blocked.code, blocked.output).toBe(1);
    expect(blocked.after).toBe(blocked.before);
    expect(blocked.output).toContain(
      "0 requests routed to the candidate in 15s, fewer than minRequests (50)",
    );
    expect(blocked.output, blocked.output).toMatch(/INCONCLUSIVE +error-rate/);

    const forced = await promoteTo100("idle", "--force", "--reason", "load test window");
    expect(forced.code, forced.output).toBe(0);
    expect(forced.output).toContain("FORCED past error-rate inconclusive");
    expect(forced.after).toContain("weight: 100");
    const [entry] = forced.entries;
    expect(entry).toMatchObject({
      forced: true,
      reason: "load test window",
      step: "--weight 100",
      gateSet: "canary",
    });
    expect(new Set(entry!.gates.map((g) => g.verdict))).toEqual(new Set(["inconclusive"]));
  });
});
