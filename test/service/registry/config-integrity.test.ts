/**
 * The integrity tags cover the model configuration (issue 20 review): plinth.model_config_sha256
 * holds the sha256 of the configuration file the service reads (model-config.json, else an MLflow
 * model's MLmodel), written by the training job's MLflow record and checked on download and on
 * every reuse of a cached copy. Against a real MLflow server (.tools/mlflow-venv), through
 * MlflowModelRegistry as the service uses it.
 *
 * A version whose configuration is not the registered one is refused naming the file and both
 * digests; a version tagged with a configuration digest but without the file is refused; a version
 * tagged for its model only but carrying a configuration file is refused unless
 * MODEL_ALLOW_UNTAGGED=true (then served, warned about once), but for a plinth model (model.onnx
 * carrying plinth.metadata: the versions plinth's trainer registered before it tagged
 * configurations), which serves without a warning, its configuration checked against the
 * metadata at load; an untagged version's refusal gives the statements that tag both files, and
 * running them makes it servable.
 *
 * The local folder registry keeps no tags (docs/model-configuration.md, "Integrity"): nothing here.
 */
import { readFile, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../../../service/inference/load-model.js";
import type { LoadOptions } from "../../../service/inference/model.js";
import { tagsOf } from "../../../service/mlflow/client.js";
import { MODEL_CONFIG_FILE, modelConfigFromMetadata } from "../../../service/model/model-config.js";
import { readModelMetadata } from "../../../service/model/onnx-format.js";
import { recordTrainingInMlflow } from "../../../service/mlflow/training-run.js";
import { integrityTags } from "../../../service/registry/integrity.js";
import { MlflowModelRegistry } from "../../../service/registry/mlflow-model-registry.js";
import { ModelCache, sha256Bytes } from "../../../service/registry/model-cache.js";
import { CONFIG_SHA256_TAG, RegistryError, SHA256_TAG } from "../../../service/registry/registry.js";
import type { JobResult } from "../../../service/train/job.js";
import { runPython } from "../../support/mlflow-server.js";
import { matmulModel } from "../inference/matmul-model.js";
import {
  MLFLOW_SUITE_TIMEOUT_MS,
  mlflowForSuite,
  registerVersion,
  storedArtifact,
  type RegisteredVersion,
} from "../mlflow/mlflow-suite.js";

const BUNDLED = path.resolve("models/fashion-classifier/1");
const MLMODEL = path.resolve("test/service/registry/fixtures/mlmodel/no-signature.MLmodel");
const MODEL = matmulModel([1, 0, 0, 1, 0, 0]);
const CONFIG = JSON.stringify({ schemaVersion: 1, task: "classification", labels: ["no", "yes"] });
const TAMPERED = JSON.stringify({ schemaVersion: 1, task: "classification", labels: ["yes", "no"] });

const mlflow = mlflowForSuite("plinth-config-integrity-");
let caches = 0;

const register = (name: string, files: Record<string, Uint8Array | string>, tags: Record<string, string>) =>
  registerVersion(mlflow(), name, files, tags);
const stored = (registered: RegisteredVersion, file: string) => storedArtifact(mlflow(), registered, file);

function registry(options: { allowUntagged?: boolean; cacheDir?: string } = {}) {
  const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
  const cache = new ModelCache(options.cacheDir ?? path.join(mlflow().tmp, `cache-${++caches}`));
  const log = {
    warn: (obj: object, msg: string) => warnings.push({ obj: obj as Record<string, unknown>, msg }),
  };
  return {
    registry: new MlflowModelRegistry(mlflow().client, cache, {
      allowUntagged: options.allowUntagged ?? false,
      log,
    }),
    warnings,
  };
}

async function refusal(promise: Promise<unknown>): Promise<RegistryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryError);
  expect((err as RegistryError).code).toBe("CHECKSUM_MISMATCH");
  return err as RegistryError;
}

const what = (r: RegisteredVersion) => `${r.name} version ${r.version} in MLflow ${mlflow().server.url}`;

