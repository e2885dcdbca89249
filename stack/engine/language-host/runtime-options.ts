/**
 * The `runtime.options` of a Pulumi.yaml or PulumiPolicy.yaml, as the CLI sends them in
 * ProgramInfo.options: how node is started (nodeargs) and whether @pulumi/pulumi registers ts-node
 * (typescript; plinth sets it false and loads TypeScript through `nodeargs: --import tsx`).
 */

export interface RuntimeOptions {
  /** Extra arguments for node, before the script (e.g. ["--import", "tsx"]). */
  readonly nodeArgs: readonly string[];
  /** True when @pulumi/pulumi should compile TypeScript itself with ts-node (Pulumi's default). */
  readonly typescript: boolean;
  /** A tsconfig path for ts-node, relative to the program's working directory. */
  readonly tsconfig: string | undefined;
}

/**
 * Reads the options object (the ProgramInfo.options Struct as plain JavaScript). `fallback` holds
 * options an older CLI passed as host flags; options from the project file win.
 */
export function parseRuntimeOptions(
  options: Readonly<Record<string, unknown>> | undefined,
  fallback: ReadonlyMap<string, string> = new Map(),
): RuntimeOptions {
  const pick = (name: string): unknown => options?.[name] ?? fallback.get(name);
  return {
    nodeArgs: splitNodeArgs(asString(pick("nodeargs")) ?? ""),
    typescript: asBoolean(pick("typescript"), true),
    tsconfig: asString(pick("tsconfig")) || undefined,
  };
}

/** Splits a nodeargs string on whitespace; single or double quotes keep spaces inside one argument. */
export function splitNodeArgs(text: string): string[] {
  const args: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of text.matchAll(pattern)) {
    args.push(match[1] ?? match[2] ?? match[3] ?? "");
  }
  return args;
}

function asString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return String(value);
}

function asBoolean(value: unknown, fallback: boolean): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && value !== "") return value.toLowerCase() === "true";
  return fallback;
}
