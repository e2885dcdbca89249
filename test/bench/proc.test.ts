import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { processTreeCpuSeconds, processTreeRssBytes } from "../../bench/proc.js";

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

  it("counts a process that no longer exists as 0", async () => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await once(child, "exit");
    expect(processTreeRssBytes(child.pid!)).toBe(0);
    expect(processTreeCpuSeconds(child.pid!)).toBe(0);
  });
});
