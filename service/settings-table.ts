/**
 * One declaration per service setting: its schema (parser and default), its docs line and
 * whether its value is a credential. service/config.ts and service/ops/settings.ts each write a
 * table keyed by the contract's variable names (service/contract/service-env.ts) and typed
 * {@link SettingsTable}, so a name without a declaration, or a declaration under a name the
 * contract does not have, fails to compile. The zod object, the docs and the set of secret
 * variables are derived from the table, never listed again.
 */
import type { z } from "zod";

export interface Setting {
  /** Parses the variable's text; its default applies when the variable is unset or blank. */
  readonly schema: z.ZodType;
  /** What the variable means and its default, as the settings table (docs/service-api.md) shows it. */
  readonly doc: string;
  /** A credential: its value is never echoed in an error message. */
  readonly secret?: true;
}

/** A declaration for exactly the names `N` (checked with `satisfies`, which keeps each schema's type). */
export type SettingsTable<N extends string> = { readonly [K in N]: Setting };

/** The table's schemas by name: the shape of the zod object that parses the environment. */
export type SchemaShape<T extends SettingsTable<string>> = { -readonly [K in keyof T]: T[K]["schema"] };

export function schemaShape<T extends SettingsTable<string>>(table: T): SchemaShape<T> {
  return Object.fromEntries(Object.entries(table).map(([name, s]) => [name, s.schema])) as SchemaShape<T>;
}

/** Each variable's docs line, in the order of `names` (the contract's order). */
export function settingDocs<N extends string>(
  table: SettingsTable<N>,
  names: readonly N[],
): Readonly<Record<N, string>> {
  return Object.fromEntries(names.map((name) => [name, table[name].doc])) as Record<N, string>;
}

/** The variables whose values are credentials. */
export function secretNames(table: SettingsTable<string>): ReadonlySet<string> {
  return new Set(Object.entries(table).flatMap(([name, s]) => (s.secret === true ? [name] : [])));
}
