/**
 * MLflow as the cloud stacks run it: the artifact proxy (`--serve-artifacts`) in front of a bucket,
 * `--artifacts-destination s3://...` on AWS and `gs://...` on GCP, the backend store in PostgreSQL,
 * the server from the pins of plinth's MLflow image (boto3, google-cloud-storage). The buckets are
 * local stand-ins for the clouds' APIs (test/support/buckets.ts). Runs' artifact URIs stay
 * `mlflow-artifacts:/...`, the only kind plinth's client reads; through them the training job's
 * upload lands in the bucket and the service's registry downloads exactly the bucket's objects.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowClient } from "../../../service/mlflow/client.js";
import { recordTrainingInMlflow } from "../../../service/mlflow/training-run.js";
import { MlflowModelRegistry } from "../../../service/registry/mlflow-model-registry.js";
import { ModelCache, sha256Bytes } from "../../../service/registry/model-cache.js";
import { RegistryError, SHA256_TAG } from "../../../service/registry/registry.js";
import { startGcsBucket, startS3Bucket, type Bucket } from "../../support/buckets.js";
import { MlflowServer } from "../../support/mlflow-server.js";
import { matmulModel } from "../inference/matmul-model.js";
import { jobFromFolder, MLFLOW_SUITE_TIMEOUT_MS, registerVersion, type MlflowSuite } from "./mlflow-suite.js";

const BUNDLED = path.resolve("models/fashion-classifier/1");
const PREFIX = "mlflow";

/** The bundled model's files, as the training job hands them to its MLflow record. */
const bundledJob = () => jobFromFolder(BUNDLED);

const bytesOf = (content: Uint8Array | string) =>
  Buffer.from(typeof content === "string" ? new TextEncoder().encode(content) : content);

describe.each([
  { cloud: "AWS", scheme: "s3", start: startS3Bucket },
  { cloud: "GCP", scheme: "gs", start: startGcsBucket },
])("MLflow on the $cloud stacks: artifacts proxied to $scheme://", ({ scheme, start }) => {
  let bucket: Bucket;
  let suite: MlflowSuite;

  /** The bucket key the proxy stores `file` under, for a run whose artifact URI is `artifactUri`. */
  const keyOf = (artifactUri: string, file: string) =>
    `${PREFIX}/${artifactUri.replace(/^mlflow-artifacts:\/*/, "")}/model/${file}`;

  beforeAll(async () => {
    bucket = await start(`plinth-${scheme}-artifacts`);
    const server = await MlflowServer.start({
      artifactsDestination: `${bucket.url}/${PREFIX}`,
      env: bucket.env,
    });
    const client = new MlflowClient({ trackingUri: server.url, retry: { attempts: 2, initialDelayMs: 50 } });
    suite = { server, client, tmp: await mkdtemp(path.join(os.tmpdir(), `plinth-buckets-${scheme}-`)) };
  }, MLFLOW_SUITE_TIMEOUT_MS);

  afterAll(async () => {
    await suite?.server.dispose();
    await bucket?.dispose();
    if (suite !== undefined) await rm(suite.tmp, { recursive: true, force: true });
  }, MLFLOW_SUITE_TIMEOUT_MS);

  const registry = (cache: string) =>
    new MlflowModelRegistry(suite.client, new ModelCache(path.join(suite.tmp, cache)), {
      allowUntagged: false,
    });

  it("runs the cluster's server: PostgreSQL backend store, the bucket as the proxy's destination", () => {
    expect(suite.server.backendStoreUri).toMatch(/^postgresql:\/\//);
    expect(suite.server.artifactsDestination).toBe(`${scheme}://plinth-${scheme}-artifacts/${PREFIX}`);
  });

  it("writes the training job's upload into the bucket, under a run whose artifact URI is mlflow-artifacts:", async () => {
    const job = await bundledJob();
    const out = await recordTrainingInMlflow(job, {
      client: suite.client,
      experiment: "retrain",
      name: "retrained",
      alias: "challenger",
      championAlias: "champion",
      beatChampionOn: undefined,
      log: () => undefined,
    });
    const run = await suite.client.getRun(out.runId);
    expect(run.info.artifact_uri).toMatch(/^mlflow-artifacts:\//);
    const objects = await bucket.objects();
    for (const [file, content] of Object.entries(job.files))
      expect(objects.get(keyOf(run.info.artifact_uri, file)), file).toEqual(bytesOf(content));
    // Nothing went to a local folder instead.
    expect(existsSync(suite.server.artifactsDir)).toBe(false);

    // What the service serves for that version is the bucket's objects, verified.
    const fetched = await registry("cache-trained").fetch("retrained", out.version);
    expect(fetched.sha256).toBe(out.sha256);
    for (const file of ["model.onnx", "model-config.json"])
      expect(await readFile(path.join(fetched.dir, file)), file).toEqual(
        objects.get(keyOf(run.info.artifact_uri, file)),
      );
  });

  it("serves a registered version byte for byte as the bucket holds it", async () => {
    const model = matmulModel([1, 0, 0, 1, 0, 0]);
    const registered = await registerVersion(
      suite,
      "matmul",
      { "model.onnx": model },
      {
        [SHA256_TAG]: sha256Bytes(model),
      },
    );
    expect(registered.artifactUri).toMatch(/^mlflow-artifacts:\//);
    const stored = (await bucket.objects()).get(keyOf(registered.artifactUri, "model.onnx"));
    expect(stored).toEqual(Buffer.from(model));
    const fetched = await registry("cache-matmul").fetch("matmul", registered.version);
    expect(await readFile(path.join(fetched.dir, "model.onnx"))).toEqual(stored);
  });

  it("refuses a version whose folder has no model.onnx, naming what it holds (the proxy's 500 is never read as an outage)", async () => {
    const registered = await registerVersion(
      suite,
      "no-model",
      { "README.md": "no model here" },
      { [SHA256_TAG]: sha256Bytes(new TextEncoder().encode("absent")) },
    );
    const err = await registry("cache-no-model")
      .fetch("no-model", registered.version)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe("UNSUPPORTED_MODEL");
    expect((err as RegistryError).message).toContain("its folder has no model.onnx (it holds: README.md)");
  });
});
