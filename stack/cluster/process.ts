/**
 * One control-plane process: its output goes straight to a log file in the data folder (node never
 * reads it, so a chatty API server costs us nothing), it leads its own process group, and it is
 * stopped with SIGTERM, then SIGKILL after a grace period.
 *
 * Orphans: where util-linux's setpriv exists, the program is started through
 * `setpriv --pdeathsig SIGKILL`, so the kernel kills it when this node process dies, however it
 * dies (even SIGKILL, which runs no exit handler). The cluster also kills every group from a
 * process `exit` handler.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readSync, fstatSync } from "node:fs";
import { isExecutable } from "../shared/executable.js";
import { killProcessGroup, STOP_GRACE_MS, stopProcessGroup } from "../shared/process-group.js";

const SETPRIV = "/usr/bin/setpriv";
const TAIL_BYTES = 16 * 1024;

export interface ProcessSpec {
  /** Short name, used in messages: "etcd", "kube-apiserver", ... */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

const canSetParentDeathSignal = isExecutable(SETPRIV);

export class ClusterProcess {
  readonly pid: number;
  /** Resolves with the exit code, or the signal's name, once the process has exited. */
  readonly exited: Promise<string>;
  private exitedWith: string | undefined;
  private stopAsked = false;

  private constructor(
    readonly spec: ProcessSpec,
    pid: number | undefined,
    exited: Promise<string>,
  ) {
    if (pid === undefined) throw new Error(`local cluster: could not start ${spec.command}`);
    this.pid = pid;
    this.exited = exited.then((status) => (this.exitedWith = status));
  }

  static start(spec: ProcessSpec): ClusterProcess {
    const log = openSync(spec.logFile, "a");
    const [command, args] = canSetParentDeathSignal
      ? [SETPRIV, ["--pdeathsig", "SIGKILL", "--", spec.command, ...spec.args]]
      : [spec.command, [...spec.args]];
    try {
      const child = spawn(command, args, {
        cwd: spec.cwd,
        env: { ...spec.env },
        detached: true,
        stdio: ["ignore", log, log],
      });
      // A program that cannot be executed shows up as an 'error' event and no pid: the constructor throws.
      child.once("error", () => undefined);
      const exited = new Promise<string>((resolve) => {
        child.once("exit", (code, signal) => resolve(signal ?? String(code)));
      });
      return new ClusterProcess(spec, child.pid, exited);
    } finally {
      closeSync(log);
    }
  }

  get name(): string {
    return this.spec.name;
  }

  get hasExited(): boolean {
    return this.exitedWith !== undefined;
  }

  get exitStatus(): string | undefined {
    return this.exitedWith;
  }

  /** The last lines of the process's log, for an error message. */
  logTail(lines = 30): string {
    let fd: number | undefined;
    try {
      fd = openSync(this.spec.logFile, "r");
      const size = fstatSync(fd).size;
      const length = Math.min(size, TAIL_BYTES);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer.toString("utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Fails with the log's tail if the process has exited: for checks while the cluster starts. */
  assertRunning(): void {
    if (this.hasExited) {
      throw new Error(
        `local cluster: ${this.name} exited (${this.exitStatus}); last lines of ${this.spec.logFile}:\n` +
          this.logTail(),
      );
    }
  }

  /** Whether stop() or kill() was called: an exit after it is no crash. */
  get stopRequested(): boolean {
    return this.stopAsked;
  }

  /** SIGTERM to the process group; SIGKILL if it still runs after the grace period. */
  stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopAsked = true;
    return stopProcessGroup(this, graceMs);
  }

  /** Synchronous last resort, for process exit: SIGKILL to the group. */
  kill(): void {
    this.stopAsked = true;
    killProcessGroup(this);
  }
}
