/**
 * Environment variable names as a `{ NAME: "NAME" }` object built from one list, so each name is
 * written once and code refers to it as `ENV.NAME` (a typo is a type error, not an unset variable).
 */
export type EnvNames<N extends string> = { readonly [K in N]: K };

export function envNames<const N extends string>(names: readonly N[]): EnvNames<N> {
  return Object.fromEntries(names.map((name) => [name, name])) as EnvNames<N>;
}
