/**
 * The cluster's data folder (`plinth-cluster-*` in the temporary folder): keys, etcd's data,
 * kubeconfigs and one log per process. It records the pid of the node process that owns it, so a
 * later start can remove the folders of owners that died without cleaning up (a test worker killed
 * on timeout runs no exit handler; its control plane died with it, through the parent-death signal).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const PREFIX = "plinth-cluster-";
const OWNER_FILE = "owner.pid";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but someone else's.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the data folders under `parent` whose owner process is gone. */
export async function sweepOrphanedDataDirs(parent: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(parent, name);
    const owner = Number(await readFile(path.join(dir, OWNER_FILE), "utf8").catch(() => ""));
    // No owner file yet: a folder being made right now, or not ours. Leave it.
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
    try {
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Not ours to remove (another user's): leave it.
    }
  }
  return removed;
}

/** A fresh data folder owned by this process (after sweeping orphaned ones). */
export async function createDataDir(parent = tmpdir()): Promise<string> {
  await sweepOrphanedDataDirs(parent);
  const dir = await mkdtemp(path.join(parent, PREFIX));
  await writeFile(path.join(dir, OWNER_FILE), `${process.pid}\n`);
  return dir;
}

/** For process exit, where nothing asynchronous runs any more. */
export function removeDataDirSync(dir: string): void {
  try {
    // Processes killed a moment ago may still be closing files: retry a few times.
    rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
  } catch {
    // The next start's sweep removes it.
  }
}
