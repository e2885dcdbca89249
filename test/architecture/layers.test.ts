/**
 * The layers of the repository, checked by walking imports (./import-graph.ts): serving never loads
 * training code; the serving core (the protocol-agnostic data plane) never loads the HTTP layer;
 * the Pulumi program sees the service only through service/contract, which depends on nothing.
 * A failure lists every import that crosses a line, each with the chain that reaches it from the
 * layer (file -> file -> ... -> forbidden module), so the edge to cut is named.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ImportGraph, sourceFilesUnder, type ImportChain } from "./import-graph.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const graph = new ImportGraph(ROOT);

/** Repository-relative path with forward slashes. */
const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join("/");
/** A walk target (absolute file or package specifier) that is a repository file under one of `prefixes`. */
const fileUnder =
  (...prefixes: string[]) =>
  (target: string) =>
    path.isAbsolute(target) && prefixes.some((prefix) => rel(target).startsWith(prefix));
const filesUnder = (...dirs: string[]) => dirs.flatMap((dir) => sourceFilesUnder(path.join(ROOT, dir)));

/**
 * Training's side of service/: the trainer and `npm run train` (service/train/main.ts), the
 * datasets only it reads (service/data), and the `train --mlflow` flags and run recording, which
 * only service/train/main.ts imports. Everything else under service/ ships as serving.
 */
const isTraining = fileUnder(
  "service/train/",
  "service/data/",
  "service/mlflow/train-cli.ts",
  "service/mlflow/training-run.ts",
);
const SERVICE = filesUnder("service");
const SERVING = SERVICE.filter((file) => !isTraining(file));

/** The data plane: model contracts, tensors, inference, rollouts, models and their registries. */
const SERVING_CORE = filesUnder(
  "service/serving",
  "service/inference",
  "service/rollout",
  "service/model",
  "service/registry",
).filter((file) => rel(file) !== "service/registry/cli.ts");
const isHttpLayer = (target: string) =>
  fileUnder("service/server/")(target) ||
  target === "fastify" ||
  target.startsWith("fastify/") ||
  target.startsWith("@fastify/");

const PLATFORM = filesUnder("infra", "components", "stack", "policies");
const CONTRACT = filesUnder("service/contract");
const isContract = fileUnder("service/contract/");

function report(what: string, chains: readonly ImportChain[]): string {
  return `${what} (${chains.length}):\n  ${chains.map((c) => graph.format(c)).join("\n  ")}`;
}

describe("the walk", () => {
  it("covers the tree it checks", () => {
    expect(SERVICE.length).toBeGreaterThan(100);
    expect(SERVING.length).toBeGreaterThan(80);
    expect(SERVING_CORE.length).toBeGreaterThan(30);
    expect(PLATFORM.length).toBeGreaterThan(80);
    expect(CONTRACT.length).toBeGreaterThan(3);
    // Following edges, not just listing files: the entry point reaches most of the service.
    expect(graph.closure([path.join(ROOT, "service/main.ts")]).size).toBeGreaterThan(60);
  });

  it("resolves every relative import of the walked files, so no edge is missed", () => {
    const walked = graph.closure([...SERVICE, ...PLATFORM]);
    const unresolved = [...walked].flatMap((file) =>
      graph.importsOf(file).unresolved.map((specifier) => `${rel(file)}: ${specifier}`),
    );
    expect(unresolved, `relative imports with no file:\n  ${unresolved.join("\n  ")}`).toEqual([]);
  });
});

describe("layers", () => {
  it("a: no serving module imports training code, directly or transitively", () => {
    const chains = graph.violations(SERVING, isTraining);
    expect(chains, report("serving -> training imports", chains)).toEqual([]);
  });

  it("b: the serving core imports neither fastify, @fastify/*, nor service/server", () => {
    const chains = graph.violations(SERVING_CORE, isHttpLayer);
    expect(chains, report("serving core -> HTTP layer imports", chains)).toEqual([]);
  });

  it("c: the Pulumi program imports from service/ only service/contract", () => {
    const chains = graph.violations(PLATFORM, (t) => fileUnder("service/")(t) && !isContract(t));
    expect(chains, report("platform -> service internals imports", chains)).toEqual([]);
  });

  it("c: service/contract imports nothing but node: builtins and itself", () => {
    const chains = graph.violations(CONTRACT, (t) =>
      path.isAbsolute(t) ? !isContract(t) : !t.startsWith("node:"),
    );
    expect(chains, report("contract -> outside imports", chains)).toEqual([]);
  });
});

describe("ImportGraph on fixture files", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "layers-"));
  const fixtures: Record<string, string> = {
    "a.ts": `import { b } from "./b.js";\nexport const a = b;\n`,
    "b.ts": `export * from "./c.js";\nimport type { X } from "./types/x.js";\nexport const b: X | 1 = 1;\n`,
    "c.ts": `import fastify from "fastify";\nimport { readFileSync } from "node:fs";\nexport const c = [fastify, readFileSync];\n`,
    "types/x.ts": `export type X = import("fastify").FastifyInstance;\n`,
    "dynamic.ts": `export const load = () => import("./plugin.js");\n`,
    "plugin.ts": `import multipart from "@fastify/multipart";\nexport default multipart;\n`,
    "spawn.ts": `import { Worker } from "node:worker_threads";\nnew Worker(new URL("./worker.ts", import.meta.url));\n`,
    "worker.ts": `import "@fastify/rate-limit";\n`,
    "clean.ts": `import { c } from "./c.js";\nimport path from "node:path";\nexport const d = [c, path];\n`,
    "broken.ts": `import { gone } from "./missing.js";\nexport const e = gone;\n`,
  };
  for (const [name, text] of Object.entries(fixtures)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  const fixtureGraph = new ImportGraph(dir);
  const at = (name: string) => path.join(dir, name);
  const isFastify = (t: string) => t === "fastify" || t.startsWith("@fastify/");
  const chains = (roots: string[], forbidden: (t: string) => boolean) =>
    fixtureGraph.violations(roots.map(at), forbidden).map((c) => fixtureGraph.format(c));

  it("reports a transitive import with its whole chain, re-exports and import types included", () => {
    expect(chains(["a.ts"], isFastify)).toEqual([
      "a.ts -> b.ts -> c.ts -> fastify",
      "a.ts -> b.ts -> types/x.ts -> fastify",
    ]);
  });

  it("follows dynamic imports and worker entry points", () => {
    expect(chains(["dynamic.ts", "spawn.ts"], isFastify)).toEqual([
      "dynamic.ts -> plugin.ts -> @fastify/multipart",
      "spawn.ts -> worker.ts -> @fastify/rate-limit",
    ]);
  });

  it("stops at the first forbidden module on a path and treats files as forbidden targets", () => {
    // Breadth first: the shorter chain is found first.
    expect(chains(["a.ts", "clean.ts"], (t) => t === at("c.ts"))).toEqual([
      "clean.ts -> c.ts",
      "a.ts -> b.ts -> c.ts",
    ]);
  });

  it("finds nothing where nothing crosses, and records what does not resolve", () => {
    expect(chains(["spawn.ts", "dynamic.ts"], (t) => t === "fastify")).toEqual([]);
    expect(fixtureGraph.importsOf(at("broken.ts")).unresolved).toEqual(["./missing.js"]);
  });
});
