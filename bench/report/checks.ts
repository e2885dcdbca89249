/**
 * The acceptance checks of the bench: each compares a measured figure with a target, either
 * directly (p99 <= 10 ms) or as a ratio to a reference measured in the same run (service / floor).
 */

export type Unit = "req/s" | "ms" | "us" | "MB";

export interface Figure {
  readonly value: number;
  readonly unit: Unit;
  /** Why the figure may not stand, e.g. failed requests during its phase. */
  readonly caveat?: string;
}

export type Comparator = ">=" | "<=" | "<";

export interface Target {
  readonly comparator: Comparator;
  readonly value: number;
  /** The unit of a limit (`<= 10 ms`); absent for a ratio target (`>= 0.8x`). */
  readonly unit?: Unit;
}

export type Verdict = "PASS" | "FAIL" | "N/A";

export interface Check {
  /** `ratio`: measured / reference against the target; `limit`: measured against it directly. */
  readonly kind: "ratio" | "limit";
  readonly title: string;
  readonly measured: Figure | undefined;
  /** Present for ratio checks: the figure `measured` is divided by. */
  readonly reference: Figure | undefined;
  readonly ratio: number | undefined;
  /** Applies to `ratio` when there is a reference, else to `measured.value` in its unit. */
  readonly target: Target;
  readonly verdict: Verdict;
  readonly notes: readonly string[];
}

export function meets(value: number, target: Target): boolean {
  switch (target.comparator) {
    case ">=":
      return value >= target.value;
    case "<=":
      return value <= target.value;
    case "<":
      return value < target.value;
  }
}

function verdictOf(value: number | undefined, measured: Figure | undefined, target: Target): Verdict {
  if (value === undefined || !Number.isFinite(value)) return "N/A";
  // A figure from a phase with failed requests measured an error path: it cannot pass.
  if (measured?.caveat !== undefined) return "FAIL";
  return meets(value, target) ? "PASS" : "FAIL";
}

function notesOf(measured: Figure | undefined, reference: Figure | undefined, missing: string): string[] {
  const notes: string[] = [];
  if (measured?.caveat !== undefined) notes.push(measured.caveat);
  if (reference?.caveat !== undefined) notes.push(`reference: ${reference.caveat}`);
  if (measured === undefined) notes.push(missing);
  return notes;
}

/** `measured / reference` against a target ratio. */
export function ratioCheck(
  title: string,
  measured: Figure | undefined,
  reference: Figure | undefined,
  target: Target,
): Check {
  if (measured !== undefined && reference !== undefined && measured.unit !== reference.unit) {
    throw new Error(`${title}: cannot divide ${measured.unit} by ${reference.unit}`);
  }
  const ratio =
    measured !== undefined && reference !== undefined && reference.value > 0
      ? measured.value / reference.value
      : undefined;
  const notes = notesOf(measured, reference, "not measured");
  if (measured !== undefined && reference === undefined) notes.push("reference not measured");
  return {
    kind: "ratio",
    title,
    measured,
    reference,
    ratio,
    target,
    verdict: verdictOf(ratio, measured, target),
    notes,
  };
}

/** `measured` against a limit in the same unit. */
export function limitCheck(
  title: string,
  measured: Figure | undefined,
  target: Target & { readonly unit: Unit },
): Check {
  if (measured !== undefined && measured.unit !== target.unit) {
    throw new Error(`${title}: a ${measured.unit} figure against a limit in ${target.unit}`);
  }
  return {
    kind: "limit",
    title,
    measured,
    reference: undefined,
    ratio: undefined,
    target,
    verdict: verdictOf(measured?.value, measured, target),
    notes: notesOf(measured, undefined, "not measured"),
  };
}
