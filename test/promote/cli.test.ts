/**
 * `npm run promote` end to end on copies of the real stack files: exit codes, what is written
 * and when, the audit line, rollback to the exact previous bytes, and the messages of refusals.
 * Gated steps here have no Prometheus, so their gates are inconclusive (the live test has one).
 */
import { spawnSync } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { auditEntries, runPromote } from "./harness.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "plinth-promote-cli-"));
  for (const stack of ["staging", "production"]) {
    await copyFile(path.join(REPO, `Pulumi.${stack}.yaml`), path.join(dir, `Pulumi.${stack}.yaml`));
  }
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const run = (...argv: string[]) => runPromote(dir, argv);

const stackText = (stack: string) => readFile(path.join(dir, `Pulumi.${stack}.yaml`), "utf8");
const original = (stack: string) => readFile(path.join(REPO, `Pulumi.${stack}.yaml`), "utf8");
const audit = () => auditEntries(dir);

describe("refusals write nothing", () => {
  it("an illegal step exits 2 with its reason", async () => {
    const result = await run("--stack", "staging", "--switch", "green");
    expect(result).toMatchObject({
      code: 2,
      err: 'promote: illegal step: plinth:inference.models.fashion-classifier.rollout.strategy is "canary": --switch green needs blue-green',
    });
    expect(await stackText("staging")).toBe(await original("staging"));
    expect(await audit()).toEqual([]);
  });

  it("a usage error exits 2 with the usage", async () => {
    const result = await run("--stack", "staging");
    expect(result.code).toBe(2);
    expect(result.err).toMatch(
      /^promote: no step: give one of .*\n\nusage: npm run promote -- --stack <stack> \[--model <name>\] <step>/,
    );
  });

  it("--help prints the usage and exits 0", async () => {
    const result = await run("--help");
    expect(result.code).toBe(0);
    expect(result.out).toMatch(
      /^usage: npm run promote -- --stack <stack> \[--model <name>\] <step> \[options\]/,
    );
    expect(result.out).toMatch(
      /\n {2}--model <name> +the model whose rollout the step moves .*\n +required when the stack serves more than one, optional with one\n/,
    );
  });

  it("a missing stack file exits 2 naming it", async () => {
    const result = await run("--stack", "qa", "--promote");
    expect(result).toMatchObject({
      code: 2,
      err: `promote: ${path.join(dir, "Pulumi.qa.yaml")}: no such stack file (is --stack right?)`,
    });
  });

  it("an invalid stack file exits 2 listing its problems", async () => {
    const broken = (await original("staging")).replace("weight: 20", "weight: 120");
    await writeFile(path.join(dir, "Pulumi.staging.yaml"), broken);
    const result = await run("--stack", "staging", "--weight", "25");
    expect(result.code).toBe(2);
    expect(result.err).toContain(
      "plinth:inference.models.fashion-classifier.rollout.candidate.weight: expected a number between 0 and 100",
    );
  });

  it("a gated step without Prometheus is inconclusive and blocked (exit 1)", async () => {
    const result = await run("--stack", "staging", "--weight", "25");
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/INCONCLUSIVE +error-rate +- +<= 0\.01 +PROMETHEUS_URL is not set/);
    expect(result.out).toContain("BLOCKED by error-rate inconclusive, p95-vs-stable inconclusive");
    expect(await stackText("staging")).toBe(await original("staging"));
    expect(await audit()).toEqual([]);
  });

  it("--dry-run with --force prints the plan and writes nothing", async () => {
    const result = await run("--stack", "staging", "--weight", "25", "--force", "--dry-run");
    expect(result.code).toBe(0);
    expect(result.out).toContain("  after:  canary: stable champion, candidate challenger at 25%");
    expect(result.out).toContain("dry run:");
    expect(await stackText("staging")).toBe(await original("staging"));
    expect(await audit()).toEqual([]);
  });
});

