/** What the figures were measured on, for the report header: figures only compare within one run. */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT } from "./paths.js";

export interface MachineInfo {
  readonly date: string;
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly platform: string;
  readonly node: string;
  /** 1-minute load average when the run started: above ~1, other work shared the CPU. */
  readonly loadAverage: number;
  /** Versions of the Node packages on the measured paths. */
  readonly packages: Readonly<Record<string, string>>;
}

const MEASURED_PACKAGES = ["fastify", "onnxruntime-node", "sharp", "autocannon", "undici"] as const;

function packageVersion(name: string): string {
  try {
    const manifest = readFileSync(path.join(REPO_ROOT, "node_modules", name, "package.json"), "utf8");
    return (JSON.parse(manifest) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function describeMachine(): MachineInfo {
  return {
    date: new Date().toISOString(),
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverage: os.loadavg()[0]!,
    packages: Object.fromEntries(MEASURED_PACKAGES.map((name) => [name, packageVersion(name)])),
  };
}
