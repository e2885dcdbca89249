/**
 * The common registry contract over the local folder registry: `npm run registry` commands,
 * model references (`models:/`, `file:`, bare), and the model source's error reporting.
 */
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main as registryCli } from "../../../service/registry/cli.js";
import { LocalRegistry } from "../../../service/registry/local.js";
import { LocalModelRegistry } from "../../../service/registry/local-model-registry.js";
import { sha256Bytes } from "../../../service/registry/model-cache.js";
import { openRegistry } from "../../../service/registry/open.js";
import type { RegistryError } from "../../../service/registry/registry.js";
import {
  AwaitingVersionError,
  RegistryModelSource,
  type SourceLogger,
} from "../../../service/registry/source.js";
import { MlflowModelRegistry } from "../../../service/registry/mlflow-model-registry.js";
import { FIXTURE_NAME, fixtureModelBytes } from "../inference/fixture-model.js";

let dir: string;
let local: LocalRegistry;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "plinth-registry-cli-"));
  local = new LocalRegistry(dir);
  await local.registerVersion(FIXTURE_NAME, { "model.onnx": fixtureModelBytes("probabilities", 0) });
  await local.registerVersion(FIXTURE_NAME, { "model.onnx": fixtureModelBytes("probabilities", 1) });
  await local.setAlias(FIXTURE_NAME, "champion", "1");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function cli(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const run = (...argv: string[]) =>
    registryCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env });
  return { out, err, run };
}

describe("npm run registry against the local registry", () => {
  it("lists versions with their aliases", async () => {
    const { out, run } = cli({ PLINTH_REGISTRY_DIR: dir });
    expect(await run("list", FIXTURE_NAME)).toBe(0);
    expect(out.pop()).toBe(
      [
        "   #  status     sha256        aliases",
        "   1  READY      -             champion",
        "   2  READY      -             ",
      ].join("\n"),
    );
  });

  it("moves, shows and deletes aliases, chosen by --registry file:<dir>", async () => {
    const { out, run } = cli({ MLFLOW_TRACKING_URI: "http://127.0.0.1:9" }); // --registry wins over MLflow
    expect(await run("--registry", `file:${dir}`, "set-alias", FIXTURE_NAME, "champion", "2")).toBe(0);
    expect(out.pop()).toBe(`${FIXTURE_NAME}: champion -> 2`);
    expect(await local.getAliases(FIXTURE_NAME)).toEqual({ champion: "2" });
    expect(await run("--registry", `file:${dir}`, "--json", "aliases", FIXTURE_NAME)).toBe(0);
    expect(JSON.parse(out.pop()!)).toEqual({ champion: "2" });
    expect(await run("--registry", `file:${dir}`, "resolve", `models:/${FIXTURE_NAME}@champion`)).toBe(0);
    expect(out.pop()).toBe("2");
    expect(await run("--registry", `file:${dir}`, "delete-alias", FIXTURE_NAME, "champion")).toBe(0);
    expect(await run("--registry", `file:${dir}`, "aliases", FIXTURE_NAME)).toBe(0);
    expect(out.pop()).toBe("(no aliases)");
  });

  it.each([
    [
      ["set-alias", FIXTURE_NAME, "champion", "9"],
      1,
      `registry: VERSION_NOT_FOUND: model "${FIXTURE_NAME}" has no version 9`,
    ],
    [
      ["delete-alias", FIXTURE_NAME, "challenger"],
      1,
      `registry: ALIAS_NOT_FOUND: model "${FIXTURE_NAME}" has no alias "challenger"`,
    ],
    [["aliases", "nope"], 1, `registry: MODEL_NOT_FOUND: model "nope" not found in`],
    [
      ["set-alias", FIXTURE_NAME, "7", "1"],
      1,
      `registry: INVALID_REFERENCE: invalid alias "7": an alias cannot be a number`,
    ],
    [["promote", FIXTURE_NAME], 2, 'registry: unknown command "promote"'],
    [[], 2, "registry: no command"],
    [["set-alias", FIXTURE_NAME, "champion"], 2, "registry: set-alias takes 3 arguments, got 2"],
    [
      ["--registry", "s3://bucket", "list", FIXTURE_NAME],
      2,
      'registry: registry location "s3://bucket": expected file:<registry dir> or an MLflow http(s):// URL',
    ],
    [["resolve", "file:/tmp/x"], 2, "registry: resolve takes a models:/ reference, not file:"],
    [["--bogus", "list"], 2, "registry: Unknown option '--bogus'"],
  ])("%j exits %i with a message naming the problem", async (argv, status, message) => {
    const { err, run } = cli({ PLINTH_REGISTRY_DIR: dir });
    expect(await run(...argv)).toBe(status);
    expect(err.pop()).toContain(message);
  });

  it("uses MLflow when MLFLOW_TRACKING_URI is set and no --registry is given", () => {
    expect(openRegistry({ mlflowTrackingUri: "http://mlflow:5000", registryDir: dir })).toBeInstanceOf(
      MlflowModelRegistry,
    );
    expect(openRegistry({ registryDir: dir })).toBeInstanceOf(LocalModelRegistry);
    expect(openRegistry({ registryDir: dir }).location).toBe(dir);
  });
});

