/**
 * The release audit log: one JSON line per step written to a stack file, committed with it
 * (default `releases/audit.jsonl`). Each line keeps the rollout before and after the step, so a
 * rollback needs no git history: it restores the `before` of the newest step not yet rolled back.
 */
import { randomUUID } from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { dirname } from "node:path";
import type { GateResult, GateSet } from "./gates.js";
import type { Rollout, Step } from "./transitions.js";

export const DEFAULT_AUDIT_LOG = "releases/audit.jsonl";

export interface AuditEntry {
  readonly id: string;
  /** ISO 8601, UTC. */
  readonly at: string;
  /** GITHUB_ACTOR in CI, else USER, else the OS account. */
  readonly who: string;
  readonly stack: string;
  readonly kind: Step["kind"];
  /** The command-line form of the step, e.g. "--weight 25". */
  readonly step: string;
  readonly before: Rollout;
  readonly after: Rollout;
  readonly gateSet: GateSet | null;
  /** Every gate's result, including those that did not apply to the candidate ("not-applicable", with why). */
  readonly gates: readonly GateResult[];
  /** True when --force wrote the step although a gate failed or was inconclusive (not-applicable never blocks). */
  readonly forced: boolean;
  /** --reason, when given. */
  readonly reason?: string;
  /** For a rollback: the id of the step it undid. */
  readonly reverts?: string;
}

export function currentUser(env: NodeJS.ProcessEnv = process.env): string {
  return env.GITHUB_ACTOR || env.USER || userInfo().username;
}

export function newEntry(fields: Omit<AuditEntry, "id" | "at" | "who">, env?: NodeJS.ProcessEnv): AuditEntry {
  return { id: randomUUID(), at: new Date().toISOString(), who: currentUser(env), ...fields };
}

/** Every entry, oldest first; a missing file is an empty log; a corrupt line is an error naming it. */
export async function readAudit(path: string): Promise<AuditEntry[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return text
    .split("\n")
    .map((line, index) => ({ line, index }))
    .filter(({ line }) => line.trim() !== "")
    .map(({ line, index }) => {
      try {
        return JSON.parse(line) as AuditEntry;
      } catch {
        throw new Error(`${path}:${index + 1}: not a JSON audit line`);
      }
    });
}

/** Appends one line; the directory is created on first use. */
export async function appendAudit(path: string, entry: AuditEntry): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await appendFile(path, `${JSON.stringify(entry)}\n`, "utf8");
}

/**
 * The step a rollback of `stack` undoes: the log is a stack of steps, and a rollback pops the one
 * it reverts, so repeated rollbacks walk back one step at a time.
 */
export function rollbackTarget(entries: readonly AuditEntry[], stack: string): AuditEntry | undefined {
  const open: AuditEntry[] = [];
  for (const entry of entries) {
    if (entry.stack !== stack) continue;
    if (entry.kind === "rollback") {
      const index = open.findIndex((e) => e.id === entry.reverts);
      if (index >= 0) open.splice(index, 1);
    } else {
      open.push(entry);
    }
  }
  return open.at(-1);
}
