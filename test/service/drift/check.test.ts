/**
 * The drift check (service/drift/check.ts), run as the CronJob runs it (`node
 * dist/service/drift/check.js`, compiled; settings in the environment) against the real service on loopback: the
 * bundled trained model and its baseline, live traffic of the sample test-set PNGs as they are
 * (drift ok) and inverted (drift alert), as in drift-acceptance.test.ts.
 */
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DriftEntry } from "../../../service/drift/history.js";
import { API_KEY, type TestService } from "../server/service-fixture.js";
import { IMAGE_PROGRAMS } from "../../../service/contract/image-commands.js";
import { driftOf, invert, REPO_ROOT, samplePngs, startDriftService } from "./sample-traffic.js";

const CHECK_KEY = "drift-check-key-0123456789abcdef";
/** Each run starts node: seconds, not milliseconds, on a busy machine. */
const RUN_TIMEOUT_MS = 60_000;

interface CheckRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the check as a child process with only `env` (and PATH) set. Async: the service is in this process. */
function runCheck(env: Record<string, string>): Promise<CheckRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [IMAGE_PROGRAMS.driftCheck],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, timeout: RUN_TIMEOUT_MS },
      (err, stdout, stderr) => {
        const status = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

const origin = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

let svc: TestService;
let baseUrl: string;
let summaryUrl: string;
let pngs: Buffer[];

beforeAll(async () => {
  svc = await startDriftService({
    API_KEYS: `tester:${API_KEY},drift-check:${CHECK_KEY}`,
    API_KEY_ROLES: "drift-check:ops-read",
  });
  await svc.app.listen({ host: "127.0.0.1", port: 0 });
  baseUrl = origin(svc.app.server);
  summaryUrl = `${baseUrl}/ops/summary`;
  pngs = await samplePngs();
}, 60_000);

afterAll(() => svc?.close());

const checkEnv = (over: Record<string, string> = {}) => ({
  DRIFT_CHECK_SERVICE_URL: baseUrl,
  DRIFT_CHECK_API_KEY: CHECK_KEY,
  ...over,
});

/** The report's top-features line, from the monitor's own entry (largest PSI first). */
function topFeaturesLine(entry: DriftEntry): string {
  const top = Object.entries(entry.features)
    .sort(([, a], [, b]) => b - a)
    .slice(0, 3)
    .map(([feature, psi]) => `${feature} ${psi.toFixed(4)}`);
  return `top features by PSI: ${top.join(", ")}`;
}

describe("drift check against the running service", () => {
  // The tests run in order: the window is empty, then holds the samples, then the inverted samples.
  it(
    "exits 0 with no score while the window has fewer than DRIFT_MIN_SAMPLES samples",
    async () => {
      const run = await runCheck(checkEnv());
      expect(run.stderr).toBe("");
      expect(run.stdout.split("\n")).toEqual([
        `drift of fashion-classifier v1 (stable) at ${summaryUrl}: NO SCORE YET`,
        "0 samples in the window, baseline: no traffic yet; a score needs DRIFT_MIN_SAMPLES of them",
        "",
      ]);
      expect(run.status).toBe(0);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "exits 0 and reports score, level, top features and trend on the test-set images",
    async () => {
      const entry = await driftOf(svc, pngs);
      expect(entry.level).not.toBe("alert");
      const run = await runCheck(checkEnv());
      expect(run.stderr).toBe("");
      expect(run.stdout.split("\n")).toEqual([
        `drift of fashion-classifier v1 (stable) at ${summaryUrl}: ${entry.level.toUpperCase()}`,
        `score ${entry.score.toFixed(4)} (warn 0.1, alert 0.25), trend steady, 100 samples`,
        topFeaturesLine(entry),
        `predicted-class PSI: ${entry.predictionPsi.toFixed(4)}`,
        "",
      ]);
      expect(run.status).toBe(0);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "exits 1 at the alert level when the same images arrive inverted",
    async () => {
      const entry = await driftOf(svc, await invert(pngs));
      expect(entry.level).toBe("alert");
      expect(entry.delta).toBeGreaterThan(0);
      const run = await runCheck(checkEnv());
      expect(run.stderr).toBe("");
      expect(run.stdout.split("\n")).toEqual([
        `drift of fashion-classifier v1 (stable) at ${summaryUrl}: ALERT`,
        `score ${entry.score.toFixed(4)} (warn 0.1, alert 0.25), trend rising (+${entry.delta!.toFixed(4)}), 100 samples`,
        topFeaturesLine(entry),
        `predicted-class PSI: ${entry.predictionPsi.toFixed(4)}`,
        "",
      ]);
      expect(run.status).toBe(1);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "exits 2 naming the URL and the status when the key holds neither the admin nor the ops-read role",
    async () => {
      const run = await runCheck(checkEnv({ DRIFT_CHECK_API_KEY: API_KEY }));
      expect(run.stdout).toBe("");
      expect(run.stderr).toBe(
        `drift check: GET ${summaryUrl} answered 403 Forbidden: FORBIDDEN: key:tester does not hold the admin or ops-read role\n`,
      );
      expect(run.status).toBe(2);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "exits 2 naming the URL and the service's code when the key is unknown",
    async () => {
      const run = await runCheck(checkEnv({ DRIFT_CHECK_API_KEY: "unknown-key-0123456789abcdef" }));
      expect(run.stderr).toMatch(
        new RegExp(`^drift check: GET ${summaryUrl} answered 401 Unauthorized: INVALID_CREDENTIALS: `),
      );
      expect(run.status).toBe(2);
    },
    RUN_TIMEOUT_MS,
  );
});

describe("drift check without an answer to judge", () => {
  it(
    "exits 2 naming the URL when nothing listens there",
    async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const url = origin(closed);
      await new Promise((resolve) => closed.close(resolve));
      const run = await runCheck(checkEnv({ DRIFT_CHECK_SERVICE_URL: url }));
      expect(run.stdout).toBe("");
      expect(run.stderr).toBe(
        `drift check: cannot reach ${url}/ops/summary: connect ECONNREFUSED ${url.slice("http://".length)}\n`,
      );
      expect(run.status).toBe(2);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "exits 2 naming what is missing when a 200 answer is not an ops summary",
    async () => {
      const impostor = createServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ rollout: { model: "m", variants: { stable: { version: "1" } } } }));
      });
      await new Promise<void>((resolve) => impostor.listen(0, "127.0.0.1", resolve));
      try {
        const url = origin(impostor);
        const run = await runCheck(checkEnv({ DRIFT_CHECK_SERVICE_URL: `${url}/` }));
        expect(run.stderr).toBe(
          `drift check: GET ${url}/ops/summary answered 200 with an unexpected summary:\n` +
            "  drift: Invalid input: expected object, received undefined\n",
        );
        expect(run.status).toBe(2);
      } finally {
        await new Promise((resolve) => impostor.close(resolve));
      }
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "exits 3 naming every missing variable",
    async () => {
      const run = await runCheck({});
      expect(run.stderr).toBe(
        "drift check: invalid drift check settings:\n" +
          "  DRIFT_CHECK_SERVICE_URL: required: the inference service's base URL\n" +
          "  DRIFT_CHECK_API_KEY: required: an API key holding the ops-read (or admin) role\n",
      );
      expect(run.status).toBe(3);
    },
    RUN_TIMEOUT_MS,
  );
});
