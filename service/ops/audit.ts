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
  private readonly kept: AuditRecord[] = [];

  constructor(
    private readonly file: JsonlFile | undefined,
    private readonly metrics: ObservabilityMetrics,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Records an action; resolves once the file write is done (or has failed and been logged). */
  async record(entry: Omit<AuditRecord, "time">, time = new Date()): Promise<AuditRecord> {
    const record: AuditRecord = { time: time.toISOString(), ...entry };
    this.kept.push(record);
    if (this.kept.length > RECENT_KEPT) this.kept.shift();
    this.metrics.adminActions.labels(record.action, record.result).inc();
    this.log.info({ audit: record }, `audit: ${record.who} ${record.action} ${record.result}`);
    try {
      await this.file?.append([record]);
    } catch (err) {
      this.log.error({ err, audit: record, path: this.file?.path }, "audit log write failed");
    }
    return record;
  }

  /** The newest records, oldest first (for the ops summary and the panel). */
  recent(): readonly AuditRecord[] {
    return [...this.kept];
  }
}

/** Records kept in memory for the panel. */
const RECENT_KEPT = 50;
