/**
 * The servers under test run as child processes, each the leader of its own process group, so a
 * stop reaches anything it spawned (uvicorn workers) and nothing else. Every child is stopped when
 * the bench ends, fails, or is interrupted (Ctrl-C, SIGTERM); a child that ignores SIGTERM gets
 * SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { LOOPBACK, loopbackOrigin } from "./load/target.js";

/** Last bytes of a child's output, kept for error messages (reading also keeps its pipes drained). */
const OUTPUT_TAIL_BYTES = 8192;
const STOP_GRACE_MS = 5000;

export interface ProcessSpec {
  /** Name in messages and in the report. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

const running = new Set<ManagedProcess>();

export class ManagedProcess {
  readonly pid: number;
  /** Resolves with the exit code (or signal name) when the process has exited. */
  readonly exited: Promise<string>;
  private tail = "";
  private exitedWith: string | undefined;

  constructor(
    readonly spec: ProcessSpec,
    private readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
    this.pid = child.pid;
    const keep = (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString("utf8")).slice(-OUTPUT_TAIL_BYTES);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitedWith = signal ?? String(code);
        running.delete(this);
        resolve(this.exitedWith);
      });
    });
  }

  get hasExited(): boolean {
    return this.exitedWith !== undefined;
  }

  /** The child's recent output, for an error message. */
  outputTail(): string {
    return this.tail.trim();
  }

  /** SIGTERM to the process group, then SIGKILL if it has not exited within the grace period. */
  async stop(): Promise<void> {
    if (this.hasExited) return;
    signalGroup(this.pid, "SIGTERM");
    const exited = await Promise.race([this.exited.then(() => true), sleep(STOP_GRACE_MS, false)]);
    if (!exited) {
      signalGroup(this.pid, "SIGKILL");
      await this.exited;
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export function startProcess(spec: ProcessSpec): ManagedProcess {
  const child = spawn(spec.command, [...spec.args], {
    cwd: spec.cwd,
    env: { ...spec.env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const managed = new ManagedProcess(spec, child);
  running.add(managed);
  return managed;
}

/** Stops every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/**
 * Makes sure no child outlives the bench: SIGINT/SIGTERM stop the children and exit; a synchronous
 * SIGKILL to each group on any exit covers crashes and `process.exit` elsewhere.
 */
export function stopChildrenOnExit(): void {
  process.once("exit", () => {
    for (const p of running) signalGroup(p.pid, "SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping child processes\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

/** A TCP port that was free on the loopback address a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOOPBACK, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("could not allocate a port");
  return address.port;
}

/**
 * Polls `GET path` on the child's port until it answers 200. Fails early with the child's output if
 * it exits, and after `timeoutMs` if it never becomes ready.
 */
export async function waitUntilReady(
  proc: ManagedProcess,
  port: number,
  path: string,
  timeoutMs: number,
): Promise<void> {
  const url = loopbackOrigin(port) + path;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.hasExited) {
      throw new Error(`${proc.spec.name} exited before it was ready:\n${proc.outputTail()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`${proc.spec.name} was not ready at ${url} within ${timeoutMs} ms:\n${proc.outputTail()}`);
}
