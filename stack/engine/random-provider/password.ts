/**
 * Password generation with the semantics the random provider documents for RandomPassword: the
 * result has exactly `length` characters, at least `minUpper`/`minLower`/`minNumeric`/`minSpecial`
 * of each class, and the rest drawn from every enabled class; `overrideSpecial` replaces the special
 * characters. Randomness is node:crypto's (randomInt is uniform: no modulo bias).
 */
import { randomInt } from "node:crypto";

export const UPPER_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
export const LOWER_CHARS = "abcdefghijklmnopqrstuvwxyz";
export const NUMERIC_CHARS = "0123456789";
/** The provider's default special characters when overrideSpecial is not set. */
export const DEFAULT_SPECIAL_CHARS = "!@#$%&*()-_=+[]{}<>:?";

export interface PasswordSpec {
  readonly length: number;
  readonly upper: boolean;
  readonly lower: boolean;
  readonly numeric: boolean;
  readonly special: boolean;
  readonly overrideSpecial: string | undefined;
  readonly minUpper: number;
  readonly minLower: number;
  readonly minNumeric: number;
  readonly minSpecial: number;
}

/** A uniform random integer in [0, max). */
export type RandomIndex = (max: number) => number;

export function specialChars(spec: Pick<PasswordSpec, "overrideSpecial">): string {
  return spec.overrideSpecial ?? DEFAULT_SPECIAL_CHARS;
}

/** The characters the free (non-minimum) part of the password is drawn from. */
export function passwordAlphabet(spec: PasswordSpec): string {
  return [
    spec.upper ? UPPER_CHARS : "",
    spec.lower ? LOWER_CHARS : "",
    spec.numeric ? NUMERIC_CHARS : "",
    spec.special ? specialChars(spec) : "",
  ].join("");
}

/** Why `spec` cannot produce a password, or undefined when it can. */
export function passwordSpecProblem(spec: PasswordSpec): string | undefined {
  const minimums = spec.minUpper + spec.minLower + spec.minNumeric + spec.minSpecial;
  if (!Number.isInteger(spec.length) || spec.length < 1) return "length must be an integer of at least 1";
  for (const [name, value] of Object.entries({
    minUpper: spec.minUpper,
    minLower: spec.minLower,
    minNumeric: spec.minNumeric,
    minSpecial: spec.minSpecial,
  })) {
    if (!Number.isInteger(value) || value < 0) return `${name} must be a non-negative integer`;
  }
  if (spec.length < minimums)
    return `length (${spec.length}) must be at least the sum of the minimums (${minimums})`;
  if (spec.minSpecial > 0 && specialChars(spec) === "")
    return "minSpecial needs at least one special character";
  if (spec.length > minimums && passwordAlphabet(spec) === "") {
    return "upper, lower, numeric and special are all disabled: no characters to choose from";
  }
  return undefined;
}

export function generatePassword(spec: PasswordSpec, randomIndex: RandomIndex = randomInt): string {
  const problem = passwordSpecProblem(spec);
  if (problem) throw new Error(problem);
  const pick = (chars: string, count: number): string[] =>
    Array.from({ length: count }, () => chars[randomIndex(chars.length)] ?? "");
  const required = [
    ...pick(UPPER_CHARS, spec.minUpper),
    ...pick(LOWER_CHARS, spec.minLower),
    ...pick(NUMERIC_CHARS, spec.minNumeric),
    ...pick(specialChars(spec), spec.minSpecial),
  ];
  const chars = [...required, ...pick(passwordAlphabet(spec), spec.length - required.length)];
  // Fisher-Yates, so the required characters are not all at the front.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomIndex(i + 1);
    [chars[i], chars[j]] = [chars[j] ?? "", chars[i] ?? ""];
  }
  return chars.join("");
}