describe("the training job's MLflow record", () => {
  let trained: RegisteredVersion;
  let config: string;

  beforeAll(async () => {
    // The bundled model's files are a training job's output.
    const read = (file: string) => readFile(path.join(BUNDLED, file), "utf8");
    config = await read("model-config.json");
    const job: JobResult = {
      summary: JSON.parse(await read("training_summary.json")) as JobResult["summary"],
      quality: JSON.parse(await read("data_quality_report.json")) as JobResult["quality"],
      files: {
        "model.onnx": new Uint8Array(await readFile(path.join(BUNDLED, "model.onnx"))),
        "model-config.json": config,
        "training_summary.json": await read("training_summary.json"),
        "data_quality_report.json": await read("data_quality_report.json"),
        "baseline.json": await read("baseline.json"),
      },
      version: undefined,
    };
    const { client } = mlflow();
    const out = await recordTrainingInMlflow(job, {
      client,
      experiment: "config-integrity-training",
      name: "trained",
      alias: undefined,
      championAlias: "champion",
      beatChampionOn: undefined,
      log: () => undefined,
    });
    const run = await client.getRun(out.runId);
    trained = { name: "trained", version: out.version, artifactUri: run.info.artifact_uri };
  }, MLFLOW_SUITE_TIMEOUT_MS);

  it("tags the version with the sha256 of its model-config.json beside the model's", async () => {
    const tags = tagsOf(await mlflow().client.getModelVersion("trained", trained.version));
    expect(tags[SHA256_TAG]).toBe(sha256Bytes(await readFile(path.join(BUNDLED, "model.onnx"))));
    expect(tags[CONFIG_SHA256_TAG]).toBe(sha256Bytes(new TextEncoder().encode(config)));
  });

  it("serves it verified, the configuration cached as registered", async () => {
    const fetched = await registry().registry.fetch("trained", trained.version);
    expect(await readFile(path.join(fetched.dir, "model-config.json"), "utf8")).toBe(config);
  });

  it("refuses it once its model-config.json is rewritten in the artifact store, naming the file and both digests, whatever MODEL_ALLOW_UNTAGGED says", async () => {
    await writeFile(stored(trained, "model-config.json"), TAMPERED);
    for (const allowUntagged of [false, true]) {
      const err = await refusal(registry({ allowUntagged }).registry.fetch("trained", trained.version));
      expect(err.message).toBe(
        `${what(trained)}: sha256 of model-config.json is ${sha256Bytes(new TextEncoder().encode(TAMPERED))} ` +
          `but the version's ${CONFIG_SHA256_TAG} tag says ${sha256Bytes(new TextEncoder().encode(config))}; refusing it`,
      );
    }
  });
});

describe("a cached copy", () => {
  it("is downloaded again when its configuration was changed, added or removed in the cache", async () => {
    const withConfig = await register(
      "cached",
      { "model.onnx": MODEL, "model-config.json": CONFIG },
      integrityTags({ "model.onnx": MODEL, "model-config.json": CONFIG }),
    );
    const cacheDir = path.join(mlflow().tmp, "cache-shared");
    const { registry: shared } = registry({ cacheDir });
    const first = await shared.fetch("cached", withConfig.version);
    const cachedConfig = path.join(first.dir, "model-config.json");
    await writeFile(cachedConfig, TAMPERED);
    expect(
      await readFile(
        path.join((await shared.fetch("cached", withConfig.version)).dir, "model-config.json"),
        "utf8",
      ),
    ).toBe(CONFIG);
    await rm(cachedConfig);
    expect(
      await readFile(
        path.join((await shared.fetch("cached", withConfig.version)).dir, "model-config.json"),
        "utf8",
      ),
    ).toBe(CONFIG);

    // A version registered without a configuration: one added to its cached copy is not served.
    const bare = await register("cached", { "model.onnx": MODEL }, integrityTags({ "model.onnx": MODEL }));
    const bareDir = (await shared.fetch("cached", bare.version)).dir;
    await writeFile(path.join(bareDir, "model-config.json"), TAMPERED);
    const again = await shared.fetch("cached", bare.version);
    expect(await readdir(again.dir)).toEqual(["model.onnx"]);
  });
});

