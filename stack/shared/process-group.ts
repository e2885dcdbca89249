/**
 * Stopping a child that leads its own process group (spawned with `detached: true`): every signal
 * goes to the whole group, so it also reaches anything the child forked.
 */
import { setTimeout as sleep } from "node:timers/promises";

/** How long a group has to exit after SIGTERM before it gets SIGKILL. */
export const STOP_GRACE_MS = 5000;

/** A started process group's leader, as its supervisor tracks it. */
export interface ProcessGroupLeader {
  readonly pid: number;
  /** Settles once the leader has exited. */
  readonly exited: Promise<unknown>;
  readonly hasExited: boolean;
}

/** Sends `signal` to the group led by `pid`; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM to the process group; SIGKILL if it still runs after the grace period. */
export async function stopProcessGroup(leader: ProcessGroupLeader, graceMs = STOP_GRACE_MS): Promise<void> {
  if (leader.hasExited) return;
  signalGroup(leader.pid, "SIGTERM");
  const exited = await Promise.race([leader.exited.then(() => true), sleep(graceMs, false)]);
  if (!exited) {
    signalGroup(leader.pid, "SIGKILL");
    await leader.exited;
  }
}

/** Synchronous last resort, for process exit: SIGKILL to the group. */
export function killProcessGroup(leader: ProcessGroupLeader): void {
  if (!leader.hasExited) signalGroup(leader.pid, "SIGKILL");
}
