/**
 * Where the machine's CPU went during a soak minute: the service, the edge proxy (Traefik, or nginx
 * with `--edge nginx`), the load generator (this process), the rest of the stack, anything else on
 * the machine, and steal (the hypervisor running another tenant). A minute whose latency jumps can then be read against what shared the cores.
 */
import { performance } from "node:perf_hooks";
import { machineCpuSeconds, processTreeCpuSeconds } from "../proc.js";

/** Percent of one core, per consumer, over an interval. */
export type CpuShares = Readonly<Record<string, number>>;

/** The consumers reported, in report order; `stack` is every other process the stack started. */
export const CPU_CONSUMERS = ["service", "edge", "generator", "stack", "other", "steal"] as const;

interface Snapshot {
  readonly atMs: number;
  readonly byName: Readonly<Record<string, number>>;
  readonly busy: number;
  readonly steal: number;
}

export class CpuSplit {
  /**
   * `pids`: the stack's processes by name; `service` and the edge's process (named `edge` there,
   * `traefik` or `nginx`) are reported on their own.
   */
  constructor(
    private readonly pids: Readonly<Record<string, number>>,
    private readonly edge: string,
  ) {}

  snapshot(): Snapshot {
    const machine = machineCpuSeconds();
    const byName: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) byName[name] = processTreeCpuSeconds(pid);
    const own = process.cpuUsage();
    byName.generator = (own.user + own.system) / 1e6;
    return { atMs: performance.now(), byName, busy: machine.busy, steal: machine.steal };
  }

  /** Shares between two snapshots, in percent of one core (a 2-core machine has 200 %). */
  shares(from: Snapshot, to: Snapshot): CpuShares {
    const seconds = (to.atMs - from.atMs) / 1000;
    const used = (name: string) => Math.max(0, (to.byName[name] ?? 0) - (from.byName[name] ?? 0));
    const service = used("service");
    const edge = used(this.edge);
    const generator = used("generator");
    const stack = Object.keys(this.pids)
      .filter((name) => name !== "service" && name !== this.edge)
      .reduce((sum, name) => sum + used(name), 0);
    const busy = to.busy - from.busy;
    const percent = (value: number) => Math.round((value / seconds) * 1000) / 10;
    return {
      service: percent(service),
      edge: percent(edge),
      generator: percent(generator),
      stack: percent(stack),
      other: percent(Math.max(0, busy - service - edge - generator - stack)),
      steal: percent(to.steal - from.steal),
    };
  }
}
