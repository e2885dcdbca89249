/**
 * RandomPassword's inputs: their defaults, their validation (Check), and the password spec they
 * describe. Every input forces a new password when it changes, as in the random provider; `keepers`
 * exists only for that.
 */
import { passwordSpecProblem, type PasswordSpec } from "./password.js";
import { isUnknown, reveal } from "./property-values.js";

export type PropertyMap = Record<string, unknown>;

export interface CheckFailure {
  readonly property: string;
  readonly reason: string;
}

/** Every input of RandomPassword; a change to any of them replaces the resource. */
export const PASSWORD_INPUTS = [
  "keepers",
  "length",
  "lower",
  "minLower",
  "minNumeric",
  "minSpecial",
  "minUpper",
  "number",
  "numeric",
  "overrideSpecial",
  "special",
  "upper",
] as const;

const BOOLEAN_DEFAULTS = { lower: true, special: true, upper: true } as const;
const MINIMUM_INPUTS = ["minLower", "minNumeric", "minSpecial", "minUpper"] as const;

/** The inputs with defaults filled in, and why they are invalid (an empty list when they are not). */
export function checkPasswordInputs(news: PropertyMap): { inputs: PropertyMap; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  // Only the declared inputs are kept: outputs the SDK lists (result, bcryptHash) never become inputs.
  const inputs: PropertyMap = {};
  for (const key of PASSWORD_INPUTS) {
    if (news[key] !== undefined && news[key] !== null) inputs[key] = news[key];
  }
  for (const [key, value] of Object.entries(BOOLEAN_DEFAULTS)) inputs[key] ??= value;
  for (const key of MINIMUM_INPUTS) inputs[key] ??= 0;

  // `number` is the deprecated name of `numeric`: either one sets both.
  const numeric = inputs["numeric"] ?? inputs["number"] ?? true;
  const number = inputs["number"] ?? numeric;
  if (!isUnknown(numeric) && !isUnknown(number) && reveal(numeric) !== reveal(number)) {
    failures.push({ property: "number", reason: "number (deprecated) and numeric must agree" });
  }
  inputs["numeric"] = numeric;
  inputs["number"] = number;

  if (inputs["length"] === undefined) {
    failures.push({ property: "length", reason: "length is required" });
  } else if (!PASSWORD_INPUTS.some((key) => isUnknown(inputs[key]))) {
    const problem = typeProblem(inputs) ?? passwordSpecProblem(passwordSpec(inputs));
    if (problem) failures.push({ property: "length", reason: problem });
  }
  return { inputs, failures };
}

function typeProblem(inputs: PropertyMap): string | undefined {
  for (const key of ["length", ...MINIMUM_INPUTS]) {
    if (typeof reveal(inputs[key]) !== "number") return `${key} must be a number`;
  }
  for (const key of ["lower", "upper", "numeric", "number", "special"]) {
    if (typeof reveal(inputs[key]) !== "boolean") return `${key} must be a boolean`;
  }
  const overrideSpecial = reveal(inputs["overrideSpecial"]);
  if (overrideSpecial !== undefined && typeof overrideSpecial !== "string")
    return "overrideSpecial must be a string";
  return undefined;
}

/** The password spec of checked inputs (secrets revealed: the provider needs the values). */
export function passwordSpec(inputs: PropertyMap): PasswordSpec {
  const value = (key: string): unknown => reveal(inputs[key]);
  return {
    length: value("length") as number,
    upper: value("upper") as boolean,
    lower: value("lower") as boolean,
    numeric: value("numeric") as boolean,
    special: value("special") as boolean,
    overrideSpecial: value("overrideSpecial") as string | undefined,
    minUpper: value("minUpper") as number,
    minLower: value("minLower") as number,
    minNumeric: value("minNumeric") as number,
    minSpecial: value("minSpecial") as number,
  };
}
