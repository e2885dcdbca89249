/**
 * The audit trail of admin actions: who did what, when, with what result. Each record goes to the
 * service log (always) and to the JSONL file at AUDIT_LOG_PATH (when set), and is counted by action
 * and result. A failed file write is logged and counted as an error but does not undo the action:
 * the log line still carries the record.
 */
import type { FastifyBaseLogger } from "fastify";
import type { JsonlFile } from "./jsonl-file.js";
import type { ObservabilityMetrics } from "./metrics.js";

export type AuditResult = "ok" | "failed" | "denied";

export interface AuditRecord {
  readonly time: string;
  /** The caller's identity (`key:ops`, `jwt:alice`, `email:alice@example.com`), or `anonymous`. */
  readonly who: string;
  /** e.g. `reload-model`. */
  readonly action: string;
  readonly result: AuditResult;
  readonly requestId?: string;
  /** What was acted on and what came of it (versions, the error). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export class AuditLog {
  /** Actions taken or attempted by an authorised caller. */
  private readonly kept: AuditRecord[] = [];
  /** Refusals, apart: a flood of them must never push real actions out of the panel. */
  private readonly refused: AuditRecord[] = [];
  /**
   * Per refusal kind (caller, action, status, error code, address): when it was last written, how
   * many were folded since, and the last of them.
   */
  private readonly folding = new Map<string, { writtenAtMs: number; folded: number; last: AuditRecord }>();

  constructor(
    private readonly file: JsonlFile | undefined,
    private readonly metrics: ObservabilityMetrics,
    private readonly log: FastifyBaseLogger,
  ) {}

  /**
   * Records an action; resolves once the file write is done (or has failed and been logged). A
   * refusal repeating one written less than {@link REFUSAL_FOLD_MS} ago (same caller, action,
   * status, error code and client address) is counted but not written: the next one written after
   * that carries `detail.folded`, how many were left out, so a flood costs the disk one line a
   * minute. Resolves undefined for a folded refusal.
   */
  async record(entry: Omit<AuditRecord, "time">, time = new Date()): Promise<AuditRecord | undefined> {
    this.metrics.adminActions.labels(entry.action, entry.result).inc();
    let record: AuditRecord = { time: time.toISOString(), ...entry };
    if (entry.result === "denied") {
      // Folded together only what is the same refusal: caller, action, error and address.
      const { status, code, address } = entry.detail ?? {};
      const key = JSON.stringify([entry.who, entry.action, status, code, address]);
      const last = this.folding.get(key);
      if (last !== undefined && time.getTime() - last.writtenAtMs < REFUSAL_FOLD_MS) {
        last.folded += 1;
        last.last = record;
        return undefined;
      }
      if (last !== undefined && last.folded > 0)
        record = { ...record, detail: { ...record.detail, folded: last.folded } };
      this.folding.set(key, { writtenAtMs: time.getTime(), folded: 0, last: record });
      if (this.folding.size > FOLDING_TRACKED) this.folding.delete(this.folding.keys().next().value!);
      keepRecent(this.refused, record, REFUSALS_KEPT);
    } else {
      keepRecent(this.kept, record, RECENT_KEPT);
    }
    this.log.info({ audit: record }, `audit: ${record.who} ${record.action} ${record.result}`);
    try {
      await this.file?.append([record]);
    } catch (err) {
      this.log.error({ err, audit: record, path: this.file?.path }, "audit log write failed");
    }
    return record;
  }

  /**
   * Writes what is folded and not yet written: one record per refusal kind with `detail.folded`,
   * the last refusal's fields otherwise. On shutdown, so a restart loses no count.
   */
  async flushFolded(time = new Date()): Promise<void> {
    const pending = [...this.folding.values()].filter((entry) => entry.folded > 0);
    const records = pending.map((entry): AuditRecord => ({
      ...entry.last,
      time: time.toISOString(),
      detail: { ...entry.last.detail, folded: entry.folded },
    }));
    for (const entry of pending) entry.folded = 0;
    if (records.length === 0) return;
    try {
      await this.file?.append(records);
    } catch (err) {
      this.log.error({ err, path: this.file?.path }, "audit log write failed");
    }
  }

  /** The newest records, oldest first (for the ops summary and the panel): actions and refusals apart. */
  recent(): { readonly actions: readonly AuditRecord[]; readonly refusals: readonly AuditRecord[] } {
    return { actions: [...this.kept], refusals: [...this.refused] };
  }
}

function keepRecent(records: AuditRecord[], record: AuditRecord, max: number): void {
  records.push(record);
  if (records.length > max) records.shift();
}

/** Actions kept in memory for the panel. */
const RECENT_KEPT = 50;
/** Refusals kept in memory for the panel. */
const REFUSALS_KEPT = 20;
/** A repeated refusal is written at most once per this long. */
export const REFUSAL_FOLD_MS = 60_000;
/** Callers whose refusals are being folded, at most (the oldest is forgotten first). */
const FOLDING_TRACKED = 10_000;
