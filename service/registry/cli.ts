/**
 * `npm run registry -- <command>`: the model registry from the command line, the same commands
 * against the local folder registry and MLflow. The registry is `--registry <location>`
 * (`file:<dir>` or an MLflow `http(s)://` URL), else MLflow at MLFLOW_TRACKING_URI, else the
 * local registry (PLINTH_REGISTRY_DIR or the repository's models/).
 *
 * Exit status: 0 success, 1 registry error, 2 bad usage.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { parseModelReference } from "./model-uri.js";
import { openRegistry } from "./open.js";
import { RegistryError, SHA256_TAG, type ModelRegistry } from "./registry.js";

const HELP = `Usage: npm run registry -- [--registry LOCATION] [--json] <command>

Commands
  list <model>                         versions, their aliases, status and sha256
  aliases <model>                      alias -> version
  resolve <reference>                  the version a reference names now
                                       (models:/<model>@<alias>, models:/<model>/<version>)
  set-alias <model> <alias> <version>  point an alias at a version (moving champion makes the
                                       services that follow it load that version)
  delete-alias <model> <alias>         remove an alias

Registry
  --registry file:<dir> | http(s)://<mlflow>
      default: MLflow at MLFLOW_TRACKING_URI when set, else the local registry
      (PLINTH_REGISTRY_DIR, else the repository's models/)
  --json    print JSON instead of text`;

const COMMANDS: Record<string, number> = {
  list: 1,
  aliases: 1,
  resolve: 1,
  "set-alias": 3,
  "delete-alias": 2,
};

class UsageError extends Error {}

interface Output {
  text: string;
  json: unknown;
}

async function run(registry: ModelRegistry, command: string, args: string[]): Promise<Output> {
  switch (command) {
    case "list": {
      const versions = await registry.listVersions(args[0]!);
      const lines = versions.map((v) =>
        [
          v.version.padStart(4),
          v.status.padEnd(9),
          (v.tags[SHA256_TAG]?.slice(0, 12) ?? "-").padEnd(12),
          v.aliases.join(", "),
        ].join("  "),
      );
      return { text: ["   #  status     sha256        aliases", ...lines].join("\n"), json: versions };
    }
    case "aliases": {
      const aliases = await registry.getAliases(args[0]!);
      const entries = Object.entries(aliases).sort(([a], [b]) => a.localeCompare(b));
      return {
        text: entries.length === 0 ? "(no aliases)" : entries.map(([a, v]) => `${a} -> ${v}`).join("\n"),
        json: aliases,
      };
    }
    case "resolve": {
      const ref = parseModelReference(args[0]!, "");
      if (ref.kind === "file") throw new UsageError("resolve takes a models:/ reference, not file:");
      if (ref.name === "")
        throw new UsageError("resolve takes models:/<model>@<alias> or models:/<model>/<version>");
      const version = await registry.resolveVersion(ref.name, ref.kind === "alias" ? ref.alias : ref.version);
      return { text: version, json: { name: ref.name, version } };
    }
    case "set-alias": {
      const [name, alias, version] = args as [string, string, string];
      await registry.setAlias(name, alias, version);
      return { text: `${name}: ${alias} -> ${version}`, json: { name, alias, version } };
    }
    case "delete-alias": {
      const [name, alias] = args as [string, string];
      await registry.deleteAlias(name, alias);
      return { text: `${name}: deleted alias ${alias}`, json: { name, alias, deleted: true } };
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  let registry: ModelRegistry;
  let command: string;
  let args: string[];
  let json: boolean;
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        registry: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (parsed.values.help) {
      io.out(HELP);
      return 0;
    }
    [command = "", ...args] = parsed.positionals;
    const arity = COMMANDS[command];
    if (arity === undefined)
      throw new UsageError(command === "" ? "no command" : `unknown command ${JSON.stringify(command)}`);
    if (args.length !== arity)
      throw new UsageError(`${command} takes ${arity} argument${arity === 1 ? "" : "s"}, got ${args.length}`);
    json = parsed.values.json ?? false;
    const env = io.env;
    registry = openRegistry(
      {
        registryDir: env.PLINTH_REGISTRY_DIR ? path.resolve(env.PLINTH_REGISTRY_DIR) : undefined,
        mlflowTrackingUri: env.MLFLOW_TRACKING_URI || undefined,
        mlflowTrackingToken: env.MLFLOW_TRACKING_TOKEN || undefined,
      },
      parsed.values.registry,
    );
  } catch (err) {
    io.err(`registry: ${(err as Error).message}\nRun with --help for usage.`);
    return 2;
  }
  try {
    const output = await run(registry, command, args);
    io.out(json ? JSON.stringify(output.json, null, 2) : output.text);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`registry: ${err.message}\nRun with --help for usage.`);
      return 2;
    }
    // Registry errors name their registry already; MLflow transport errors name only the endpoint.
    if (err instanceof RegistryError) io.err(`registry: ${err.code}: ${err.message}`);
    else io.err(`registry: ${(err as Error).message} (registry: ${registry.location})`);
    return 1;
  }
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)
) {
  process.exitCode = await main(process.argv.slice(2), {
    out: (text) => console.log(text),
    err: (text) => console.error(text),
    env: process.env,
  });
}
