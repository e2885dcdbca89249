/**
 * Issue #18: Cloud SQL refuses point-in-time recovery whose transaction-log retention is not below
 * the backups retained, so both stacks, rendered for gcp, set it explicitly and below retainedBackups.
 */
import { describe, expect, it } from "vitest";
import { renderStack } from "../../infra/render/index.js";
import { at, StackView } from "../support/stack.js";

// Staging sets 2 days against 3 backups; production keeps the default 7 against 14.
const stacks = [
  { stack: "staging", retainedBackups: 3, logDays: 2 },
  { stack: "production", retainedBackups: 14, logDays: 7 },
] as const;

describe.each(stacks)("$stack on gcp: Cloud SQL backups", ({ stack, retainedBackups, logDays }) => {
  it("keeps point-in-time recovery logs explicitly, fewer days than the backups retained", async () => {
    // Out of process: the in-process render runs once per test file.
    const view = new StackView(await renderStack({ stack, cloud: "gcp" }));
    const db = view.one("gcp:sql/databaseInstance:DatabaseInstance", "mlflow-db");
    expect(at(db.inputs, "settings.backupConfiguration")).toEqual(
      expect.objectContaining({
        enabled: true,
        pointInTimeRecoveryEnabled: true,
        transactionLogRetentionDays: logDays,
        backupRetentionSettings: { retainedBackups, retentionUnit: "COUNT" },
      }),
    );
    expect(logDays).toBeLessThan(retainedBackups);
  });
});