describe("what the configuration tag refuses", () => {
  it("a version tagged with a configuration digest but holding no configuration file", async () => {
    const tags = integrityTags({ "model.onnx": MODEL, "model-config.json": CONFIG });
    const r = await register("no-config", { "model.onnx": MODEL }, tags);
    const err = await refusal(registry({ allowUntagged: true }).registry.fetch("no-config", r.version));
    expect(err.message).toBe(
      `${what(r)}: the version's ${CONFIG_SHA256_TAG} tag says ${tags[CONFIG_SHA256_TAG]} but it has no model-config.json or MLmodel; refusing it`,
    );
  });

  it("an MLflow model whose MLmodel changed after it was tagged, naming MLmodel", async () => {
    const mlmodel = await readFile(MLMODEL, "utf8");
    const files = { MLmodel: mlmodel, "model.onnx": MODEL };
    const r = await register("flavor", files, integrityTags(files));
    expect(tagsOf(await mlflow().client.getModelVersion("flavor", r.version))[CONFIG_SHA256_TAG]).toBe(
      sha256Bytes(new TextEncoder().encode(mlmodel)),
    );
    expect((await registry().registry.fetch("flavor", r.version)).sha256).toBe(sha256Bytes(MODEL));
    const changed = mlmodel.replace("model_size_bytes: 9990", "model_size_bytes: 9991");
    await writeFile(stored(r, "MLmodel"), changed);
    const err = await refusal(registry().registry.fetch("flavor", r.version));
    expect(err.message).toBe(
      `${what(r)}: sha256 of MLmodel is ${sha256Bytes(new TextEncoder().encode(changed))} but the version's ` +
        `${CONFIG_SHA256_TAG} tag says ${sha256Bytes(new TextEncoder().encode(mlmodel))}; refusing it`,
    );
  });

  it("a version tagged for its model only, a model without plinth metadata, that carries a configuration: refused, unless MODEL_ALLOW_UNTAGGED=true", async () => {
    const r = await register(
      "legacy",
      { "model.onnx": MODEL, "model-config.json": CONFIG },
      { [SHA256_TAG]: sha256Bytes(MODEL) },
    );
    const err = await refusal(registry().registry.fetch("legacy", r.version));
    expect(err.message).toBe(
      `${what(r)} has a ${SHA256_TAG} tag but no ${CONFIG_SHA256_TAG} tag for its model-config.json (the configuration ` +
        `the service reads: labels, preprocessing); refusing a model whose configuration is unverifiable. Either tag ` +
        `the version with the file's sha256, e.g. with MLflow's Python client: ` +
        `MlflowClient().set_model_version_tag("legacy", "${r.version}", "${CONFIG_SHA256_TAG}", ` +
        `hashlib.sha256(open(os.path.join(mlflow.artifacts.download_artifacts("models:/legacy/${r.version}"), "model-config.json"), "rb").read()).hexdigest()); ` +
        `or set MODEL_ALLOW_UNTAGGED=true to serve what no tag covers unverified (the sha256 is then computed on download and logged)`,
    );

    const { registry: allowed, warnings } = registry({ allowUntagged: true });
    const fetched = await allowed.fetch("legacy", r.version);
    expect(await readFile(path.join(fetched.dir, "model-config.json"), "utf8")).toBe(CONFIG);
    await allowed.fetch("legacy", r.version);
    expect(warnings).toEqual([
      {
        obj: expect.objectContaining({
          model: "legacy",
          version: r.version,
          setting: "MODEL_ALLOW_UNTAGGED",
          configFile: "model-config.json",
          configSha256: sha256Bytes(new TextEncoder().encode(CONFIG)),
        }),
        msg: `${what(r)} has no ${CONFIG_SHA256_TAG} tag: serving its model-config.json unverified (MODEL_ALLOW_UNTAGGED=true); sha256 computed on download: ${sha256Bytes(new TextEncoder().encode(CONFIG))}`,
      },
    ]);
  });

  it("an untagged version: the refusal's statements tag both files, after which it serves", async () => {
    const r = await register("untagged", { "model.onnx": MODEL, "model-config.json": CONFIG }, {});
    const err = await refusal(registry().registry.fetch("untagged", r.version));
    expect(err.message).toContain(
      `has no ${SHA256_TAG} tag (the sha256 hex of its model.onnx, or of the ONNX file its MLmodel names); refusing an unverifiable model. ` +
        "Either tag the version with the sha256 of its model.onnx and of its model-config.json, e.g. with MLflow's Python client: ",
    );
    const statements = /e\.g\. with MLflow's Python client: (.*\.hexdigest\(\)\)); or set/.exec(
      err.message,
    )?.[1];
    expect(statements, err.message).toBeDefined();
    await runPython(`import hashlib, os, mlflow\nfrom mlflow import MlflowClient\n${statements}`, {
      MLFLOW_TRACKING_URI: mlflow().server.url,
    });
    expect(tagsOf(await mlflow().client.getModelVersion("untagged", r.version))).toMatchObject(
      integrityTags({ "model.onnx": MODEL, "model-config.json": CONFIG }),
    );
    expect((await registry().registry.fetch("untagged", r.version)).sha256).toBe(sha256Bytes(MODEL));
  });
});

