/**
 * The LanguageRuntime gRPC service plinth's language host implements. Methods not listed here
 * (code generation, Template, Pack, Link) are answered UNIMPLEMENTED by grpc-js.
 */
import type {
  sendUnaryData,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import path from "node:path";
import type * as EmptyModule from "google-protobuf/google/protobuf/empty_pb.js";
import { stopAllChildren } from "./child-processes.js";
import { installedDependencies, requiredPlugins } from "./dependencies.js";
import type { HostArgs } from "./host-args.js";
import {
  emptyProto,
  grpc,
  HOST_PULUMI_SDK_DIR,
  languageProto,
  pluginProto,
  type LanguageModule,
  type PluginModule,
} from "./proto.js";
import { pluginRun, programLocation, programRun } from "./requests.js";
import { runPlugin } from "./run-plugin.js";
import { runProgram } from "./run-program.js";
import { logRequest } from "./request-log.js";

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;
type Empty = EmptyModule.Empty;

/** The host reports the version of the @pulumi/pulumi it serves, like Pulumi's own host. */
export function hostVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(HOST_PULUMI_SDK_DIR, "package.json"), "utf8")) as {
    version: string;
  };
  return manifest.version;
}

/** Answers a unary call with the handler's result, or with its error as an INTERNAL status. */
function unary<Req, Res>(method: string, handler: (request: Req) => Res | Promise<Res>): Unary<Req, Res> {
  return (call, callback) => {
    logRequest(method, call.request);
    Promise.resolve()
      .then(() => handler(call.request))
      .then(
        (response) => callback(null, response),
        (error: unknown) =>
          callback({
            code: grpc.status.INTERNAL,
            details: error instanceof Error ? error.message : String(error),
          }),
      );
  };
}

export function languageRuntimeService(hostArgs: HostArgs): UntypedServiceImplementation {
  // Handshake (used when the CLI attaches to a running host) may carry a newer engine address.
  let engineAddress = hostArgs.engineAddress;

  const handshake = unary("Handshake", (request: LanguageModule.LanguageHandshakeRequest) => {
    engineAddress = request.getEngineAddress() || engineAddress;
    return new languageProto.LanguageHandshakeResponse();
  });

  const getPluginInfo = unary("GetPluginInfo", (_request: Empty): PluginModule.PluginInfo => {
    return new pluginProto.PluginInfo().setVersion(hostVersion());
  });

  const getRequiredPackages = unary(
    "GetRequiredPackages",
    (request: LanguageModule.GetRequiredPackagesRequest) => {
      const location = programLocation(request.getInfo(), process.cwd(), hostArgs.flags);
      const packages = requiredPlugins(location.programDirectory).map((plugin) =>
        new pluginProto.PackageDependency()
          .setKind("resource")
          .setName(plugin.name)
          .setVersion(plugin.version)
          .setServer(plugin.server),
      );
      return new languageProto.GetRequiredPackagesResponse().setPackagesList(packages);
    },
  );

  const getRequiredPlugins = unary(
    "GetRequiredPlugins",
    (request: LanguageModule.GetRequiredPluginsRequest) => {
      const location = programLocation(request.getInfo(), request.getPwd() || process.cwd(), hostArgs.flags);
      const plugins = requiredPlugins(location.programDirectory).map((plugin) =>
        new pluginProto.PluginDependency()
          .setKind("resource")
          .setName(plugin.name)
          .setVersion(plugin.version)
          .setServer(plugin.server),
      );
      return new languageProto.GetRequiredPluginsResponse().setPluginsList(plugins);
    },
  );

  const getProgramDependencies = unary(
    "GetProgramDependencies",
    (request: LanguageModule.GetProgramDependenciesRequest) => {
      const location = programLocation(request.getInfo(), request.getPwd() || process.cwd(), hostArgs.flags);
      const dependencies = installedDependencies(
        location.programDirectory,
        request.getTransitivedependencies(),
      )
        .map((dependency) =>
          new languageProto.DependencyInfo().setName(dependency.name).setVersion(dependency.version),
        )
        .sort((a, b) => a.getName().localeCompare(b.getName()));
      return new languageProto.GetProgramDependenciesResponse().setDependenciesList(dependencies);
    },
  );

  const about = unary("About", (_request: LanguageModule.AboutRequest) => {
    return new languageProto.AboutResponse()
      .setExecutable(process.execPath)
      .setVersion(process.versions.node);
  });

  const run = unary("Run", async (request: LanguageModule.RunRequest) => {
    const outcome = await runProgram(programRun(request, hostArgs, engineAddress));
    return new languageProto.RunResponse().setError(outcome.error).setBail(outcome.bail);
  });

  const runtimeOptionsPrompts = unary(
    "RuntimeOptionsPrompts",
    (_request: LanguageModule.RuntimeOptionsRequest) => {
      return new languageProto.RuntimeOptionsResponse();
    },
  );

  const cancel = unary("Cancel", (_request: Empty): Empty => {
    stopAllChildren();
    return new emptyProto.Empty();
  });

  // Dependencies are installed with `npm ci` at the repository root, never by the engine.
  const installDependencies = (
    call: ServerWritableStream<
      LanguageModule.InstallDependenciesRequest,
      LanguageModule.InstallDependenciesResponse
    >,
  ): void => {
    logRequest("InstallDependencies", call.request);
    const note = "plinth's language host installs nothing: run `npm ci` where package.json is\n";
    call.write(new languageProto.InstallDependenciesResponse().setStdout(new TextEncoder().encode(note)));
    call.end();
  };

  const runPluginStream = (
    call: ServerWritableStream<LanguageModule.RunPluginRequest, LanguageModule.RunPluginResponse>,
  ): void => {
    logRequest("RunPlugin", call.request);
    runPlugin(pluginRun(call.request), call).catch((error: unknown) => {
      call.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  };

  return {
    handshake,
    getPluginInfo,
    getRequiredPackages,
    getRequiredPlugins,
    getProgramDependencies,
    about,
    run,
    runtimeOptionsPrompts,
    cancel,
    installDependencies,
    runPlugin: runPluginStream,
  };
}
