/**
 * What a test file against a real MLflow server needs: the server (.tools/mlflow-venv), a client
 * of it and a temporary folder, started before the file's tests and removed after them; versions
 * registered as plinth's tools register them; a pino logger whose lines the test can read.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll } from "vitest";
import { MlflowClient } from "../../../service/mlflow/client.js";
import type { JobResult } from "../../../service/train/job.js";
import { MlflowServer } from "../../support/mlflow-server.js";

/** MLflow's first start creates its schema in a fresh PostgreSQL database: slow on a busy machine. */
export const MLFLOW_SUITE_TIMEOUT_MS = 240_000;

export interface MlflowSuite {
  readonly server: MlflowServer;
  readonly client: MlflowClient;
  /** A temporary folder, removed after the file's tests. */
  readonly tmp: string;
}

/** Starts the server before the file's tests (`beforeAll` at the file's top level); read through the getter. */
export function mlflowForSuite(tmpPrefix: string): () => MlflowSuite {
  let suite: MlflowSuite | undefined;
  beforeAll(async () => {
    const server = await MlflowServer.start();
    const client = new MlflowClient({ trackingUri: server.url, retry: { attempts: 2, initialDelayMs: 50 } });
    suite = { server, client, tmp: await mkdtemp(path.join(os.tmpdir(), tmpPrefix)) };
  }, MLFLOW_SUITE_TIMEOUT_MS);
  afterAll(async () => {
    await suite?.server.dispose();
    if (suite !== undefined) await rm(suite.tmp, { recursive: true, force: true });
  }, MLFLOW_SUITE_TIMEOUT_MS);
  return () => suite!;
}

export interface RegisteredVersion {
  readonly name: string;
  readonly version: string;
  /** The run's artifact root; the version's files are under `model/`. */
  readonly artifactUri: string;
}

/** Uploads `files` under a new run's `model/` and registers them as a new version of `name` with `tags`. */
export async function registerVersion(
  suite: MlflowSuite,
  name: string,
  files: Readonly<Record<string, Uint8Array | string>>,
  tags: Readonly<Record<string, string>>,
): Promise<RegisteredVersion> {
  const { client } = suite;
  const run = await client.createRun(await client.ensureExperiment("plinth-tests"));
  for (const [file, content] of Object.entries(files))
    await client.uploadArtifact(run.info.artifact_uri, `model/${file}`, content);
  await client.ensureRegisteredModel(name);
  const mv = await client.createModelVersion(name, `${run.info.artifact_uri}/model`, {
    runId: run.info.run_id,
    tags: { ...tags },
  });
  await client.waitUntilReady(name, mv.version);
  return { name, version: mv.version, artifactUri: run.info.artifact_uri };
}

/** The file the artifact proxy stores a registered version's `file` in (`--artifacts-destination`). */
export function storedArtifact(suite: MlflowSuite, registered: RegisteredVersion, file: string): string {
  const root = registered.artifactUri.replace(/^mlflow-artifacts:\/*/, "");
  return path.join(suite.server.artifactsDir, root, "model", file);
}

/** A pino logger at info whose lines land, parsed, in `logs`. */
export function capturedLog(): { readonly logger: pino.Logger; readonly logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n"))
        if (line !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "info" }, sink), logs };
}

/**
 * A training output folder (the bundled model's registry folder, or a `npm run train` output) as
 * the training job hands it to its MLflow record; `model-config.json` when the folder has one.
 */
export async function jobFromFolder(dir: string): Promise<JobResult> {
  const read = (file: string) => readFile(path.join(dir, file), "utf8");
  const config = path.join(dir, "model-config.json");
  return {
    summary: JSON.parse(await read("training_summary.json")) as JobResult["summary"],
    quality: JSON.parse(await read("data_quality_report.json")) as JobResult["quality"],
    files: {
      "model.onnx": new Uint8Array(await readFile(path.join(dir, "model.onnx"))),
      ...(existsSync(config) ? { "model-config.json": await readFile(config, "utf8") } : {}),
      "training_summary.json": await read("training_summary.json"),
      "data_quality_report.json": await read("data_quality_report.json"),
      "baseline.json": await read("baseline.json"),
    },
    version: undefined,
  };
}
