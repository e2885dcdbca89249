/**
 * The pieces of the live gate test: real plinth services on loopback (fastify, onnxruntime,
 * prom-client, their metrics listeners), a real Prometheus (Debian `prometheus`, installed by
 * scripts/install-test-tools.sh) scraping them every second, and traffic from the sample images.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { isMap, isScalar, parseDocument } from "yaml";
import { inferenceServiceName, metricsServiceName } from "../../components/inference/names.js";
import type { AuditEntry } from "../../infra/promote/audit.js";
import { promote } from "../../infra/promote/main.js";
import { loadConfig } from "../../service/config.js";
import { LocalRegistry } from "../../service/registry/local.js";
import { buildServer } from "../../service/server/build.js";
import { startService } from "../../service/server/lifecycle.js";
import { MODEL_NAME, type VersionFiles } from "./candidate-models.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const API_KEY = "promote-test-key-0123456789";

/** A temporary local registry with `versions` of `model` registered in order and aliases set. */
export async function registryWith(
  versions: readonly { files: VersionFiles; alias: string }[],
  model = MODEL_NAME,
): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "plinth-promote-registry-"));
  const registry = new LocalRegistry(dir);
  for (const { files, alias } of versions) {
    const version = await registry.registerVersion(model, files);
    await registry.setAlias(model, alias, version);
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface LiveService {
  readonly url: string;
  readonly metricsTarget: string;
  close(): Promise<void>;
}

/** The service as `npm start` runs it (listening API and metrics ports), with `env`'s rollout. */
export async function startLiveService(
  registryDir: string,
  env: Record<string, string>,
): Promise<LiveService> {
  const config = loadConfig({
    API_KEYS: `tester:${API_KEY}`,
    PLINTH_REGISTRY_DIR: registryDir,
    HOST: "127.0.0.1",
    PORT: "0",
    METRICS_PORT: "0",
    MAX_EVENT_LOOP_DELAY_MS: "0",
    RATE_LIMIT_MAX: "100000",
    ...env,
  });
  const service = await buildServer(config, { processMetrics: false });
  const running = await startService(service, pino({ level: "silent" }));
  return {
    url: running.url,
    metricsTarget: `127.0.0.1:${running.metrics.port()}`,
    close: () => running.shutdown(),
  };
}

/**
 * The live tests' service settings beside the rollout: a slow candidate must show up as latency,
 * not as timeouts, on a machine busy with other tests; warm-up runs a full batch, so batches are
 * small for the slow candidate; drift is scored every second over 100 inputs.
 */
export const LIVE_SERVICE_SETTINGS: Readonly<Record<string, string>> = {
  CANDIDATE_TIMEOUT_MS: "30000",
  BATCH_MAX_SIZE: "4",
  DRIFT_WINDOW_SIZE: "100",
  DRIFT_MIN_SAMPLES: "100",
  DRIFT_INTERVAL_MS: "1000",
};

/** The bundled model's service in a canary at 50 %. */
export function startCanary(registryDir: string, candidate: string): Promise<LiveService> {
  return startLiveService(registryDir, {
    ROLLOUT_STRATEGY: "canary",
    MODEL_STABLE: "champion",
    MODEL_CANDIDATE: candidate,
    CANDIDATE_WEIGHT: "50",
    ...LIVE_SERVICE_SETTINGS,
  });
}

/** The 100 sample test-set PNGs (the images the training baseline's test split came from). */
export async function samplePngs(): Promise<Buffer[]> {
  const dir = path.join(REPO, "samples/fashion-mnist");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".png")).sort();
  return Promise.all(files.map((f) => readFile(path.join(dir, f))));
}

/**
 * Real traffic: `workers` loops each POSTing one body (by default a sample image to /predict-image),
 * then pausing `pauseMs`, until `durationMs` is over or `requests` were sent. Resolves to the
 * status codes seen.
 */
export async function drive(
  service: LiveService,
  bodies: readonly Buffer[],
  options: {
    workers: number;
    pauseMs: number;
    durationMs: number;
    requests?: number;
    route?: { path: string; contentType: string };
    /** Stops the traffic early (background traffic for as long as a test needs it). */
    signal?: AbortSignal;
  },
): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  const end = Date.now() + options.durationMs;
  const { path: route, contentType } = options.route ?? { path: "/predict-image", contentType: "image/png" };
  let next = 0;
  const worker = async () => {
    while (Date.now() < end && next < (options.requests ?? Infinity) && !options.signal?.aborted) {
      const body = bodies[next++ % bodies.length]!;
      const res = await fetch(`${service.url}${route}`, {
        method: "POST",
        headers: { "content-type": contentType, "x-api-key": API_KEY },
        body,
      });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, options.pauseMs));
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  return statuses;
}

/** A loopback port nothing listens on now (a service restarted on it keeps its scrape target). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface LivePrometheus {
  readonly url: string;
  close(): Promise<void>;
}

/** The Debian prometheus binary, or a loud failure naming the installer. */
function prometheusBinary(): string {
  const probe = spawnSync("prometheus", ["--version"], { encoding: "utf8" });
  if (probe.status !== 0) {
    throw new Error(
      "the `prometheus` binary is missing: run scripts/install-test-tools.sh (Debian package prometheus)",
    );
  }
  return "prometheus";
}

/**
 * Prometheus scraping each job's target every second, ready once every target is up. Each target
 * is labelled with the `service` the Prometheus operator would give the pods of a stack's default
 * model (their metrics Service), which the promote gates select a model's series by; the test
 * stacks serve one model.
 */
export function startPrometheus(jobs: Record<string, string>): Promise<LivePrometheus> {
  const service = metricsServiceName(inferenceServiceName(MODEL_NAME, MODEL_NAME));
  return startPrometheusTargets(
    Object.entries(jobs).map(([job, target]) => ({ job, target, labels: { service } })),
  );
}