describe("a plinth version registered before plinth tagged configurations (the model tag, a model-config.json)", () => {
  const OPTIONS: LoadOptions = {
    ort: { intraOpThreads: 1, interOpThreads: 1, offload: "never", offloadThresholdMs: 5 },
    batching: { maxBatchSize: 8, maxDelayMs: 1, queueMaxRows: 64 },
    observer: () => ({ batch: () => undefined, queueWait: () => undefined, rejected: () => undefined }),
  };
  let model: Uint8Array;
  let config: string;

  beforeAll(async () => {
    model = new Uint8Array(await readFile(path.join(BUNDLED, "model.onnx")));
    // What the trainer wrote beside the model before it tagged configurations.
    config = JSON.stringify(modelConfigFromMetadata(readModelMetadata(model, "model.onnx")), null, 2);
  });

  // Registered under the name its metadata gives, as the loader requires.
  const NAME = "fashion-classifier";
  const registerLegacy = () =>
    register(
      NAME,
      { "model.onnx": model, [MODEL_CONFIG_FILE]: config },
      { [SHA256_TAG]: sha256Bytes(model) },
    );

  it("serves, without a warning, whatever MODEL_ALLOW_UNTAGGED says: the configuration is checked against the model's metadata at load", async () => {
    const r = await registerLegacy();
    for (const allowUntagged of [false, true]) {
      const { registry: legacy, warnings } = registry({ allowUntagged });
      const fetched = await legacy.fetch(NAME, r.version);
      expect(fetched.sha256).toBe(sha256Bytes(model));
      expect(await readFile(path.join(fetched.dir, MODEL_CONFIG_FILE), "utf8")).toBe(config);
      // A poll or reload reuses the cached copy, its configuration still hashing to what was downloaded.
      expect((await legacy.fetch(NAME, r.version)).dir).toBe(fetched.dir);
      expect(warnings).toEqual([]);
      const loaded = await loadModel(fetched, OPTIONS);
      expect(loaded.kind).toBe("plinth");
      await loaded.close();
    }
  });

  it("with its model-config.json changed in the artifact store: downloaded, then refused at load by the metadata comparison", async () => {
    const r = await registerLegacy();
    const parsed = JSON.parse(config) as { labels: string[] };
    await writeFile(
      stored(r, MODEL_CONFIG_FILE),
      JSON.stringify({ ...parsed, labels: [...parsed.labels].reverse() }, null, 2),
    );
    const { registry: legacy, warnings } = registry();
    const fetched = await legacy.fetch(NAME, r.version);
    expect(warnings).toEqual([]);
    await expect(loadModel(fetched, OPTIONS)).rejects.toThrow(
      `${path.join(fetched.dir, MODEL_CONFIG_FILE)} disagrees with the "plinth.metadata" embedded in ${fetched.modelPath}; remove the file`,
    );
  });

  it("with its model.onnx changed in the artifact store: refused on download, the model tag still checked", async () => {
    const r = await registerLegacy();
    await writeFile(stored(r, "model.onnx"), MODEL);
    const err = await refusal(registry().registry.fetch(NAME, r.version));
    expect(err.message).toContain(
      `sha256 of model.onnx is ${sha256Bytes(MODEL)} but the version's ${SHA256_TAG} tag says`,
    );
  });
});
