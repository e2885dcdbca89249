/** Text formatting of figures, ratios, targets and tables for the bench report (Markdown). */
import type { Check, Figure, Target, Unit } from "./checks.js";

/** Significant decimals shrink as values grow: 0.412 ms, 6.12 ms, 48.3 ms, 512 ms. */
function decimalsFor(value: number): number {
  const magnitude = Math.abs(value);
  if (magnitude < 10) return 2;
  if (magnitude < 100) return 1;
  return 0;
}

export function formatNumber(value: number, unit: Unit): string {
  switch (unit) {
    case "req/s":
      return `${Math.round(value).toLocaleString("en-US")} req/s`;
    case "MB":
      return `${value.toFixed(value < 100 ? 1 : 0)} MB`;
    case "ms":
    case "us":
      return `${value.toFixed(decimalsFor(value))} ${unit}`;
  }
}

export function formatFigure(figure: Figure | undefined): string {
  return figure === undefined ? "—" : formatNumber(figure.value, figure.unit);
}

export function formatRatio(ratio: number | undefined): string {
  return ratio === undefined ? "—" : `${ratio.toFixed(ratio < 10 ? 2 : 1)}x`;
}

/** `>= 0.8x` for a ratio target, `<= 10 ms` for a limit. */
export function formatTarget(target: Target): string {
  const value = target.unit === undefined ? `${target.value}x` : `${target.value} ${target.unit}`;
  return `${target.comparator} ${value}`;
}

/** A Markdown table whose columns are padded to equal width, so it also reads well in a terminal. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length), 3));
  const line = (cells: readonly string[]) =>
    `| ${widths.map((w, i) => (cells[i] ?? "").padEnd(w)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

export const CHECK_COLUMNS = ["check", "measured", "reference", "ratio", "target", "result"] as const;

export function checkRow(check: Check): string[] {
  const result = check.notes.length > 0 ? `${check.verdict} (${check.notes.join("; ")})` : check.verdict;
  return [
    check.title,
    formatFigure(check.measured),
    formatFigure(check.reference),
    formatRatio(check.ratio),
    formatTarget(check.target),
    result,
  ];
}

export function checksTable(checks: readonly Check[]): string {
  return markdownTable(CHECK_COLUMNS, checks.map(checkRow));
}