describe("RegistryModelSource over the local registry", () => {
  const logs: { level: string; obj: object; msg: string }[] = [];
  const log: SourceLogger = {
    info: (obj, msg) => logs.push({ level: "info", obj, msg }),
    warn: (obj, msg) => logs.push({ level: "warn", obj, msg }),
    error: (obj, msg) => logs.push({ level: "error", obj, msg }),
  };
  const source = () => new RegistryModelSource(new LocalModelRegistry(local), { log });

  beforeEach(() => {
    logs.length = 0;
  });

  it("resolves bare and models:/ references to the same verified file", async () => {
    const byAlias = await source().resolve(FIXTURE_NAME, "champion");
    const byUri = await source().resolve("ignored-default", `models:/${FIXTURE_NAME}@champion`);
    const byVersion = await source().resolve(FIXTURE_NAME, `models:/${FIXTURE_NAME}/1`);
    for (const m of [byAlias, byUri, byVersion]) {
      expect(m).toMatchObject({
        name: FIXTURE_NAME,
        version: "1",
        modelPath: path.join(dir, FIXTURE_NAME, "1", "model.onnx"),
      });
      expect(m.sha256).toBe(sha256Bytes(fixtureModelBytes("probabilities", 0)));
    }
    expect(await source().getAliases(FIXTURE_NAME)).toEqual({ champion: "1" });
  });

  it("serves a file: folder: a registry version folder keeps its number, any other folder gets its sha", async () => {
    const versionFolder = await source().resolve(FIXTURE_NAME, `file:${path.join(dir, FIXTURE_NAME, "2")}`);
    expect(versionFolder.version).toBe("2");
    const out = path.join(dir, "out");
    await mkdir(out);
    const bytes = fixtureModelBytes("probabilities", 4);
    await writeFile(path.join(out, "model.onnx"), bytes);
    const loose = await source().resolve(FIXTURE_NAME, `file:${out}`);
    expect(loose).toMatchObject({
      name: FIXTURE_NAME,
      version: `sha-${sha256Bytes(bytes).slice(0, 12)}`,
      dir: out,
    });
    await expect(source().resolve(FIXTURE_NAME, `file:${path.join(dir, "empty")}`)).rejects.toThrow(
      `file:${path.join(dir, "empty")}: no model.onnx in ${path.join(dir, "empty")}`,
    );
  });

  it("reports a missing alias once per distinct failure, as awaiting a first version, and fails without retrying", async () => {
    const s = source();
    for (let i = 0; i < 3; i++) {
      const err = (await s.resolve(FIXTURE_NAME, "challenger").catch((e: unknown) => e)) as RegistryError;
      expect(err).toBeInstanceOf(AwaitingVersionError);
      expect(err.code).toBe("ALIAS_NOT_FOUND");
    }
    // Never resolved: the registry holds no version for it yet, a steady state (warn, not error).
    expect(logs).toEqual([
      {
        level: "warn",
        obj: {
          ref: "challenger",
          registry: dir,
          code: "ALIAS_NOT_FOUND",
          err: `model "${FIXTURE_NAME}" has no alias "challenger"`,
        },
        msg:
          `model challenger: awaiting its first version: models:/${FIXTURE_NAME}@challenger names no version in ${dir} yet ` +
          `(ALIAS_NOT_FOUND: model "${FIXTURE_NAME}" has no alias "challenger"); ` +
          `register a version of model "${FIXTURE_NAME}" and set its alias "challenger" to it`,
      },
    ]);
    await local.setAlias(FIXTURE_NAME, "challenger", "2");
    expect((await s.resolve(FIXTURE_NAME, "challenger")).version).toBe("2");
    expect(logs.at(-1)).toMatchObject({ level: "info", msg: "model reference resolves again" });
  });
});
