/**
 * `Run`: starts the program under node and waits for it. The program's stdout and stderr are the
 * host's own (inherited): the CLI already reads the host's output streams and shows every line.
 */
import { startChild } from "./child-processes.js";
import { programCommand, runOutcome, type ProgramRun, type RunOutcome } from "./program-command.js";
import { resolveSdkDir } from "./sdk-location.js";

export async function runProgram(run: ProgramRun): Promise<RunOutcome> {
  const sdkDir = resolveSdkDir(run.programDirectory);
  const command = programCommand(run, sdkDir, process.env);
  const { exited } = startChild(command, ["ignore", "inherit", "inherit"]);
  const { code, signal } = await exited;
  return runOutcome(code, signal);
}
