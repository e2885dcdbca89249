/**
 * Per-process figures from Linux's /proc: resident memory and CPU time of a process together with
 * all its descendants (a server that forks workers is measured whole; threads are already inside
 * their process's figures).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux/x86 unless configured). */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
    if (text !== "") children.push(...text.split(/\s+/).map(Number));
  }
  return children;
}

/** Sums `measure` over `pid` and its descendants; a process that has exited counts 0. */
function overTree(pid: number, measure: (pid: number) => number): number {
  try {
    return measure(pid) + childrenOf(pid).reduce((sum, child) => sum + overTree(child, measure), 0);
  } catch {
    return 0;
  }
}

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** User + system CPU seconds from /proc/<pid>/stat (fields 14 and 15, after the parenthesised name). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The command lines of `pid`'s descendants (not its own), e.g. to count a server's worker processes. */
export function descendantCommands(pid: number): string[] {
  const commands: string[] = [];
  const visit = (parent: number) => {
    let children: number[];
    try {
      children = childrenOf(parent);
    } catch {
      return; // exited meanwhile, or never was
    }
    for (const child of children) {
      try {
        commands.push(readFileSync(`/proc/${child}/cmdline`, "utf8").split("\0").join(" ").trim());
      } catch {
        continue;
      }
      visit(child);
    }
  };
  visit(pid);
  return commands;
}

/** RSS of `pid` plus its descendants, in bytes. */
export function processTreeRssBytes(pid: number): number {
  return overTree(pid, rssBytes);
}

/** CPU seconds used so far by `pid` plus its live descendants. */
export function processTreeCpuSeconds(pid: number): number {
  return overTree(pid, cpuSeconds);
}

/** The whole machine's CPU seconds so far, from the first line of /proc/stat (all cores summed). */
export interface MachineCpuSeconds {
  /** user + nice + system + irq + softirq. */
  readonly busy: number;
  readonly idle: number;
  /** Time the hypervisor ran someone else while this VM wanted the CPU. */
  readonly steal: number;
}

export function machineCpuSeconds(): MachineCpuSeconds {
  const fields = readFileSync("/proc/stat", "utf8")
    .split("\n", 1)[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  return {
    busy: (user + nice + system + irq + softirq) / CLOCK_TICKS,
    idle: (idle + iowait) / CLOCK_TICKS,
    steal: steal / CLOCK_TICKS,
  };
}

/** Machine-wide TCP counters since boot (/proc/net/netstat, `TcpExt`). */
export interface TcpCounters {
  /** Connections dropped because a listener's accept queue was full. */
  readonly listenOverflows: number;
  /** SYNs sent again (a dropped connection attempt retries after 1 s, then 2 s more). */
  readonly synRetransmits: number;
}

/** Reads {@link TcpCounters} from `/proc/net/netstat` text (a header line, then a value line). */
export function tcpCounters(text: string = readFileSync("/proc/net/netstat", "utf8")): TcpCounters {
  const lines = text.split("\n").filter((line) => line.startsWith("TcpExt:"));
  const names = (lines[0] ?? "").split(/\s+/).slice(1);
  const values = (lines[1] ?? "").split(/\s+/).slice(1).map(Number);
  const counter = (name: string) => {
    const index = names.indexOf(name);
    if (index < 0 || !Number.isFinite(values[index])) throw new Error(`/proc/net/netstat: no TcpExt ${name}`);
    return values[index]!;
  };
  return { listenOverflows: counter("ListenOverflows"), synRetransmits: counter("TCPSynRetrans") };
}
