/**
 * The release audit log: one JSON line per step written to a stack file, committed with it
 * (default `releases/audit.jsonl`). Each line keeps the model's rollout before and after the step,
 * so a rollback needs no git history: it restores the `before` of the newest step of that stack
 * and model not yet rolled back.
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
  /**
   * The model whose rollout the step moved. Lines written before stacks served several models have
   * none: they belong to the stack's default model (see entryModel).
   */
  readonly model?: string;
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

/** The model an entry's step moved; a line without one (older than `model`) is the default model's. */
export function entryModel(entry: Pick<AuditEntry, "model">, defaultModel: string): string {
  return entry.model ?? defaultModel;
}

/** Which steps a rollback or recheck looks at: one model's of one stack. */
export interface RolloutOf {
  readonly stack: string;
  readonly model: string;
  /** The stack's default model, which owns the lines that name no model. */
  readonly defaultModel: string;
}

/**
 * The step a rollback of `of.model` on `of.stack` undoes: the log is a stack of steps per stack and
 * model, and a rollback pops the one it reverts, so repeated rollbacks walk back one step at a time.
 */
export function rollbackTarget(entries: readonly AuditEntry[], of: RolloutOf): AuditEntry | undefined {
  const open: AuditEntry[] = [];
  for (const entry of entries) {
    if (entry.stack !== of.stack || entryModel(entry, of.defaultModel) !== of.model) continue;
    if (entry.kind === "rollback") {
      const index = open.findIndex((e) => e.id === entry.reverts);
      if (index >= 0) open.splice(index, 1);
    } else {
      open.push(entry);
    }
  }
  return open.at(-1);
}

/**
 * The model whose open step is the stack's newest (what `--rollback` and `--recheck` without
 * `--model` act on in a stack of several models); undefined when no step is open.
 */
export function newestStepModel(
  entries: readonly AuditEntry[],
  stack: string,
  models: readonly string[],
  defaultModel: string,
): string | undefined {
  let newest: { model: string; index: number } | undefined;
  for (const model of models) {
    const target = rollbackTarget(entries, { stack, model, defaultModel });
    const index = target === undefined ? -1 : entries.indexOf(target);
    if (index >= 0 && (newest === undefined || index > newest.index)) newest = { model, index };
  }
  return newest?.model;
}
