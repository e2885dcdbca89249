/**
 * Work no response waits for (a shadow candidate's runs) yields the CPU to the work responses wait
 * for. Linux keeps a nice value per thread, so the worker thread that runs it lowers its own
 * priority to the lowest; the threads it starts afterwards (ONNX Runtime's) inherit it. The event
 * loop and every other thread of the process keep theirs.
 */
import { readlinkSync } from "node:fs";
import { constants, setPriority } from "node:os";
import path from "node:path";

/** The calling thread's id (Linux: `/proc/thread-self` links to `<pid>/task/<tid>`); undefined elsewhere. */
export function currentThreadId(): number | undefined {
  try {
    const tid = Number(path.basename(readlinkSync("/proc/thread-self")));
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** Lowers the calling thread to the lowest CPU priority (nice 19); false where threads have no priority of their own. */
export function lowerThisThreadPriority(): boolean {
  const tid = currentThreadId();
  if (tid === undefined) return false;
  setPriority(tid, constants.priority.PRIORITY_LOW);
  return true;
}