/** One scrape job: its target (`host:port`) and the labels Prometheus adds to its series. */
export interface ScrapeTarget {
  readonly job: string;
  readonly target: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Prometheus scraping each target every second with its labels (as the Prometheus operator adds
 * `namespace` and `service`), ready once every target is up.
 */
export async function startPrometheusTargets(targets: readonly ScrapeTarget[]): Promise<LivePrometheus> {
  const binary = prometheusBinary();
  const dir = await mkdtemp(path.join(tmpdir(), "plinth-prometheus-"));
  const config = {
    global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
    scrape_configs: targets.map(({ job, target, labels }) => ({
      job_name: job,
      static_configs: [{ targets: [target], labels }],
    })),
  };
  await writeFile(path.join(dir, "prometheus.yml"), JSON.stringify(config));
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
    const up = await fetch(`${url}/api/v1/query?query=${encodeURIComponent("sum(up)")}`)
      .then((r) => r.json() as Promise<{ data?: { result?: { value: [number, string] }[] } }>)
      .then((body) => Number(body.data?.result?.[0]?.value[1] ?? 0))
      .catch(() => 0);
    if (up === targets.length) return { url, close };
    if (Date.now() > deadline) {
      await close();
      throw new Error(`prometheus did not scrape every target within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Pulumi.<stack>.yaml for the test, in `dir`: the real staging file, its one model (under
 * plinth:inference.models) named `rollout.model`, with a canary at 50% (or the candidate in shadow,
 * scoring every request) and gates sized for seconds of traffic instead of minutes.
 */
export async function writeTestStack(
  dir: string,
  stack: string,
  gates: Record<string, unknown>,
  slo: { latencyThresholdSeconds: number },
  rollout: { model: string; strategy: "canary" | "shadow" } = { model: MODEL_NAME, strategy: "canary" },
): Promise<string> {
  const document = parseDocument(await readFile(path.join(REPO, "Pulumi.staging.yaml"), "utf8"));
  const models = document.getIn(["config", "plinth:inference", "models"], true);
  if (!isMap(models) || models.items.length !== 1 || !isScalar(models.items[0]!.key)) {
    throw new Error("Pulumi.staging.yaml: expected one model under plinth:inference.models");
  }
  models.items[0]!.key.value = rollout.model;
  const at = ["config", "plinth:inference", "models", rollout.model, "rollout"];
  if (rollout.strategy === "canary") {
    document.setIn([...at, "candidate", "weight"], 50);
  } else {
    document.setIn([...at, "strategy"], "shadow");
    document.deleteIn([...at, "candidate", "weight"]);
    document.setIn([...at, "candidate", "shadowPercent"], 100);
  }
  for (const [key, value] of Object.entries(gates)) {
    document.setIn([...at, "gates", key], value);
  }
  document.setIn(
    ["config", "plinth:monitoring", "slo", "latencyThresholdSeconds"],
    slo.latencyThresholdSeconds,
  );
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  await writeFile(file, document.toString());
  return file;
}

export interface PromoteRun {
  readonly code: number;
  /** Everything printed, stdout and stderr. */
  readonly output: string;
  /** The stack file before and after. */
  readonly before: string;
  readonly after: string;
  readonly entries: readonly AuditEntry[];
}

/** Gates sized for seconds of traffic on a machine busy with other tests; a test adds its own. */
export const LIVE_GATES = {
  window: "15s",
  minRequests: 50,
  maxErrorRate: 0.01,
  maxLatencyRatio: 1.5,
  latencyToleranceSeconds: 0.02,
} as const;

/**
 * Runs `npm run promote -- --stack live <argv>` on a fresh test stack (writeTestStack, with
 * LIVE_GATES and `gates`, SLO latency 100 ms) in a new folder under `dir`, reading Prometheus job
 * `job` only.
 */
export async function promoteLive(options: {
  readonly dir: string;
  readonly job: string;
  readonly prometheusUrl: string;
  readonly gates: Record<string, unknown>;
  readonly rollout?: Parameters<typeof writeTestStack>[4];
  readonly argv: readonly string[];
}): Promise<PromoteRun> {
  const { job } = options;
  const stackDir = await mkdtemp(path.join(options.dir, `${job}-`));
  const gates = { ...LIVE_GATES, ...options.gates };
  const file = await writeTestStack(
    stackDir,
    "live",
    gates,
    { latencyThresholdSeconds: 0.1 },
    options.rollout,
  );
  const before = await readFile(file, "utf8");
  const lines: string[] = [];
  const code = await promote(
    ["--stack", "live", "--dir", stackDir, "--selector", `job="${job}"`, ...options.argv],
    { PROMETHEUS_URL: options.prometheusUrl, USER: "release-tester" },
    { out: (l) => lines.push(l), err: (l) => lines.push(l) },
  );
  const after = await readFile(file, "utf8");
  const audit = await readFile(path.join(stackDir, "releases/audit.jsonl"), "utf8").catch(() => "");
  const entries = audit
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEntry);
  return { code, output: lines.join("\n"), before, after, entries };
}

/** Stops what a live test started, whichever parts it got to. */
export async function stopLive(parts: {
  readonly prometheus?: LivePrometheus;
  readonly services?: Record<string, LiveService>;
  readonly registry?: { cleanup(): Promise<void> };
  readonly dir?: string;
}): Promise<void> {
  await parts.prometheus?.close();
  await Promise.all(Object.values(parts.services ?? {}).map((s) => s.close()));
  await parts.registry?.cleanup();
  if (parts.dir) await rm(parts.dir, { recursive: true, force: true });
}
