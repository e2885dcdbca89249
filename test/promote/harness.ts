/**
 * The promote CLI in process, on a scratch folder of stack files: what it printed, its exit code,
 * and the audit log it wrote. One harness for the promote tests (the live ones pass Prometheus).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { AuditEntry } from "../../infra/promote/audit.js";
import { promote, type MetricsSource } from "../../infra/promote/main.js";

export interface PromoteRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `promote --dir <dir> ...argv` as `env`'s user; `metrics` stands for Prometheus where given. */
export async function runPromote(
  dir: string,
  argv: readonly string[],
  options: { env?: Record<string, string>; metrics?: MetricsSource } = {},
): Promise<PromoteRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await promote(
    ["--dir", dir, ...argv],
    options.env ?? { USER: "alice" },
    { out: (l) => out.push(l), err: (l) => err.push(l) },
    options.metrics,
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** The audit log's entries, oldest first (none before the first step). */
export async function auditEntries(dir: string): Promise<AuditEntry[]> {
  const text = await readFile(path.join(dir, "releases/audit.jsonl"), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEntry);
}
