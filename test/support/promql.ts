/**
 * Metric names referenced by a PromQL expression: what is left once strings, label matchers,
 * range selectors, grouping clauses, function calls, keywords and numbers are removed.
 */
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "inf",
  "nan",
]);

export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const token = match[0];
    const next = stripped.slice((match.index ?? 0) + token.length).trimStart();
    if (next.startsWith("(") || KEYWORDS.has(token.toLowerCase())) continue;
    names.add(token);
  }
  return [...names];
}

/** A histogram's series (`_bucket`, `_count`, `_sum`) belong to the histogram's name. */
export function baseMetricName(name: string): string {
  return name.replace(/_(bucket|count|sum)$/, "");
}
