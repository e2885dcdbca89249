/** What `npm run promote` prints: the rollout before and after, and a table of gate results. */
import type { GateResult } from "./gates.js";
import type { Rollout } from "./transitions.js";

export function describeRollout(rollout: Rollout): string {
  const stable = `stable ${rollout.stable.modelVersion}`;
  const { candidate, blueGreen } = rollout;
  switch (rollout.strategy) {
    case "canary":
      return `canary: ${stable}, candidate ${candidate?.modelVersion} at ${candidate?.weight}%`;
    case "shadow":
      return `shadow: ${stable}, candidate ${candidate?.modelVersion} scoring ${candidate?.shadowPercent}% of requests`;
    case "blue-green":
      return `blue-green: blue ${blueGreen?.blue.modelVersion}, green ${blueGreen?.green.modelVersion}, active ${blueGreen?.active}`;
    default:
      return `single: ${stable}`;
  }
}

function formatValue(result: GateResult): string {
  if (result.value === null) return "-";
  return String(Number(result.value.toPrecision(3)));
}

/** One aligned line per gate: verdict, name, value, bound, and the numbers behind it. */
export function gateTable(results: readonly GateResult[]): string[] {
  const rows = results.map((r) => [r.verdict.toUpperCase(), r.gate, formatValue(r), r.threshold, r.detail]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i < 4 ? cell.padEnd(widths[i]!) : cell))
      .join("  ")
      .trimEnd(),
  );
}
