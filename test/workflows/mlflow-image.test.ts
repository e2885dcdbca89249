/**
 * plinth's MLflow image, checked from components/mlflow/image/Dockerfile (no Docker engine here):
 * it installs exactly its frozen requirements, those are the pins the tests' MLflow runs with, and
 * the stacks deploy the MLflow release it installs.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { MLFLOW_SERVER_ENV } from "../../components/mlflow/server-env.js";
import { execForm, parseDockerfile } from "./dockerfile.js";
import { ROOT, repoStacks } from "./workflow-files.js";

const IMAGE_DIR = "components/mlflow/image";
const TEST_REQUIREMENTS = "test/support/mlflow-requirements.txt";
const stages = parseDockerfile(readFileSync(join(ROOT, IMAGE_DIR, "Dockerfile"), "utf8"));
const image = stages.at(-1)!;
const of = (keyword: string) => image.instructions.filter((i) => i.keyword === keyword);

/** A requirements file's lines that are not comments or blank. */
function requirementLines(path: string): string[] {
  return readFileSync(join(ROOT, path), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** `name==version` lines (with their extras, if any) by normalised project name (PEP 503). */
function pins(path: string): Map<string, string> {
  const byName = new Map<string, string>();
  for (const line of requirementLines(path)) {
    const name = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==[^\s=]+$/.exec(line)?.[1];
    if (name === undefined) throw new Error(`${path}: "${line}" is not an exact pin (name==version)`);
    byName.set(name.toLowerCase().replace(/[-_.]+/g, "-"), line);
  }
  return byName;
}

const imagePins = pins(`${IMAGE_DIR}/requirements.txt`);
const mlflowVersion = imagePins.get("mlflow")?.split("==")[1];

describe("the MLflow image's Dockerfile", () => {
  it("is one stage on a Python 3.11 slim Debian bookworm base, by tag", () => {
    expect(stages).toHaveLength(1);
    expect(image.image).toBe("python:3.11-slim-bookworm");
  });

  it("installs exactly its requirements.txt, with --no-deps, and nothing else", () => {
    const copies = of("COPY");
    expect(copies).toHaveLength(1);
    expect(copies[0]!.words.slice(0, -1)).toEqual(["requirements.txt"]);
    expect(existsSync(join(ROOT, IMAGE_DIR, "requirements.txt"))).toBe(true);
    const destination = copies[0]!.words.at(-1)!;
    const installs = of("RUN").filter((i) => /\bpip3? install\b/.test(i.args));
    expect(installs).toHaveLength(1);
    const words = installs[0]!.args.split(/\s+/);
    const flags = words.slice(words.indexOf("install") + 1);
    expect(flags).toContain("--no-deps");
    expect(flags[flags.indexOf("-r") + 1]).toBe(destination);
    // No package named on the command line: the file is the whole install.
    expect(flags.filter((w) => !w.startsWith("-") && w !== destination)).toEqual([]);
    expect(of("ADD")).toEqual([]);
  });

  it("runs as the numeric non-root 10001:10001, and nothing runs as root after that", () => {
    const users = of("USER");
    expect(users.map((u) => u.args)).toEqual(["10001:10001"]);
    const after = image.instructions.slice(image.instructions.indexOf(users[0]!));
    expect(after.filter((i) => i.keyword === "RUN")).toEqual([]);
  });

  it("works on a read-only root filesystem: HOME, TMPDIR and the working directory in /tmp, no bytecode written", () => {
    const env = of("ENV")
      .map((i) => i.args)
      .join(" ");
    expect(env).toMatch(/\bHOME=\/tmp\b/);
    expect(env).toMatch(/\bTMPDIR=\/tmp\b/);
    expect(env).toMatch(/\bPYTHONDONTWRITEBYTECODE=1\b/);
    expect(of("WORKDIR").map((i) => i.args)).toEqual(["/tmp"]);
  });

  it("carries the environment of every MLflow server plinth starts", () => {
    const env = of("ENV")
      .map((i) => i.args)
      .join(" ");
    for (const [name, value] of Object.entries(MLFLOW_SERVER_ENV))
      expect(env).toMatch(new RegExp(`\\b${name}=${value}\\b`));
  });

  it("starts `mlflow` itself, with no shell in between", () => {
    const entrypoints = of("ENTRYPOINT");
    expect(entrypoints).toHaveLength(1);
    expect(execForm(entrypoints[0]!)).toEqual(["mlflow"]);
    for (const cmd of of("CMD")) expect(execForm(cmd)).toBeDefined();
  });
});

describe("the MLflow image's requirements", () => {
  it("pin every package exactly: mlflow with the PostgreSQL driver SQLAlchemy uses for postgresql:// (psycopg 3) and the S3 and GCS clients", () => {
    expect(mlflowVersion).toMatch(/^\d+\.\d+\.\d+$/);
    for (const name of [
      "mlflow",
      "mlflow-skinny",
      "psycopg",
      "psycopg-binary",
      "boto3",
      "google-cloud-storage",
    ])
      expect(imagePins.has(name), name).toBe(true);
  });

  it("are pinned identically in the tests' MLflow venv: same version, same extras", () => {
    const testPins = pins(TEST_REQUIREMENTS);
    const differing = [...imagePins].filter(([name, line]) => testPins.get(name) !== line);
    expect(
      differing.map(([name, line]) => `${line} (tests: ${testPins.get(name) ?? "missing"})`),
      `every pin of ${IMAGE_DIR}/requirements.txt must be in ${TEST_REQUIREMENTS} as it is`,
    ).toEqual([]);
  });

  it.each(repoStacks())("are the MLflow release stack %s deploys (plinth:mlflow.image)", (stack) => {
    const doc = parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
      config?: Record<string, { image?: string } | undefined>;
    };
    const ref = doc.config?.["plinth:mlflow"]?.image;
    expect(ref).toBeDefined();
    const match = /^([^@]+):([^:@/]+)@sha256:[0-9a-f]{64}$/.exec(ref!);
    expect(match, `${ref} is not repository:tag@sha256:<64 hex>`).not.toBeNull();
    expect(match![1]).toBe("ghcr.io/plinth-ml/mlflow");
    expect(match![2]).toBe(mlflowVersion);
  });
});
