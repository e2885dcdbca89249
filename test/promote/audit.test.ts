/** The audit log: who and when, what a rollback undoes, and a corrupt line named by number. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  appendAudit,
  currentUser,
  entryModel,
  newEntry,
  readAudit,
  rollbackTarget,
  type AuditEntry,
} from "../../infra/promote/audit.js";
import type { Rollout } from "../../infra/promote/transitions.js";

const dir = await mkdtemp(path.join(tmpdir(), "plinth-audit-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const canary = (weight: number): Rollout => ({
  strategy: "canary",
  stable: { modelVersion: "6" },
  candidate: { modelVersion: "7", weight },
});

function entry(
  id: string,
  stack: string,
  kind: AuditEntry["kind"],
  reverts?: string,
  model?: string,
): AuditEntry {
  return {
    id,
    at: "2026-01-01T00:00:00.000Z",
    who: "alice",
    stack,
    ...(model ? { model } : {}),
    kind,
    step: kind,
    before: canary(10),
    after: canary(25),
    gateSet: null,
    gates: [],
    forced: false,
    ...(reverts ? { reverts } : {}),
  };
}

describe("who", () => {
  it("is the GitHub actor in CI, else USER", () => {
    expect(currentUser({ GITHUB_ACTOR: "octocat", USER: "runner" })).toBe("octocat");
    expect(currentUser({ USER: "alice" })).toBe("alice");
  });

  it("stamps id, time and user on a new entry", () => {
    const made = newEntry(
      {
        stack: "staging",
        kind: "promote",
        step: "--promote",
        before: canary(100),
        after: canary(100),
        gateSet: "canary",
        gates: [],
        forced: false,
      },
      { USER: "alice" },
    );
    expect(made.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(made.at)).not.toBeNaN();
    expect(made.who).toBe("alice");
  });
});

describe("rollback target", () => {
  it("is the newest step of the stack not yet rolled back; repeated rollbacks walk back", () => {
    const log = [
      entry("a", "staging", "canary"),
      entry("b", "staging", "weight"),
      entry("p", "production", "switch"),
      entry("c", "staging", "weight"),
      entry("r1", "staging", "rollback", "c"),
    ];
    const of = (stack: string) => ({ stack, model: "fashion-mnist", defaultModel: "fashion-mnist" });
    expect(rollbackTarget(log, of("staging"))?.id).toBe("b");
    expect(rollbackTarget([...log, entry("r2", "staging", "rollback", "b")], of("staging"))?.id).toBe("a");
    expect(rollbackTarget(log, of("production"))?.id).toBe("p");
    expect(rollbackTarget(log, of("qa"))).toBeUndefined();
  });

  it("is per model: another model's steps and rollbacks are not on its stack", () => {
    const log = [
      entry("c1", "staging", "canary", undefined, "churn"),
      entry("d1", "staging", "shadow", undefined, "defects"),
      entry("c2", "staging", "weight", undefined, "churn"),
      entry("d2", "staging", "canary", undefined, "defects"),
      entry("x1", "production", "weight", undefined, "churn"),
      entry("rd", "staging", "rollback", "d2", "defects"),
    ];
    const of = (model: string) => ({ stack: "staging", model, defaultModel: "fashion-mnist" });
    expect(rollbackTarget(log, of("churn"))?.id).toBe("c2");
    expect(rollbackTarget(log, of("defects"))?.id).toBe("d1");
    expect(rollbackTarget([...log, entry("rc", "staging", "rollback", "c2", "churn")], of("churn"))?.id).toBe(
      "c1",
    );
    expect(rollbackTarget(log, of("fashion-mnist"))).toBeUndefined();
  });

  it("gives the lines written before `model` to the stack's default model", () => {
    const log = [
      entry("old", "staging", "canary"),
      entry("new", "staging", "weight", undefined, "churn"),
      entry("older-rollback", "staging", "rollback", "missing"),
    ];
    expect(
      rollbackTarget(log, { stack: "staging", model: "fashion-mnist", defaultModel: "fashion-mnist" })?.id,
    ).toBe("old");
    expect(
      rollbackTarget(log, { stack: "staging", model: "fashion-mnist", defaultModel: "churn" }),
    ).toBeUndefined();
    expect(rollbackTarget(log, { stack: "staging", model: "churn", defaultModel: "churn" })?.id).toBe("new");
    expect(entryModel({}, "fashion-mnist")).toBe("fashion-mnist");
    expect(entryModel({ model: "churn" }, "fashion-mnist")).toBe("churn");
  });
});

describe("the file", () => {
  it("appends one JSON line per entry, creating its folder", async () => {
    const file = path.join(dir, "releases", "audit.jsonl");
    await appendAudit(file, entry("a", "staging", "canary"));
    await appendAudit(file, entry("b", "staging", "weight"));
    expect((await readAudit(file)).map((e) => e.id)).toEqual(["a", "b"]);
  });

  it("is an empty log when missing", async () => {
    expect(await readAudit(path.join(dir, "none.jsonl"))).toEqual([]);
  });

  it("names a corrupt line by number", async () => {
    const file = path.join(dir, "corrupt.jsonl");
    await writeFile(file, `${JSON.stringify(entry("a", "staging", "canary"))}\n{"id": \n`);
    await expect(readAudit(file)).rejects.toThrow(`${file}:2: not a JSON audit line`);
  });
});
