/**
 * plinth against a real MLflow tracking server (the pinned mlflow from .tools/mlflow-venv, PostgreSQL
 * backend, local artifacts through the artifact proxy): the TypeScript client, the training job's
 * MLflow record and its challenger rule, the service following champion as a data scientist moves
 * it with MLflow's own Python client, the registry command, and the faults (corrupt artifact,
 * missing alias, MLflow down while serving, MLflow down at start).
 *
 * One server for the whole file (its start is slow); the tests run in order and build on each other.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../service/config.js";
import { MlflowClient, tagsOf } from "../../../service/mlflow/client.js";
import { MlflowError } from "../../../service/mlflow/http.js";
import { recordTrainingInMlflow, VERSION_TAGS } from "../../../service/mlflow/training-run.js";
import { main as registryCli } from "../../../service/registry/cli.js";
import { MlflowModelRegistry } from "../../../service/registry/mlflow-model-registry.js";
import { ModelCache, sha256Bytes } from "../../../service/registry/model-cache.js";
import { openRegistry } from "../../../service/registry/open.js";
import { RegistryError, SHA256_TAG } from "../../../service/registry/registry.js";
import { RegistryModelSource } from "../../../service/registry/source.js";
import { buildServer, type Service } from "../../../service/server/build.js";
import type { JobResult } from "../../../service/train/job.js";
import { FIXTURE_NAME, fixtureModelBytes, rowForClass } from "../inference/fixture-model.js";
import { MlflowServer, runPython } from "../../support/mlflow-server.js";
import { capturedLog, jobFromFolder } from "./mlflow-suite.js";

const SLOW = 240_000;
const TSX = path.resolve("node_modules/.bin/tsx");

function runCommand(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: SLOW }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : ((err as { code?: number }).code ?? 1), stdout: stdout + stderr });
    });
  });
}
const API_KEY = "mlflow-test-key-0123456789";

let server: MlflowServer;
let client: MlflowClient;
let tmp: string;

beforeAll(async () => {
  server = await MlflowServer.start();
  client = new MlflowClient({ trackingUri: server.url, retry: { attempts: 2, initialDelayMs: 50 } });
  tmp = await mkdtemp(path.join(os.tmpdir(), "plinth-mlflow-test-"));
}, SLOW);

afterAll(async () => {
  await server?.dispose();
  await rm(tmp, { recursive: true, force: true });
}, SLOW);

/** Registers `bytes` as a new version of the fixture model, the way the training job does. */
async function registerFixture(
  bytes: Uint8Array,
  options: { sha256?: string | null } = {},
): Promise<{ version: string; artifactUri: string }> {
  const experimentId = await client.ensureExperiment("plinth-tests");
  const run = await client.createRun(experimentId);
  await client.uploadArtifact(run.info.artifact_uri, "model/model.onnx", bytes);
  await client.ensureRegisteredModel(FIXTURE_NAME);
  const sha = options.sha256 === undefined ? sha256Bytes(bytes) : options.sha256;
  const mv = await client.createModelVersion(FIXTURE_NAME, `${run.info.artifact_uri}/model`, {
    runId: run.info.run_id,
    tags: sha === null ? {} : { [SHA256_TAG]: sha },
  });
  await client.waitUntilReady(FIXTURE_NAME, mv.version);
  return { version: mv.version, artifactUri: run.info.artifact_uri };
}

