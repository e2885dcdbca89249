/**
 * The service image, checked from the Dockerfile (no Docker engine here): its stages, identity,
 * ports, entrypoint, what it copies and what it leaves out.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILD_DIR, IMAGE_PROGRAMS, imageCommand } from "../../service/contract/image-commands.js";
import { contextSources, execForm, isIgnored, parseDockerfile, type Stage } from "./dockerfile.js";
import { datasetPin, ROOT, readJson } from "./workflow-files.js";

const stages = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const dockerignore = readFileSync(join(ROOT, ".dockerignore"), "utf8");
const runtime = stages.at(-1)!;
const pkg = readJson<{ dependencies: Record<string, string>; scripts: Record<string, string> }>(
  "package.json",
);

const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);

function serviceSources(dir = join(ROOT, "service")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return serviceSources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/**
 * Module specifiers of static and dynamic imports, and modules a worker thread runs
 * (`siblingWorker(import.meta.url, "worker", ...)` runs ./worker.ts).
 */
function specifiers(source: string): string[] {
  const patterns = [/\bfrom\s+"([^"]+)"/g, /\bimport\(\s*"([^"]+)"\s*\)/g];
  const workers = [...source.matchAll(/siblingWorker\(\s*import\.meta\.url,\s*"([^"]+)"/g)];
  return [
    ...patterns.flatMap((p) => [...source.matchAll(p)].map((m) => m[1]!)),
    ...workers.map((m) => `./${m[1]!}.ts`),
  ];
}

const buildConfig = readJson<{
  extends: string;
  compilerOptions: { noEmit: boolean; rootDir: string; outDir: string };
  include: string[];
}>("tsconfig.build.json");

