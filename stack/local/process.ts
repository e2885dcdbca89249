/**
 * One supervised child of the local stack: spawned as the leader of its own process group (so a
 * stop reaches anything it forks, such as MLflow's workers), every output line written to the
 * stack's log with the process's name in front, and stopped with SIGTERM, then SIGKILL after a
 * grace period.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { killProcessGroup, stopProcessGroup } from "../shared/process-group.js";

/** Last output kept for error messages, whatever the log sink does with it. */
const TAIL_LINES = 40;

/** Where prefixed output lines go (the terminal for `npm run stack:local`, a buffer in tests). */
export type LogSink = (line: string) => void;

export interface ChildSpec {
  /** Short name, the prefix of every log line. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

export class SupervisedProcess {
  readonly pid: number;
  /** Resolves with the exit code or signal name once the process has exited. */
  readonly exited: Promise<string>;
  private readonly tail: string[] = [];
  private exitedWith: string | undefined;

  private constructor(
    readonly spec: ChildSpec,
    child: ChildProcess,
    log: LogSink,
  ) {
    if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
    this.pid = child.pid;
    const prefix = `[${spec.name}] `;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
        this.tail.push(line);
        if (this.tail.length > TAIL_LINES) this.tail.shift();
        log(prefix + line);
      });
    }
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitedWith = signal ?? String(code);
        resolve(this.exitedWith);
      });
    });
  }

  static start(spec: ChildSpec, log: LogSink): SupervisedProcess {
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: { ...spec.env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    // A missing binary is reported as an 'error' event with no pid: surface it as a thrown error.
    child.once("error", () => undefined);
    return new SupervisedProcess(spec, child, log);
  }

  get hasExited(): boolean {
    return this.exitedWith !== undefined;
  }

  get exitStatus(): string | undefined {
    return this.exitedWith;
  }

  /** The process's last output lines, for an error message. */
  outputTail(): string {
    return this.tail.join("\n");
  }

  /** SIGTERM to the process group; SIGKILL if it is still running after the grace period. */
  stop(): Promise<void> {
    return stopProcessGroup(this);
  }

  /** Synchronous last resort for process exit: SIGKILL to the group. */
  kill(): void {
    killProcessGroup(this);
  }
}

/**
 * Polls `probe` until it returns true. Fails early with the process's output if it exits or prints a
 * line matching `fatal` (a process that keeps running with a configuration it refused, as Traefik
 * does with a provider's bad file), and after `timeoutMs` if it never becomes ready.
 */
export async function waitUntilReady(
  proc: SupervisedProcess,
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  fatal?: RegExp,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.hasExited) {
      throw new Error(`${proc.spec.name} exited (${proc.exitStatus}) before ${what}:\n${proc.outputTail()}`);
    }
    if (
      fatal !== undefined &&
      proc
        .outputTail()
        .split("\n")
        .some((line) => fatal.test(line))
    ) {
      throw new Error(`${proc.spec.name} refused its configuration before ${what}:\n${proc.outputTail()}`);
    }
    if (await probe().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${proc.spec.name}: no ${what} within ${timeoutMs} ms:\n${proc.outputTail()}`);
}

/** A probe that is true when `GET url` answers 200. */
export function httpOk(url: string): () => Promise<boolean> {
  return async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status === 200;
  };
}
