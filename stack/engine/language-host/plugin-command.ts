/**
 * The node command line for `RunPlugin`: the CLI runs policy packs (kind "analyzer") and plugins
 * written in TypeScript (PulumiPlugin.yaml) through the language host. A policy pack runs on its own
 * @pulumi/pulumi's `cmd/run-policy-pack` with the arguments the CLI gives (the engine address last)
 * followed by the pack's directory; other plugins run their directory as the node script.
 */
import { INSPECT_GUARD_NODE_ARGS } from "./inspect-guard.js";
import { runPolicyPackScript } from "./sdk-location.js";
import type { NodeCommand } from "./program-command.js";
import type { RuntimeOptions } from "./runtime-options.js";

export interface PluginRun {
  readonly kind: string;
  /** The plugin's directory (where PulumiPolicy.yaml or PulumiPlugin.yaml is). */
  readonly programDirectory: string;
  readonly args: readonly string[];
  /** The complete environment the CLI wants the plugin to have, as KEY=VALUE entries. */
  readonly env: readonly string[];
  readonly options: RuntimeOptions;
}

export const ANALYZER_KIND = "analyzer";

/** Builds the command for `run`; `sdkDir` is the plugin's own @pulumi/pulumi. */
export function pluginCommand(
  run: PluginRun,
  sdkDir: string,
  nodePath: string = process.execPath,
): NodeCommand {
  const env = envFromEntries(run.env);
  if (run.kind === ANALYZER_KIND && !run.options.typescript) {
    // cmd/run-policy-pack registers ts-node unconditionally. With `typescript: false` the pack's
    // TypeScript is loaded by nodeargs (tsx); ts-node's TS_NODE_IGNORE pattern "." matches every
    // file, so ts-node hands each one back to the loader already in place instead of compiling the
    // compiled output again (which breaks ES modules).
    env["TS_NODE_IGNORE"] = ".";
  }
  const script =
    run.kind === ANALYZER_KIND
      ? [runPolicyPackScript(sdkDir), ...run.args, run.programDirectory]
      : [run.programDirectory, ...run.args];
  return {
    command: nodePath,
    args: [...INSPECT_GUARD_NODE_ARGS, ...run.options.nodeArgs, ...script],
    // The plugin's own directory: nodeargs such as `--import tsx` and a tsconfig resolve from there.
    cwd: run.programDirectory,
    env,
  };
}

function envFromEntries(entries: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}
