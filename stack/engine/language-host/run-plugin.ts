/**
 * `RunPlugin`: starts a plugin (a policy pack, for plinth) under node and streams what it writes back
 * to the CLI as RunPluginResponse messages (stdout chunks, stderr chunks, then the exit code). The
 * first stdout line is the plugin's gRPC port, which the CLI reads to connect to it. The CLI ends the
 * plugin by cancelling the stream; the process is then stopped, so no policy pack outlives a preview.
 */
import type { ServerWritableStream } from "@grpc/grpc-js";
import { constants } from "node:os";
import { startChild } from "./child-processes.js";
import { pluginCommand, type PluginRun } from "./plugin-command.js";
import { languageProto, type LanguageModule } from "./proto.js";
import { resolveSdkDir } from "./sdk-location.js";

type RunPluginCall = ServerWritableStream<LanguageModule.RunPluginRequest, LanguageModule.RunPluginResponse>;

export async function runPlugin(run: PluginRun, call: RunPluginCall): Promise<void> {
  const sdkDir = resolveSdkDir(run.programDirectory);
  const { child, exited } = startChild(pluginCommand(run, sdkDir), ["ignore", "pipe", "pipe"]);
  const send = (fill: (message: LanguageModule.RunPluginResponse) => void): void => {
    if (call.cancelled || call.writableEnded) return;
    const message = new languageProto.RunPluginResponse();
    fill(message);
    call.write(message);
  };
  child.stdout?.on("data", (chunk: Buffer) => send((m) => m.setStdout(new Uint8Array(chunk))));
  child.stderr?.on("data", (chunk: Buffer) => send((m) => m.setStderr(new Uint8Array(chunk))));
  call.on("cancelled", () => child.kill("SIGTERM"));

  const { code, signal } = await exited;
  send((m) => m.setExitcode(code ?? signalExitCode(signal)));
  if (!call.cancelled && !call.writableEnded) call.end();
}

// The shell's convention for a process killed by a signal: 128 + the signal's number.
function signalExitCode(signal: NodeJS.Signals | null): number {
  return 128 + (signal ? constants.signals[signal] : 0);
}
