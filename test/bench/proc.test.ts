import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import {
  descendantCommands,
  machineCpuSeconds,
  processTreeCpuSeconds,
  processTreeRssBytes,
  tcpCounters,
} from "../../bench/proc.js";
import { CPU_CONSUMERS, CpuSplit } from "../../bench/soak/cpu-split.js";

describe("process tree figures from /proc", () => {
  it("reads this process's RSS and CPU time as Node itself reports them", () => {
    const rss = processTreeRssBytes(process.pid);
    expect(Math.abs(rss - process.memoryUsage().rss)).toBeLessThan(0.2 * rss);
    const usage = process.cpuUsage();
    const nodeSeconds = (usage.user + usage.system) / 1e6;
    // /proc counts in clock ticks (10 ms).
    expect(Math.abs(processTreeCpuSeconds(process.pid) - nodeSeconds)).toBeLessThan(0.1);
  });

  it("adds the descendants of a process", async () => {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      while (processTreeRssBytes(child.pid!) === 0) await new Promise((r) => setTimeout(r, 20));
      const own = processTreeRssBytes(child.pid!);
      expect(processTreeRssBytes(process.pid)).toBeGreaterThanOrEqual(process.memoryUsage().rss * 0.8 + own);
    } finally {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  });

  it("lists the command lines of a process's descendants, grandchildren too, not its own", async () => {
    // A shell that starts a sleeping grandchild, then sleeps itself.
    const child = spawn("sh", ["-c", "sleep 30.5 & sleep 30.25; wait"], { stdio: "ignore", detached: true });
    try {
      let commands: string[] = [];
      while (commands.length < 2) {
        await new Promise((r) => setTimeout(r, 20));
        commands = descendantCommands(process.pid).filter((c) => c.startsWith("sleep 30."));
      }
      expect(commands.sort()).toEqual(["sleep 30.25", "sleep 30.5"]);
      expect(descendantCommands(child.pid!).sort()).toEqual(["sleep 30.25", "sleep 30.5"]);
      expect(descendantCommands(2 ** 22 + 1)).toEqual([]);
    } finally {
      process.kill(-child.pid!, "SIGKILL"); // its process group: the sleeps too
      await once(child, "exit");
    }
  });

  it("counts a process that no longer exists as 0", async () => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await once(child, "exit");
    expect(processTreeRssBytes(child.pid!)).toBe(0);
    expect(processTreeCpuSeconds(child.pid!)).toBe(0);
  });
});

describe("CPU split of a soak minute", () => {
  it("charges a busy stack process to its name and reads the machine's totals", async () => {
    // A stand-in "service" that spins for 600 ms, then idles.
    const child = spawn(
      process.execPath,
      ["-e", "const end = Date.now() + 600; while (Date.now() < end); setTimeout(() => {}, 30000)"],
      { stdio: "ignore" },
    );
    try {
      const split = new CpuSplit({ service: child.pid! }, "traefik");
      const machineBefore = machineCpuSeconds();
      const before = split.snapshot();
      await new Promise((r) => setTimeout(r, 900));
      const shares = split.shares(before, split.snapshot());
      const machineAfter = machineCpuSeconds();
      expect(Object.keys(shares)).toEqual([...CPU_CONSUMERS]);
      // 600 ms of spinning in a 900 ms interval, on a machine that other work may share.
      expect(shares.service).toBeGreaterThan(25);
      expect(shares.service).toBeLessThanOrEqual(101);
      expect(shares.service).toBeGreaterThan(shares.edge!);
      expect(shares.edge).toBe(0);
      for (const value of Object.values(shares)) expect(value).toBeGreaterThanOrEqual(0);
      expect(machineAfter.busy).toBeGreaterThan(machineBefore.busy);
      expect(machineAfter.idle).toBeGreaterThanOrEqual(machineBefore.idle);
      expect(machineAfter.steal).toBeGreaterThanOrEqual(machineBefore.steal);
    } finally {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  });
});

describe("TCP counters from /proc/net/netstat", () => {
  const netstat = [
    "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPSynRetrans",
    "TcpExt: 0 6664 6664 3539",
    "IpExt: InNoRoutes ListenOverflows",
    "IpExt: 0 99",
  ].join("\n");

  it("reads listen overflows and SYN retransmits from the TcpExt lines only", () => {
    expect(tcpCounters(netstat)).toEqual({ listenOverflows: 6664, synRetransmits: 3539 });
  });

  it("names the counter a kernel does not report", () => {
    expect(() => tcpCounters("TcpExt: ListenOverflows\nTcpExt: 1\n")).toThrow(
      "/proc/net/netstat: no TcpExt TCPSynRetrans",
    );
  });

  it("reads this machine's counters as non-negative integers", () => {
    const counters = tcpCounters();
    expect(Number.isInteger(counters.listenOverflows) && counters.listenOverflows >= 0).toBe(true);
    expect(Number.isInteger(counters.synRetransmits) && counters.synRetransmits >= 0).toBe(true);
  });
});
