import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog, REFUSAL_FOLD_MS, type AuditRecord } from "../../../service/ops/audit.js";
import { JsonlFile } from "../../../service/ops/jsonl-file.js";
import { ObservabilityMetrics } from "../../../service/ops/metrics.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "plinth-audit-log-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function auditLog(file: string) {
  const metrics = new ObservabilityMetrics(new Registry());
  return { audit: new AuditLog(new JsonlFile(file, 1e6), metrics, pino({ level: "silent" })), metrics };
}

const denied = (who: string, status: number) => ({
  who,
  action: "reload-model",
  result: "denied" as const,
  detail: { status, reason: "no" },
});

async function lines(file: string): Promise<AuditRecord[]> {
  return (await readFile(file, "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as AuditRecord);
}

describe("AuditLog", () => {
  it("writes a repeated refusal once a minute, carrying how many were folded, and counts every one", async () => {
    const file = path.join(dir, "fold.jsonl");
    const { audit, metrics } = auditLog(file);
    const t0 = Date.parse("2026-12-04T10:00:00Z");
    // 500 refusals 200 ms apart (100 s): written at t0 and at t0 + 60 s, the 299 between folded.
    for (let i = 0; i < 500; i++) await audit.record(denied("anonymous", 401), new Date(t0 + i * 200));
    // Another status or caller is its own line.
    await audit.record(denied("anonymous", 403), new Date(t0 + 1000));
    await audit.record(denied("email:mallory@evil.com", 401), new Date(t0 + 1000));
    const written = await lines(file);
    expect(written.map((r) => [r.who, r.detail?.status, r.detail?.folded])).toEqual([
      ["anonymous", 401, undefined],
      ["anonymous", 401, REFUSAL_FOLD_MS / 200 - 1],
      ["anonymous", 403, undefined],
      ["email:mallory@evil.com", 401, undefined],
    ]);
    expect(written[1]!.time).toBe(new Date(t0 + REFUSAL_FOLD_MS).toISOString());
    const counted = (await metrics.adminActions.get()).values.map((v) => [v.labels.result, v.value]);
    expect(counted).toEqual([["denied", 502]]);
  });

  it("writes the folded count on shutdown, so a restart loses none, and only once", async () => {
    const file = path.join(dir, "flush.jsonl");
    const { audit } = auditLog(file);
    const t0 = Date.parse("2026-12-04T12:00:00Z");
    for (let i = 0; i < 5; i++) await audit.record(denied("anonymous", 401), new Date(t0 + i * 1000));
    await audit.flushFolded(new Date(t0 + 10_000));
    await audit.flushFolded(new Date(t0 + 20_000));
    const written = await lines(file);
    expect(written.map((r) => [r.time, r.detail?.folded])).toEqual([
      [new Date(t0).toISOString(), undefined],
      [new Date(t0 + 10_000).toISOString(), 4],
    ]);
  });

  it("keeps refusals apart from actions, so a flood of them leaves every action in view", async () => {
    const { audit } = auditLog(path.join(dir, "apart.jsonl"));
    const t0 = Date.parse("2026-12-04T11:00:00Z");
    await audit.record({ who: "key:ops", action: "reload-model", result: "ok" }, new Date(t0));
    for (let i = 0; i < 100; i++) {
      await audit.record(denied(`anonymous-${i}`, 401), new Date(t0 + 1000 + i));
    }
    const { actions, refusals } = audit.recent();
    expect(actions.map((r) => r.who)).toEqual(["key:ops"]);
    expect(refusals).toHaveLength(20);
    expect(refusals.at(-1)!.who).toBe("anonymous-99");
  });
});
