/** The policy report as a plain-text table: policy, resource, level, message. */
import type { Violation } from "./evaluate.js";

/** `kubernetes:apps/v1:Deployment::inference` from a URN, or "(stack)" for stack-level findings. */
export function resourceLabel(urn: string | undefined): string {
  if (!urn) return "(stack)";
  const parts = urn.split("::");
  const type = (parts[2] ?? "").split("$").pop() ?? "";
  return `${type}::${parts[3] ?? ""}`;
}

export function formatReport(violations: Violation[]): string {
  if (violations.length === 0) return "No policy violations.";
  const rows = violations.map((v) => [v.policy, resourceLabel(v.urn), v.level, v.message]);
  const header = ["POLICY", "RESOURCE", "LEVEL", "MESSAGE"];
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join("  ");
  const mandatory = violations.filter((v) => v.level === "mandatory").length;
  return [
    line(header),
    ...rows.map(line),
    "",
    `${violations.length} violation(s), ${mandatory} mandatory.`,
  ].join("\n");
}