/** The file the artifact proxy stores an artifact in (`--artifacts-destination`). */
function storedArtifact(artifactUri: string, relative: string): string {
  return path.join(server.artifactsDir, artifactUri.replace(/^mlflow-artifacts:\/*/, ""), relative);
}

interface RunningService extends Service {
  readonly logs: Record<string, unknown>[];
  readonly source: RegistryModelSource;
}

async function startService(options: {
  awaitStart: boolean;
}): Promise<{ svc: RunningService; started: Promise<unknown> }> {
  const { logger: log, logs } = capturedLog();
  const config = loadConfig({
    API_KEYS: `tester:${API_KEY}`,
    API_KEY_ROLES: "tester:admin",
    MLFLOW_TRACKING_URI: server.url,
    MODEL_CACHE_DIR: path.join(tmp, `cache-${Math.random().toString(36).slice(2)}`),
    MODEL_STABLE: `models:/${FIXTURE_NAME}@champion`,
    MODEL_WATCH_INTERVAL_MS: "200",
    MAX_EVENT_LOOP_DELAY_MS: "0",
    PORT: "0",
    METRICS_PORT: "0",
  });
  const source = new RegistryModelSource(openRegistry(config.model), {
    log,
    startupRetry: { initialDelayMs: 200, maxDelayMs: 1000 },
  });
  const service = await buildServer(config, { processMetrics: false, logger: log, source });
  const started = service.rollout.start();
  if (options.awaitStart) await started;
  return { svc: { ...service, logs, source }, started };
}

async function predictWith(
  svc: Service,
  cls: number,
): Promise<{ status: number; version?: string; classId?: number }> {
  const res = await svc.app.inject({
    method: "POST",
    url: "/predict",
    headers: { "x-api-key": API_KEY },
    payload: { inputs: rowForClass(cls) },
  });
  if (res.statusCode !== 200) return { status: res.statusCode };
  const body = res.json() as { model: { version: string }; predictions: { class_id: number }[] };
  return { status: 200, version: body.model.version, classId: body.predictions[0]!.class_id };
}

const POLL = { timeout: 60_000, interval: 200 };

describe("MlflowClient against the real server", () => {
  it("creates an experiment once and finds it by name afterwards", async () => {
    const id = await client.ensureExperiment("client-check");
    expect(await client.ensureExperiment("client-check")).toBe(id);
    expect((await client.getExperimentByName("client-check"))?.experiment_id).toBe(id);
    expect(await client.getExperimentByName("no-such-experiment")).toBeUndefined();
  });

  it("logs params, tags and more metrics than one log-batch request may carry", async () => {
    const run = await client.createRun(await client.ensureExperiment("client-check"), { runName: "batch" });
    const metrics = Array.from({ length: 1205 }, (_, i) => ({
      key: "loss",
      value: 1 / (i + 1),
      step: i + 1,
    }));
    await client.logBatch(run.info.run_id, {
      params: { lr: 0.002, arch: "mlp" },
      tags: { team: "vision" },
      metrics,
    });
    await client.updateRun(run.info.run_id, "FINISHED");
    const got = await client.getRun(run.info.run_id);
    expect(got.info.status).toBe("FINISHED");
    expect(tagsOf({ tags: got.data.params })).toEqual({ lr: "0.002", arch: "mlp" });
    expect(tagsOf({ tags: got.data.tags })).toMatchObject({ team: "vision" });
    // runs/get reports the latest value of each metric: step 1205.
    expect(got.data.metrics).toEqual([{ key: "loss", value: 1 / 1205, step: 1205 }]);
  });

  it("uploads and downloads artifacts byte for byte through the proxy, and lists them", async () => {
    const run = await client.createRun(await client.ensureExperiment("client-check"));
    const bytes = new Uint8Array(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));
    await client.uploadArtifact(run.info.artifact_uri, "model/weights.bin", bytes);
    await client.uploadArtifact(run.info.artifact_uri, "model/notes.txt", "héllo");
    expect(await client.downloadArtifact(run.info.artifact_uri, "model/weights.bin")).toEqual(bytes);
    expect(
      new TextDecoder().decode(await client.downloadArtifact(run.info.artifact_uri, "model/notes.txt")),
    ).toBe("héllo");
    const listed = await client.listArtifacts(run.info.artifact_uri, "model");
    expect(listed.map((f) => [path.basename(f.path), f.size]).sort()).toEqual([
      ["notes.txt", 6],
      ["weights.bin", 70_000],
    ]);
  });

  it("names the endpoint and MLflow's error code when MLflow refuses", async () => {
    const err = (await client.getModelVersion("no-such-model", "1").catch((e: unknown) => e)) as MlflowError;
    expect(err).toBeInstanceOf(MlflowError);
    expect(err.errorCode).toBe("RESOURCE_DOES_NOT_EXIST");
    expect(err.message).toMatch(
      /^MLflow GET \/api\/2\.0\/mlflow\/model-versions\/get: RESOURCE_DOES_NOT_EXIST: /,
    );
    const bad = (await client.createRun("not-a-number").catch((e: unknown) => e)) as MlflowError;
    expect(bad.endpoint).toBe("POST /api/2.0/mlflow/runs/create");
    expect(bad.status).toBe(400);
    expect(bad.errorCode).toBe("INVALID_PARAMETER_VALUE");
  });

  it("sets, reads and deletes aliases; search lists every version", async () => {
    const a = await registerFixture(fixtureModelBytes("probabilities", 7));
    const b = await registerFixture(fixtureModelBytes("probabilities", 8));
    await client.setAlias(FIXTURE_NAME, "staging", a.version);
    expect((await client.getVersionByAlias(FIXTURE_NAME, "staging"))?.version).toBe(a.version);
    await client.setAlias(FIXTURE_NAME, "staging", b.version);
    expect((await client.getVersionByAlias(FIXTURE_NAME, "staging"))?.aliases).toEqual(["staging"]);
    await client.deleteAlias(FIXTURE_NAME, "staging");
    expect(await client.getVersionByAlias(FIXTURE_NAME, "staging")).toBeUndefined();
    const versions = await client.searchModelVersions(FIXTURE_NAME);
    expect(versions.map((v) => v.version).slice(0, 2)).toEqual([b.version, a.version]);
  });
});

describe("the training job's MLflow record", () => {
  let job: JobResult;
  const NAME = "trained-classifier";
  const record = (result: JobResult) =>
    recordTrainingInMlflow(result, {
      client,
      experiment: "training",
      name: NAME,
      alias: "challenger",
      championAlias: "champion",
      beatChampionOn: "accuracy",
      log: () => undefined,
    });

  let cli: { status: number; stdout: string };

  beforeAll(async () => {
    // The command a data scientist runs: npm run train -- --mlflow (here through tsx, as npm would).
    const out = path.join(tmp, "train");
    cli = await runCommand(
      TSX,
      [
        "service/train/main.ts",
        "--mlflow",
        "--experiment",
        "training",
        "--arch",
        "mlp",
        "--limit",
        "1500",
        "--epochs",
        "2",
        "--workers",
        "0",
        "--min-samples",
        "100",
        "--min-per-label",
        "10",
        "--out",
        out,
        "--name",
        NAME,
      ],
      { MLFLOW_TRACKING_URI: server.url },
    );
    job = await jobFromFolder(out);
  }, SLOW);

  it("npm run train -- --mlflow logs params, per-epoch metrics and artifacts, registers a version tagged with the sha256, sets challenger", async () => {
    expect(cli.status).toBe(0);
    const model = job.files["model.onnx"] as Uint8Array;
    const sha256 = sha256Bytes(model);
    const registered = new RegExp(
      `\\[train\\] registered ${NAME} version (\\d+) in MLflow \\(sha256 ${sha256.slice(0, 12)}…\\)`,
    ).exec(cli.stdout);
    expect(registered, cli.stdout).not.toBeNull();
    const version = registered![1]!;
    expect(cli.stdout).toContain(
      `[train] set alias challenger -> ${version}: the quality gate passed and there is no champion to beat`,
    );
    const runId = /\[train\] MLflow run ([0-9a-f]{32}) in experiment "training"/.exec(cli.stdout)![1]!;
    const out = { version, sha256, runId };

    const mv = await client.getModelVersion(NAME, out.version);
    expect(tagsOf(mv)).toMatchObject({
      [SHA256_TAG]: out.sha256,
      [VERSION_TAGS.gate]: "passed",
      [VERSION_TAGS.testAccuracy]: String(job.summary.test.accuracy),
    });
    expect(mv.aliases).toEqual(["challenger"]);
    const run = await client.getRun(out.runId);
    expect(run.info.status).toBe("FINISHED");
    expect(tagsOf({ tags: run.data.params })).toMatchObject({
      architecture: "mlp",
      epochs: "2",
      train_samples: "1500",
    });
    const metric = (key: string) => run.data.metrics.find((m) => m.key === key);
    expect(await client.getMetricHistory(out.runId, "loss")).toEqual(
      job.summary.epochs.map((e) => ({ step: e.epoch, value: e.loss })),
    );
    expect(await client.getMetricHistory(out.runId, "train_accuracy")).toEqual(
      job.summary.epochs.map((e) => ({ step: e.epoch, value: e.trainAccuracy })),
    );
    expect(metric("test_accuracy")?.value).toBe(job.summary.test.accuracy);
    const uri = await client.getModelVersionDownloadUri(NAME, out.version);
    expect(sha256Bytes(await client.downloadArtifact(uri, "model.onnx"))).toBe(out.sha256);
    for (const file of ["training_summary.json", "data_quality_report.json", "baseline.json"]) {
      expect(new TextDecoder().decode(await client.downloadArtifact(uri, file))).toBe(job.files[file]);
    }
  });

  it("does not move challenger to a version that does not beat champion on the test metric", async () => {
    const first = await client.getVersionByAlias(NAME, "challenger");
    await client.setAlias(NAME, "champion", first!.version);
    const out = await record(job); // the same accuracy: not better
    expect(out.aliasSet).toBe(false);
    const acc = job.summary.test.accuracy.toFixed(4);
    expect(out.aliasReason).toBe(
      `it does not beat champion: test_accuracy ${acc} vs champion (version ${first!.version}) ${acc}`,
    );
    expect((await client.getVersionByAlias(NAME, "challenger"))?.version).toBe(first!.version);
    expect((await client.getModelVersion(NAME, out.version)).aliases).toEqual([]);
  });

  it("does not set challenger when the quality gate failed (trained with --skip-quality-checks)", async () => {
    const skipped = { ...job, quality: { ...job.quality, passed: false, skipped: true } };
    const out = await recordTrainingInMlflow(skipped, {
      client,
      experiment: "training",
      name: NAME,
      alias: "challenger",
      championAlias: "champion",
      beatChampionOn: undefined,
      log: () => undefined,
    });
    expect(out).toMatchObject({ aliasSet: false, aliasReason: "the data quality gate failed" });
    expect(tagsOf(await client.getModelVersion(NAME, out.version))[VERSION_TAGS.gate]).toBe("failed-skipped");
  });
});

describe("the service follows MLflow's champion alias", () => {
  let svc: RunningService;
  let v1: string;
  let v2: string;

  afterAll(async () => {
    svc?.source.close();
    await svc?.app.close();
  });

  it(
    "loads the version champion names, downloaded into the cache and verified",
    async () => {
      v1 = (await registerFixture(fixtureModelBytes("probabilities", 0))).version;
      await client.setAlias(FIXTURE_NAME, "champion", v1);
      svc = (await startService({ awaitStart: true })).svc;
      expect(await predictWith(svc, 3)).toEqual({ status: 200, version: v1, classId: 3 });
      expect(svc.rollout.snapshot().aliases).toMatchObject({ champion: v1 });
    },
    SLOW,
  );

  it(
    "follows champion when a data scientist moves it with MLflow's Python client, without a restart",
    async () => {
      const dir = path.join(tmp, "data-scientist");
      await rm(dir, { recursive: true, force: true });
      await import("node:fs/promises").then((fs) => fs.mkdir(dir, { recursive: true }));
      await writeFile(path.join(dir, "model.onnx"), fixtureModelBytes("probabilities", 1));
      const stdout = await runPython(
        `
import hashlib, os, mlflow
from mlflow import MlflowClient
model_dir = os.environ["MODEL_DIR"]
with open(os.path.join(model_dir, "model.onnx"), "rb") as f:
    sha = hashlib.sha256(f.read()).hexdigest()
mlflow.set_experiment("data-science")
with mlflow.start_run() as run:
    mlflow.log_artifact(os.path.join(model_dir, "model.onnx"), artifact_path="model")
client = MlflowClient()
mv = client.create_model_version("${FIXTURE_NAME}", run.info.artifact_uri + "/model", run_id=run.info.run_id,
                                 tags={"${SHA256_TAG}": sha})
client.set_registered_model_alias("${FIXTURE_NAME}", "champion", mv.version)
print("VERSION", mv.version)
`,
        { MLFLOW_TRACKING_URI: server.url, MODEL_DIR: dir },
      );
      v2 = /VERSION (\d+)/.exec(stdout)![1]!;
      expect(Number(v2)).toBeGreaterThan(Number(v1));
      await expect.poll(async () => (await predictWith(svc, 3)).version, POLL).toBe(v2);
      // Version 2 shifts every prediction by one class.
      expect(await predictWith(svc, 3)).toEqual({ status: 200, version: v2, classId: 4 });
      // The reload event is published after the swap, once the aliases are refreshed (one more
      // MLflow round trip): the new version can serve before the event is out.
      await expect.poll(() => svc.rollout.snapshot().lastReload?.version, POLL).toBe(v2);
      expect(svc.rollout.snapshot().lastReload).toMatchObject({
        trigger: "watcher",
        result: "loaded",
        previousVersion: v1,
        version: v2,
      });
    },
    SLOW,
  );

  it(
    "refuses a corrupt artifact (sha256 differs from the version tag) and keeps serving",
    async () => {
      const bytes = fixtureModelBytes("probabilities", 2);
      const v3 = await registerFixture(bytes);
      // Someone rewrites the stored file after registration.
      await writeFile(
        storedArtifact(v3.artifactUri, "model/model.onnx"),
        fixtureModelBytes("probabilities", 5),
      );
      await client.setAlias(FIXTURE_NAME, "champion", v3.version);
      await expect.poll(() => svc.rollout.snapshot().lastReload?.result, POLL).toBe("failed");
      const last = svc.rollout.snapshot().lastReload!;
      expect(last).toMatchObject({ trigger: "watcher", version: v2, attemptedVersion: null });
      expect(last.error).toMatch(
        new RegExp(
          `^${FIXTURE_NAME} version ${v3.version} in MLflow ${server.url}: sha256 of model.onnx is [0-9a-f]{64} but the version's plinth.model_sha256 tag says ${sha256Bytes(bytes)}; refusing it$`,
        ),
      );
      expect(await predictWith(svc, 3)).toEqual({ status: 200, version: v2, classId: 4 });
    },
    SLOW,
  );

  it("refuses a version without the sha256 tag", async () => {
    const untagged = await registerFixture(fixtureModelBytes("probabilities", 3), { sha256: null });
    const registry = new MlflowModelRegistry(client, new ModelCache(path.join(tmp, "cache-untagged")));
    const err = (await registry
      .fetch(FIXTURE_NAME, untagged.version)
      .catch((e: unknown) => e)) as RegistryError;
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.code).toBe("CHECKSUM_MISMATCH");
    expect(err.message).toBe(
      `${FIXTURE_NAME} version ${untagged.version} in MLflow ${server.url} has no plinth.model_sha256 tag (the sha256 hex of its model.onnx, or of the ONNX file its MLmodel names); refusing an unverifiable model. ` +
        `Either tag the version with its file's sha256, e.g. with MLflow's Python client: ` +
        `MlflowClient().set_model_version_tag("${FIXTURE_NAME}", "${untagged.version}", "plinth.model_sha256", ` +
        `hashlib.sha256(open(os.path.join(mlflow.artifacts.download_artifacts("models:/${FIXTURE_NAME}/${untagged.version}"), "model.onnx"), "rb").read()).hexdigest()); ` +
        `or set MODEL_ALLOW_UNTAGGED=true to serve versions without the tag unverified (the sha256 is then computed on download and logged)`,
    );
  });

  it(
    "reports a missing alias in the logs and the summary, and keeps serving",
    async () => {
      await client.deleteAlias(FIXTURE_NAME, "champion");
      const message = `model "${FIXTURE_NAME}" has no alias "champion" in MLflow ${server.url}`;
      await expect.poll(() => svc.rollout.snapshot().lastReload?.error, POLL).toBe(message);
      expect(svc.logs).toContainEqual(
        expect.objectContaining({
          level: 50,
          code: "ALIAS_NOT_FOUND",
          ref: `models:/${FIXTURE_NAME}@champion`,
          msg: `cannot resolve model models:/${FIXTURE_NAME}@champion: ${message}`,
        }),
      );
      const summary = await svc.app.inject({
        method: "GET",
        url: "/ops/summary",
        headers: { "x-api-key": API_KEY },
      });
      expect(summary.statusCode).toBe(200);
      expect(summary.body).toContain(JSON.stringify(message));
      expect(await predictWith(svc, 3)).toEqual({ status: 200, version: v2, classId: 4 });
      await client.setAlias(FIXTURE_NAME, "champion", v2);
      await expect
        .poll(() => svc.logs.some((l) => l.msg === "model reference resolves again"), POLL)
        .toBe(true);
    },
    SLOW,
  );

  it("lists versions and moves aliases with `npm run registry` against MLflow", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
      env: { MLFLOW_TRACKING_URI: server.url },
    };
    expect(await registryCli(["aliases", FIXTURE_NAME], io)).toBe(0);
    expect(out.pop()).toBe(`champion -> ${v2}`);
    expect(await registryCli(["--json", "list", FIXTURE_NAME], io)).toBe(0);
    const listed = JSON.parse(out.pop()!) as {
      version: string;
      aliases: string[];
      tags: Record<string, string>;
    }[];
    expect(listed.find((v) => v.version === v2)).toMatchObject({
      aliases: ["champion"],
      tags: { [SHA256_TAG]: sha256Bytes(fixtureModelBytes("probabilities", 1)) },
    });
    expect(await registryCli(["set-alias", FIXTURE_NAME, "canary", v1], io)).toBe(0);
    expect(out.pop()).toBe(`${FIXTURE_NAME}: canary -> ${v1}`);
    expect(await registryCli(["resolve", `models:/${FIXTURE_NAME}@canary`], io)).toBe(0);
    expect(out.pop()).toBe(v1);
    expect(await registryCli(["delete-alias", FIXTURE_NAME, "canary"], io)).toBe(0);
    expect(await registryCli(["delete-alias", FIXTURE_NAME, "canary"], io)).toBe(1);
    expect(err.pop()).toBe(
      `registry: ALIAS_NOT_FOUND: model "${FIXTURE_NAME}" has no alias "canary" in MLflow ${server.url}`,
    );
    expect(await registryCli(["set-alias", FIXTURE_NAME, "canary", "999"], io)).toBe(1);
    expect(err.pop()).toBe(
      `registry: VERSION_NOT_FOUND: model "${FIXTURE_NAME}" has no version 999 in MLflow ${server.url}`,
    );
  });

  it(
    "keeps serving while MLflow is down, then a service started while MLflow is down becomes ready once it answers",
    async () => {
      await server.stop();
      // The running service: still serving version 2, still ready.
      expect(await predictWith(svc, 3)).toEqual({ status: 200, version: v2, classId: 4 });
      await expect
        .poll(() => svc.rollout.snapshot().lastReload?.error ?? "", POLL)
        .toContain("unreachable: cannot reach");
      expect((await svc.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(200);
      expect(await predictWith(svc, 5)).toEqual({ status: 200, version: v2, classId: 6 });

      // A second instance starting now: not ready, retrying with backoff.
      const second = await startService({ awaitStart: false });
      try {
        await expect
          .poll(
            () =>
              second.svc.logs.filter(
                (l) => l.msg === "model registry unreachable before the first load; not ready, retrying",
              ).length,
            POLL,
          )
          .toBeGreaterThanOrEqual(2);
        expect((await second.svc.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(503);
        const delays = second.svc.logs
          .filter((l) => typeof l.retryInMs === "number")
          .map((l) => l.retryInMs as number);
        expect(delays.slice(0, 2)).toEqual([200, 400]);

        await server.start();
        await second.started;
        expect((await second.svc.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(200);
        expect(await predictWith(second.svc, 3)).toEqual({ status: 200, version: v2, classId: 4 });
      } finally {
        second.svc.source.close();
        await second.svc.app.close();
      }
    },
    SLOW,
  );
});
