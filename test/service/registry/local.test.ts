import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_REGISTRY_DIR, LocalRegistry, RegistryError } from "../../../service/registry/local.js";

let root: string;
let registry: LocalRegistry;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "plinth-registry-"));
  registry = new LocalRegistry(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const model = (tag: string) => ({
  "model.onnx": new Uint8Array([1, 2, 3]),
  "training_summary.json": `{"tag":"${tag}"}`,
});

async function expectCode(promise: Promise<unknown>, code: RegistryError["code"], message?: RegExp) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryError);
  expect((err as RegistryError).code).toBe(code);
  if (message) expect((err as RegistryError).message).toMatch(message);
}

describe("LocalRegistry", () => {
  it("defaults to the repository's models/ folder", () => {
    expect(DEFAULT_REGISTRY_DIR).toBe(path.resolve(import.meta.dirname, "../../../models"));
    expect(new LocalRegistry().rootDir).toBe(DEFAULT_REGISTRY_DIR);
  });

  it("registers versions 1, 2, ... and lists them in numeric order", async () => {
    const versions = [];
    for (let i = 0; i < 11; i++) versions.push(await registry.registerVersion("m", model(String(i))));
    expect(versions).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]);
    expect(await registry.listVersions("m")).toEqual(versions);
    expect(await registry.listModels()).toEqual(["m"]);
    expect(readFileSync(path.join(root, "m", "10", "training_summary.json"), "utf8")).toBe('{"tag":"9"}');
  });

  it("gives concurrent registrations distinct versions and leaves no temporary folders", async () => {
    const versions = await Promise.all(
      Array.from({ length: 6 }, (_, i) => registry.registerVersion("m", model(String(i)))),
    );
    expect([...versions].sort((a, b) => Number(a) - Number(b))).toEqual(["1", "2", "3", "4", "5", "6"]);
    expect(readdirSync(path.join(root, "m")).sort()).toEqual(["1", "2", "3", "4", "5", "6"]);
    for (const v of versions)
      expect(readdirSync(path.join(root, "m", v)).sort()).toEqual(["model.onnx", "training_summary.json"]);
  });

  it("resolves versions and aliases to the model file", async () => {
    await registry.registerVersion("m", model("a"));
    await registry.registerVersion("m", model("b"));
    await registry.setAlias("m", "champion", "1");
    await registry.setAlias("m", "challenger", "2");
    expect(await registry.getAliases("m")).toEqual({ challenger: "2", champion: "1" });
    expect(JSON.parse(readFileSync(path.join(root, "m", "aliases.json"), "utf8"))).toEqual({
      challenger: "2",
      champion: "1",
    });
    const byAlias = await registry.resolve("m", "champion");
    expect(byAlias).toEqual({
      name: "m",
      version: "1",
      dir: path.join(root, "m", "1"),
      modelPath: path.join(root, "m", "1", "model.onnx"),
    });
    expect((await registry.resolve("m", "2")).modelPath).toBe(path.join(root, "m", "2", "model.onnx"));
    await registry.setAlias("m", "champion", "2");
    expect((await registry.resolve("m", "champion")).version).toBe("2");
    await registry.deleteAlias("m", "challenger");
    expect(await registry.getAliases("m")).toEqual({ champion: "2" });
    expect(readdirSync(path.join(root, "m")).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  it("reports an unknown model, version or alias with its code", async () => {
    await expectCode(registry.resolve("nope", "1"), "MODEL_NOT_FOUND", /model "nope" not found/);
    await expectCode(registry.listVersions("nope"), "MODEL_NOT_FOUND");
    await expectCode(registry.getAliases("nope"), "MODEL_NOT_FOUND");
    await registry.registerVersion("m", model("a"));
    await expectCode(registry.resolve("m", "7"), "VERSION_NOT_FOUND", /has no version 7 \(has 1\)/);
    await expectCode(registry.setAlias("m", "champion", "7"), "VERSION_NOT_FOUND");
    await expectCode(registry.resolve("m", "champion"), "ALIAS_NOT_FOUND", /has no alias "champion"/);
    await expectCode(registry.deleteAlias("m", "champion"), "ALIAS_NOT_FOUND");
  });

  it("reports an alias pointing at a deleted version as VERSION_NOT_FOUND", async () => {
    await registry.registerVersion("m", model("a"));
    await registry.registerVersion("m", model("b"));
    await registry.setAlias("m", "champion", "2");
    rmSync(path.join(root, "m", "2"), { recursive: true });
    await expectCode(registry.resolve("m", "champion"), "VERSION_NOT_FOUND");
  });

  it("refuses names, aliases and versions that could escape the registry", async () => {
    await registry.registerVersion("m", model("a"));
    for (const name of ["../etc", "a/b", "", ".hidden", "a\\b", "x".repeat(200)]) {
      await expectCode(registry.resolve(name, "1"), "INVALID_REFERENCE");
      await expectCode(registry.registerVersion(name, model("x")), "INVALID_REFERENCE");
    }
    await expectCode(registry.resolve("m", "../1"), "INVALID_REFERENCE");
    await expectCode(registry.resolve("m", "01"), "INVALID_REFERENCE", /positive integer/);
    await expectCode(registry.resolve("m", "0"), "INVALID_REFERENCE");
    await expectCode(registry.setAlias("m", "../champion", "1"), "INVALID_REFERENCE");
    await expectCode(registry.setAlias("m", "42", "1"), "INVALID_REFERENCE", /cannot be a number/);
    await expectCode(registry.setAlias("m", "champion", "one"), "INVALID_REFERENCE");
    await expectCode(
      registry.registerVersion("m", { "model.onnx": "x", "../evil": "x" }),
      "INVALID_REFERENCE",
      /invalid file name/,
    );
    await expectCode(
      registry.registerVersion("m", { "summary.json": "x" }),
      "INVALID_REFERENCE",
      /needs a model.onnx/,
    );
    expect(await registry.listVersions("m")).toEqual(["1"]);
  });

  it("ignores stray entries and refuses a corrupt aliases file with its path", async () => {
    await registry.registerVersion("m", model("a"));
    mkdirSync(path.join(root, "m", "notes"));
    mkdirSync(path.join(root, "empty"));
    expect(await registry.listVersions("m")).toEqual(["1"]);
    expect(await registry.listModels()).toEqual(["m"]);
    writeFileSync(path.join(root, "m", "aliases.json"), "{not json");
    await expect(registry.getAliases("m")).rejects.toThrow(
      `${path.join(root, "m", "aliases.json")}: not valid JSON`,
    );
    writeFileSync(path.join(root, "m", "aliases.json"), '{"champion": 1}');
    await expect(registry.resolve("m", "champion")).rejects.toThrow(/bad entry "champion": 1/);
  });

  it("lists no models in a missing root", async () => {
    expect(await new LocalRegistry(path.join(root, "missing")).listModels()).toEqual([]);
  });
});