describe("steps that are written", () => {
  it("--force writes a blocked step and records it, with the gates it overrode", async () => {
    const result = await run("--stack", "staging", "--weight", "25", "--force", "--reason", "metrics outage");
    expect(result.code).toBe(0);
    expect(result.out).toContain("FORCED past error-rate inconclusive");
    expect(result.out).toContain("    pulumi up --stack staging");
    expect(await stackText("staging")).toContain("candidate: { modelVersion: challenger, weight: 25 }");
    const [entry] = await audit();
    expect(entry).toMatchObject({
      who: "alice",
      stack: "staging",
      kind: "weight",
      step: "--weight 25",
      before: { candidate: { weight: 20 } },
      after: { candidate: { weight: 25 } },
      gateSet: "canary",
      forced: true,
      reason: "metrics outage",
    });
    expect(entry!.gates.map((g) => g.verdict)).toEqual(Array(5).fill("inconclusive"));
  });

  it("an ungated step writes without Prometheus: lowering the weight", async () => {
    expect((await run("--stack", "staging", "--weight", "10")).code).toBe(0);
    expect((await audit()).map((e) => [e.stack, e.step, e.forced])).toEqual([
      ["staging", "--weight 10", false],
    ]);
  });

  it("a blue-green switch is gated on the idle colour's pods: blocked without Prometheus, written with --force", async () => {
    const blocked = await run("--stack", "production", "--switch", "green");
    expect(blocked.code).toBe(1);
    expect(blocked.out).toContain(
      "gates: blue-green, window 15m, PROMETHEUS_URL not set (green serves no traffic yet",
    );
    expect(blocked.out).toMatch(/INCONCLUSIVE +idle-ready +- +all pods +PROMETHEUS_URL is not set/);
    expect(await stackText("production")).toBe(await original("production"));
    const forced = await run(
      "--stack",
      "production",
      "--switch",
      "green",
      "--force",
      "--reason",
      "first deploy",
    );
    expect(forced.code).toBe(0);
    expect(await stackText("production")).toContain("        active: green\n");
    expect((await audit()).map((e) => [e.stack, e.step, e.gateSet, e.forced])).toEqual([
      ["production", "--switch green", "blue-green", true],
    ]);
  });

  it("--rollback restores the exact previous bytes, one step at a time, then has nothing left", async () => {
    await run("--stack", "staging", "--weight", "25", "--force");
    await run("--stack", "staging", "--weight", "10");
    const first = await run("--stack", "staging", "--rollback");
    expect(first.code).toBe(0);
    expect(await stackText("staging")).toContain("weight: 25 }");
    expect((await run("--stack", "staging", "--rollback")).code).toBe(0);
    expect(await stackText("staging")).toBe(await original("staging"));
    const entries = await audit();
    expect(entries.map((e) => e.kind)).toEqual(["weight", "weight", "rollback", "rollback"]);
    expect(entries[2]!.reverts).toBe(entries[1]!.id);
    expect(entries[3]!.reverts).toBe(entries[0]!.id);
    const none = await run("--stack", "staging", "--rollback");
    expect(none.code).toBe(2);
    expect(none.err).toBe(
      `promote: illegal step: no promote step of this stack recorded for plinth:inference.models.fashion-classifier.rollout in ${path.join(dir, "releases/audit.jsonl")}: nothing to roll back`,
    );
  });

  it("--rollback refuses a rollout edited by hand after the recorded step", async () => {
    await run("--stack", "staging", "--weight", "10");
    const edited = (await stackText("staging")).replace("weight: 10", "weight: 15");
    await writeFile(path.join(dir, "Pulumi.staging.yaml"), edited);
    const result = await run("--stack", "staging", "--rollback");
    expect(result.code).toBe(2);
    expect(result.err).toMatch(
      /plinth:inference\.models\.fashion-classifier\.rollout is not what the last recorded step \(--weight 10, [0-9a-f-]{36}\) wrote/,
    );
    expect(await stackText("staging")).toBe(edited);
  });
});

describe("checks write nothing", () => {
  it("--check-only on blue-green reads stable's gates and blocks without data", async () => {
    const result = await run("--stack", "production", "--check-only");
    expect(result.code).toBe(1);
    expect(result.out).toContain("gates: stable, window 15m, PROMETHEUS_URL not set");
    expect(result.out).toMatch(/INCONCLUSIVE +p99-vs-slo +- +<= 100 ms/);
    expect(await audit()).toEqual([]);
  });

  it("--recheck re-evaluates the newest recorded step's gates: the colour a switch made active", async () => {
    await run("--stack", "production", "--switch", "green", "--force");
    const result = await run("--stack", "production", "--recheck");
    expect(result.code).toBe(1);
    expect(result.out).toMatch(
      /gates: blue-green, window 15m, PROMETHEUS_URL not set \(the gates of --switch green \([0-9a-f-]{36}, .*\), measured again now\)/,
    );
    expect(result.out).toMatch(/INCONCLUSIVE +idle-version +- +version 7 /);
  });

  it("--recheck of a forced canary step blocks again until the metrics pass", async () => {
    await run("--stack", "staging", "--weight", "25", "--force");
    const result = await run("--stack", "staging", "--recheck");
    expect(result.code).toBe(1);
    expect(result.out).toContain("gates: canary");
  });
});

describe("the npm script", () => {
  it("runs the CLI and exits 2 on an illegal step", () => {
    const child = spawnSync(
      "npm",
      ["run", "--silent", "promote", "--", "--dir", dir, "--stack", "production", "--weight", "25"],
      {
        cwd: REPO,
        encoding: "utf8",
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
        timeout: 60_000,
      },
    );
    expect(child.status).toBe(2);
    expect(child.stderr).toContain(
      'promote: illegal step: plinth:inference.models.fashion-classifier.rollout.strategy is "blue-green": --weight 25 needs a canary',
    );
  });
});
