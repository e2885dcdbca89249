/**
 * The command line the Pulumi CLI launches a language plugin with: Go-style flags (`--logtostderr`,
 * `-v=9`, `--tracing <url>`, and, from older CLIs, `-root=<dir>` or runtime options as flags) followed
 * by one positional argument, the engine's gRPC address.
 */

export interface HostArgs {
  /** The engine's gRPC address (host:port); absent only when the host is started by hand. */
  readonly engineAddress: string | undefined;
  /** A Zipkin-compatible tracing endpoint, passed on to the programs the host runs. */
  readonly tracing: string | undefined;
  /** Every other flag by name (without dashes); boolean flags map to "true". */
  readonly flags: ReadonlyMap<string, string>;
}

// Flags that take a value from the next argument when written without "=" (Go's flag package allows
// `-name value` for non-boolean flags); every other flag without "=" is a boolean.
const FLAGS_WITH_VALUES = new Set([
  "tracing",
  "root",
  "tsconfig",
  "nodeargs",
  "typescript",
  "packagemanager",
  "v",
]);

export function parseHostArgs(argv: readonly string[]): HostArgs {
  const flags = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    if (eq >= 0) {
      flags.set(body.slice(0, eq), body.slice(eq + 1));
    } else if (FLAGS_WITH_VALUES.has(body) && i + 1 < argv.length) {
      flags.set(body, argv[++i] ?? "");
    } else {
      flags.set(body, "true");
    }
  }
  // The CLI documents the engine address as the last positional argument.
  return { engineAddress: positionals.at(-1), tracing: flags.get("tracing"), flags };
}
