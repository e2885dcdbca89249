/**
 * The node processes the host has started (programs and plugins), so that `Cancel`, a cancelled
 * RunPlugin stream, or the host's own shutdown can stop them instead of leaving them running.
 */
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import type { NodeCommand } from "./program-command.js";

const running = new Set<ChildProcess>();

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface StartedChild {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
}

export function startChild(command: NodeCommand, stdio: StdioOptions): StartedChild {
  const child = spawn(command.command, [...command.args], { cwd: command.cwd, env: command.env, stdio });
  running.add(child);
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once("error", (error) => {
      running.delete(child);
      reject(error);
    });
    // "close" (not "exit"): every byte of the child's piped output has been read by then.
    child.once("close", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, exited };
}

/** Asks every running child to stop (SIGINT first, as the CLI does with a program on Ctrl-C). */
export function stopAllChildren(signal: NodeJS.Signals = "SIGINT"): void {
  for (const child of running) child.kill(signal);
}
