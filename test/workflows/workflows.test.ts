/** Every workflow file: its shape, the npm scripts it calls, its action pins, its Node.js version. */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ROOT,
  missingScriptProblems,
  nodeVersions,
  npmScriptsCalled,
  packageScripts,
  parseWorkflow,
  pinConsistencyProblems,
  pinProblems,
  readWorkflow,
  structureProblems,
  workflowNames,
} from "./workflow-files.js";

const files = workflowNames().map(readWorkflow);

describe("the workflow files", () => {
  it("are the CI, preview and shared policy-report workflows", () => {
    expect(workflowNames()).toEqual(expect.arrayContaining(["ci.yml", "policy-report.yml", "preview.yml"]));
  });

  it.each(files.map((f) => [f.path, f] as const))(
    "%s has triggers, permissions and runnable jobs",
    (_, file) => {
      expect(structureProblems(file)).toEqual([]);
    },
  );

  it.each(files.map((f) => [f.path, f] as const))(
    "%s calls only npm scripts that package.json defines",
    (_, file) => {
      expect(missingScriptProblems(file, packageScripts())).toEqual([]);
    },
  );

  it.each(files.map((f) => [f.path, f] as const))("%s pins every third-party action", (_, file) => {
    expect(pinProblems(file)).toEqual([]);
  });

  it("pins each action at one SHA across all files", () => {
    expect(pinConsistencyProblems(files)).toEqual([]);
  });

  it("runs one Node.js version everywhere, the Dockerfile's, within package.json engines", () => {
    const versions = new Set(files.flatMap(nodeVersions));
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    for (const [, version] of dockerfile.matchAll(/^FROM node:([\d.]+)-/gm)) versions.add(version!);
    expect([...versions]).toHaveLength(1);
    const [version = ""] = versions;
    const engines = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).engines.node as string;
    const floor = /^>=(\d+)\.(\d+)$/.exec(engines);
    expect(floor, `engines.node "${engines}" is not of the form >=MAJOR.MINOR`).not.toBeNull();
    const [major, minor] = version.split(".").map(Number);
    expect(major).toBe(Number(floor![1]));
    expect(minor).toBeGreaterThanOrEqual(Number(floor![2]));
  });
});

describe("the checks themselves catch what they guard", () => {
  const broken = parseWorkflow(
    "broken.yml",
    [
      "name: broken",
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-24.04",
      "    steps:",
      "      - uses: actions/checkout@v4",
      "      - uses: actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020",
      "      - uses: acme/tool@1.2.3",
      "      - run: npm ci && npm run --silent nope && npm test",
      "  nothing:",
      "    runs-on: ubuntu-24.04",
      "    timeout-minutes: 5",
      "  remote:",
      "    uses: acme/workflows/.github/workflows/x.yml@main",
    ].join("\n"),
  );

  it("reports a missing permissions block, timeout, steps, and remote reusable workflow", () => {
    expect(structureProblems(broken)).toEqual([
      "broken.yml: no top-level `permissions` block (the token would get the repository default)",
      "broken.yml job build: no timeout-minutes (default is 6 hours)",
      "broken.yml job nothing: no steps",
      "broken.yml job remote: calls a remote reusable workflow acme/workflows/.github/workflows/x.yml@main",
    ]);
  });

  it("finds scripts in `npm run`, `npm run --flag` and `npm test`, and reports the missing one", () => {
    expect(
      npmScriptsCalled("npm ci && npm run lint && npm run --silent render -- staging; npm test"),
    ).toEqual(["lint", "render", "test"]);
    expect(missingScriptProblems(broken, { test: "x" })).toEqual([
      'broken.yml job build: calls npm script "nope", which package.json does not define',
    ]);
  });

  it("rejects a moving tag and a SHA without its version comment, accepts an exact tag", () => {
    expect(pinProblems(broken)).toEqual([
      "broken.yml: acme/workflows/.github/workflows/x.yml@main is not pinned to a commit SHA or an exact version",
      "broken.yml: actions/checkout@v4 is not pinned to a commit SHA or an exact version",
      "broken.yml: actions/setup-node is pinned by SHA without its exact version in a comment (# vX.Y.Z)",
    ]);
  });

  it("reports one action pinned at two SHAs", () => {
    const other = parseWorkflow(
      "other.yml",
      "jobs:\n  a:\n    steps:\n      - uses: actions/setup-node@820762786026740c76f36085b0efc47a31fe5020 # v7.0.0\n",
    );
    expect(pinConsistencyProblems([broken, other])).toEqual([
      "actions/setup-node is pinned at both 49933ea5288caeca8642d1e84afbd3f7d6820020 and 820762786026740c76f36085b0efc47a31fe5020 (other.yml)",
    ]);
  });
});