describe("Dockerfile", () => {
  it("builds in three stages: production dependencies, the compiled service, then the runtime", () => {
    expect(stages.map((s) => s.name)).toEqual(["deps", "build", "runtime"]);
    expect(of(runtime, "COPY").filter((i) => i.flags.from === "deps")).toHaveLength(1);
    expect(of(runtime, "COPY").filter((i) => i.flags.from === "build")).toEqual([
      expect.objectContaining({ words: [`/app/${BUILD_DIR}`, `./${BUILD_DIR}`] }),
    ]);
  });

  it("compiles service/ with `npm run build` (tsconfig.build.json) from the sources it copies", () => {
    const build = stages[1]!;
    const copied = of(build, "COPY").flatMap((i) => i.words.slice(0, -1));
    expect(copied).toEqual(expect.arrayContaining(["tsconfig.json", "tsconfig.build.json", "service"]));
    expect(of(build, "RUN").map((i) => i.args)).toContain("npm run build && rm dist/.tsbuildinfo");
    expect(pkg.scripts.build).toBe("tsc -p tsconfig.build.json");
    expect(buildConfig).toMatchObject({
      extends: "./tsconfig.json",
      compilerOptions: { noEmit: false, rootDir: ".", outDir: BUILD_DIR },
      include: ["service"],
    });
  });

  it("names each program the image runs by the compiled path of an existing source under service/", () => {
    for (const program of Object.values(IMAGE_PROGRAMS)) {
      expect(program).toMatch(new RegExp(`^${BUILD_DIR}/service/.+\\.js$`));
      const source = program.slice(BUILD_DIR.length + 1).replace(/\.js$/, ".ts");
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      // The suite's global setup ran the same build: the file the image would run is there.
      expect(existsSync(join(ROOT, program)), program).toBe(true);
    }
  });

  it("bases every stage on one exact slim Debian Node release, never a moving tag", () => {
    for (const stage of stages) expect(stage.image).toMatch(/^node:\d+\.\d+\.\d+-bookworm-slim$/);
    expect(new Set(stages.map((s) => s.image)).size).toBe(1);
  });

  it("installs production dependencies from the lockfile with .npmrc in place", () => {
    const [deps] = stages;
    const copies = of(deps!, "COPY");
    const install = deps!.instructions.findIndex(
      (i) => i.keyword === "RUN" && /\bnpm ci --omit=dev\b/.test(i.args),
    );
    expect(install).toBeGreaterThan(-1);
    const manifests = deps!.instructions.indexOf(copies.find((c) => c.words.includes(".npmrc"))!);
    expect(manifests).toBeGreaterThan(-1);
    expect(manifests).toBeLessThan(install);
    expect(copies[0]!.words.slice(0, -1).sort()).toEqual([".npmrc", "package-lock.json", "package.json"]);
    expect(readFileSync(join(ROOT, ".npmrc"), "utf8")).toMatch(/^onnxruntime-node-install=skip$/m);
  });

  it("removes only packages that are dependencies and that nothing under service/ imports", () => {
    const uninstall = stages[0]!.instructions
      .map((i) => /\bnpm uninstall\s+(.*)$/.exec(i.args)?.[1])
      .find(Boolean)!;
    const removed = uninstall.split(/\s+/).filter((w) => !w.startsWith("-"));
    expect(removed.length).toBeGreaterThan(0);
    for (const name of removed) expect(Object.keys(pkg.dependencies)).toContain(name);
    const imported = serviceSources().flatMap((file) =>
      specifiers(readFileSync(file, "utf8")).map((s) => ({ file: relative(ROOT, file), s })),
    );
    const broken = imported.filter(({ s }) => removed.some((name) => s === name || s.startsWith(`${name}/`)));
    expect(broken).toEqual([]);
  });

  it("compiles service/ whole: nothing in it imports a file outside it", () => {
    const outside = serviceSources().flatMap((file) =>
      specifiers(readFileSync(file, "utf8"))
        .filter((s) => s.startsWith("."))
        .map((s) => relative(ROOT, resolve(dirname(file), s)))
        .filter((target) => !target.startsWith("service/"))
        .map((target) => `${relative(ROOT, file)} -> ${target}`),
    );
    expect(outside).toEqual([]);
  });

  it("runs as a numeric non-root user in the final stage", () => {
    const users = of(runtime, "USER");
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.args.split(":").map(Number);
    expect(users[0]!.args).toMatch(/^\d+:\d+$/);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    // Nothing after USER runs as root again.
    const after = runtime.instructions.slice(runtime.instructions.indexOf(users[0]!));
    expect(after.filter((i) => i.keyword === "RUN")).toEqual([]);
  });

  it("carries the training data: dataset-fashion-mnist at the test-tools pin, installed as root, no apt lists left", () => {
    const runs = of(runtime, "RUN").map((i) => i.args);
    const install = runs.find((r) => r.includes("dataset-fashion-mnist"));
    expect(install).toBeDefined();
    expect(install).toContain(`apt-get install -y --no-install-recommends "${datasetPin()}"`);
    expect(install).toMatch(/&& rm -rf \/var\/lib\/apt\/lists\/\*$/);
    const index = (r: string | undefined) => runtime.instructions.findIndex((i) => i.args === r);
    expect(index(install)).toBeLessThan(runtime.instructions.indexOf(of(runtime, "USER")[0]!));
  });

  it("bakes no model in and copies nothing wholesale", () => {
    const sources = contextSources(stages);
    expect(sources.filter((s) => /(^|\/)models?(\/|$)/.test(s.replace(/^\.\//, "")))).toEqual([]);
    expect(sources).not.toContain(".");
    expect(stages.flatMap((s) => of(s, "ADD"))).toEqual([]);
  });

  it("copies only context paths that exist and that .dockerignore lets through", () => {
    for (const source of contextSources(stages)) {
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      expect(isIgnored(source, dockerignore), source).toBe(false);
    }
  });

  it("exposes the API and metrics ports and listens on all interfaces", () => {
    const ports = of(runtime, "EXPOSE").flatMap((i) => i.words);
    expect(ports).toEqual(["8080", "9464"]);
    // The service defaults to 127.0.0.1, unreachable from outside a container.
    const env = of(runtime, "ENV")
      .map((i) => i.args)
      .join(" ");
    expect(env).toMatch(/\bHOST=0\.0\.0\.0\b/);
    expect(env).toMatch(/\bMETRICS_HOST=0\.0\.0\.0\b/);
  });

  it("starts the compiled service the way `npm start` does (which builds first), without tsx", () => {
    const entrypoints = of(runtime, "ENTRYPOINT");
    expect(entrypoints).toHaveLength(1);
    expect(execForm(entrypoints[0]!)).toEqual(imageCommand("serve"));
    // The build in the script itself: npm skips pre-scripts under ignore-scripts.
    expect(pkg.scripts.start).toBe(`npm run build && ${imageCommand("serve").join(" ")}`);
    expect(execForm(entrypoints[0]!)).not.toContain("tsx");
  });

  it("copies the runtime's files: package.json (dist/ is ES modules) and the admin panel's assets", () => {
    const copied = of(runtime, "COPY")
      .filter((i) => i.flags.from === undefined)
      .map((i) => i.words);
    expect(copied).toEqual([
      ["package.json", "./"],
      ["service/admin", "./service/admin"],
    ]);
    expect(readJson<{ type: string }>("package.json").type).toBe("module");
    expect(readdirSync(join(ROOT, "service/admin")).filter((f) => f.endsWith(".ts"))).toEqual([]);
  });
});

describe(".dockerignore", () => {
  it.each(["node_modules", "out", ".git", "models", "samples", "test", ".tools", "coverage", "README.md"])(
    "keeps %s out of the build context",
    (path) => {
      expect(isIgnored(path, dockerignore)).toBe(true);
    },
  );

  it("keeps nested node_modules out too, and lets the image's sources through", () => {
    expect(isIgnored("service/node_modules/x", dockerignore)).toBe(true);
    expect(isIgnored("service/main.ts", dockerignore)).toBe(false);
    expect(isIgnored("package.json", dockerignore)).toBe(false);
    expect(isIgnored("tsconfig.build.json", dockerignore)).toBe(false);
    // A local build never enters the context: the build stage compiles its own.
    expect(isIgnored("dist", dockerignore)).toBe(true);
  });
});

describe("the Dockerfile reader", () => {
  const text = [
    "# comment",
    "FROM node:20 AS build",
    "COPY --from=other a b ./",
    "RUN echo one \\",
    "    && echo two",
    "FROM scratch",
    "COPY models/ /models",
    "ENTRYPOINT node main.js",
  ].join("\n");
  const parsed = parseDockerfile(text);

  it("splits stages, joins continued lines, and separates COPY flags from sources", () => {
    expect(parsed.map((s) => [s.image, s.name])).toEqual([
      ["node:20", "build"],
      ["scratch", undefined],
    ]);
    expect(parsed[0]!.instructions[1]!.args).toBe("echo one      && echo two");
    expect(contextSources(parsed)).toEqual(["models/"]);
    expect(execForm(parsed[1]!.instructions[1]!)).toBeUndefined();
  });

  it("matches .dockerignore patterns by path segment", () => {
    expect(isIgnored("models/x/model.onnx", "models\n")).toBe(true);
    expect(isIgnored("modelsx", "models\n")).toBe(false);
    expect(isIgnored("a/b/node_modules/c", "**/node_modules\n")).toBe(true);
    expect(isIgnored("docs/x.md", "*.md\n")).toBe(false);
    expect(isIgnored("x.md", "*.md\n")).toBe(true);
    expect(() => isIgnored("a", "!a\n")).toThrow(".dockerignore negations are not supported here");
  });
});
