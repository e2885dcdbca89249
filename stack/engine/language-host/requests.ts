/**
 * Turns the CLI's protobuf requests into the plain descriptions the host acts on. ProgramInfo carries
 * the project's root and program directories, the entry point, and the runtime options.
 */
import type { LanguageModule } from "./proto.js";
import type { HostArgs } from "./host-args.js";
import { parseRuntimeOptions, type RuntimeOptions } from "./runtime-options.js";
import type { ProgramRun } from "./program-command.js";
import type { PluginRun } from "./plugin-command.js";

type ProgramInfo = LanguageModule.ProgramInfo;

export interface ProgramLocation {
  readonly rootDirectory: string;
  readonly programDirectory: string;
  readonly entryPoint: string;
  readonly options: RuntimeOptions;
}

/**
 * ProgramInfo, with `fallbackDirectory` for CLIs that send only a pwd, and `fallbackFlags` for CLIs
 * that passed the project's runtime options as host flags (they apply to the project, not to plugins).
 */
export function programLocation(
  info: ProgramInfo | undefined,
  fallbackDirectory: string,
  fallbackFlags: ReadonlyMap<string, string> = new Map(),
): ProgramLocation {
  const options = info?.getOptions()?.toJavaScript() as Record<string, unknown> | undefined;
  return {
    rootDirectory: info?.getRootDirectory() || fallbackFlags.get("root") || fallbackDirectory,
    programDirectory: info?.getProgramDirectory() || fallbackDirectory,
    entryPoint: info?.getEntryPoint() || ".",
    options: parseRuntimeOptions(options, fallbackFlags),
  };
}

export function programRun(
  request: LanguageModule.RunRequest,
  hostArgs: HostArgs,
  engineAddress?: string,
): ProgramRun {
  const location = programLocation(request.getInfo(), request.getPwd(), hostArgs.flags);
  const config = new Map<string, string>();
  request.getConfigMap().forEach((value, key) => config.set(key, value));
  return {
    ...location,
    // An older CLI sends the program in `program` and no ProgramInfo entry point.
    entryPoint: request.getInfo()?.getEntryPoint() || request.getProgram() || ".",
    project: request.getProject(),
    stack: request.getStack(),
    organization: request.getOrganization(),
    pwd: request.getPwd(),
    args: request.getArgsList(),
    config,
    configSecretKeys: request.getConfigsecretkeysList(),
    dryRun: request.getDryrun(),
    parallel: request.getParallel(),
    monitorAddress: request.getMonitorAddress(),
    engineAddress: engineAddress ?? hostArgs.engineAddress,
    tracing: hostArgs.tracing,
  };
}

export function pluginRun(request: LanguageModule.RunPluginRequest): PluginRun {
  const location = programLocation(request.getInfo(), request.getProgram() || request.getPwd());
  return {
    kind: request.getKind(),
    programDirectory: location.programDirectory,
    args: request.getArgsList(),
    env: request.getEnvList(),
    options: location.options,
  };
}
