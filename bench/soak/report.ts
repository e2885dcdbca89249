/** The soak's report (out/soak/report.md): the verdict first, then every window and incident. */
import type { MachineInfo } from "../machine.js";
import { MAX_STEP_P99_MS, MIN_ACHIEVED_SHARE } from "../load/capacity-search.js";
import { CPU_CONSUMERS, type CpuShares } from "./cpu-split.js";
import type { SoakResult } from "./run.js";
import {
  describeStall,
  GENERATOR_LAG_LIMIT_MS,
  MACHINE_BUSY_PERCENT,
  MIN_SPEED_PERCENT,
  RECOVERY_LIMIT_MS,
} from "./verdict.js";

const ms = (value: number) => value.toFixed(1);
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const seconds = (value: number) => (value / 1000).toFixed(1);

function rateLines(result: SoakResult): string {
  const { options, estimate, capacity } = result;
  const soak = `soak: ${options.minutes} min at **${result.ratePerSecond} req/s**`;
  if (estimate === undefined || capacity === undefined) {
    return `- ${soak} (a fixed rate: no capacity measured), after ${options.settleSeconds} s of settling at that rate (not measured)`;
  }
  return [
    `- closed-loop estimate (${options.connections} connections, ${options.capacitySeconds} s): ${estimate.requestsPerSecond.toFixed(0)} req/s (${estimate.non2xx + estimate.failed} errors)`,
    `- capacity (open loop, the highest step that held: no errors, >= ${MIN_ACHIEVED_SHARE * 100} % of the rate answered, p99 <= ${MAX_STEP_P99_MS} ms): **${capacity.ratePerSecond} req/s**`,
    `- ${soak} = ${Math.round(options.share * 100)} % of capacity, after ${options.settleSeconds} s of settling at that rate (not measured)`,
  ].join("\n");
}

function capacityTable(result: SoakResult): string {
  if (result.capacity === undefined) return "";
  const steps = result.capacity.steps.map(
    ({ share, result: r, failure }) =>
      `| ${r.ratePerSecond} | ${Math.round(share * 100)} | ${r.sent} | ${r.ok} | ${r.non2xx} | ${r.failed} | ` +
      `${r.achievedPerSecond.toFixed(0)} | ${ms(r.serviceLatency.p50Ms)} | ${ms(r.serviceLatency.p99Ms)} | ${failure ?? "holds"} |`,
  );
  return `
| capacity step req/s | % of estimate | sent | 2xx | non-2xx | failed | 2xx/s | p50 ms | p99 ms | verdict |
|---|---|---|---|---|---|---|---|---|---|
${steps.join("\n")}
`;
}

export function renderSoakReport(result: SoakResult, machine: MachineInfo): string {
  const { verdict, generator } = result;
  const cpuCells = (shares: CpuShares) => CPU_CONSUMERS.map((name) => shares[name]!.toFixed(0)).join(" | ");
  const windows = verdict.windows.map(
    (w) =>
      `| ${w.window} | ${seconds(w.fromMs)}-${seconds(w.toMs)} | ${w.state}${w.reason === undefined ? "" : ` (${w.reason})`} | ` +
      `${w.sent} | ${w.ok} | ${w.non2xx} | ${w.failed} | ${w.achievedPerSecond.toFixed(0)} | ` +
      `${ms(w.serviceLatency.p50Ms)} | ${ms(w.serviceLatency.p99Ms)} | ${ms(w.latency.p99Ms)} | ${ms(w.latency.maxMs)} | ` +
      `${ms(w.sentLate.p99Ms)} / ${ms(w.generatorLagMaxMs)} | ${w.tcp.listenOverflows} / ${w.tcp.synRetransmits} | ` +
      `${w.speedPercent.toFixed(0)} | ${cpuCells(w.cpu)} |`,
  );
  const faults = verdict.faults.map(
    (f) =>
      `- **${f.kind} (injected)** from ${seconds(f.fromMs)} s to ${seconds(f.toMs)} s: ${f.detail}. Of the ` +
      `${f.requests} requests due from ${seconds(f.span[0])} s to ${seconds(f.span[1])} s (1 s before it to ` +
      `1 s after its recovery), ${f.late} answered late (held > ${ms(verdict.lateMs)} ms) and ${f.failed} ` +
      `failed or not 2xx; it recovered ${seconds(f.recoveryMs)} s after it ended (limit ${RECOVERY_LIMIT_MS / 1000} s).`,
  );
  const stalls = verdict.stalls.map((s) => `- **stall, cause: ${s.cause}**: ${describeStall(s)}`);
  const incidents = [...faults, ...stalls];
  const verdictWord = (passed: boolean | undefined) =>
    passed === undefined ? "not judged" : passed ? "PASS" : "FAIL";
  return `# Soak through the edge (TLS): POST /predict

${machine.date} · ${machine.cpuModel} · ${machine.cores} cores · load average at the start ${machine.loadAverage.toFixed(2)} · node ${process.version}

${rateLines(result)}
- generator: ${generator.threads} threads, ${generator.connections} connections; ${generator.cpuMicrosecondsPerRequest.toFixed(0)} us of CPU per request, so one core could send ~${Math.round(generator.ceilingPerCore)} req/s (the soak asked ${((result.ratePerSecond / generator.ceilingPerCore) * 100).toFixed(0)} % of one core of it); worst event-loop delay ${ms(generator.lagMaxMs)} ms
- judged in windows of ${result.options.windowSeconds} s; speed reference: the ${result.speedReference}

**${verdict.outcome}**${verdict.reasons.length === 0 ? "" : `: ${verdict.reasons.join("; ")}`}

| check | value | limit | result |
|---|---|---|---|
${verdict.checks.map((c) => `| ${c.name} | ${c.value} | ${c.limit} | ${verdictWord(c.passed)} |`).join("\n")}

## Incidents

${incidents.length === 0 ? "None: no fault injected, no stall of a second or more." : incidents.join("\n")}

## Windows

| window | s | state | due | 2xx | non-2xx | failed | 2xx/s | service p50 ms | service p99 ms | client p99 ms | client max ms | sent late p99 / generator lag max ms | listen overflows / SYN retransmits | CPU speed % | ${CPU_CONSUMERS.map((n) => `CPU ${n} %`).join(" | ")} |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|${CPU_CONSUMERS.map(() => "---").join("|")}|
${windows.join("\n")}
${result.estimate === undefined ? "" : `\nCPU during the closed-loop estimate: ${cpuCells(result.estimate.cpu)} (${CPU_CONSUMERS.join(", ")}).\n`}${capacityTable(result)}
How to read it. Requests are counted in the window they were due in (the *due* column leaves out those due during an injected fault); requests due from 1 s before an injected fault until a full second of requests is on time again after it are judged by the fault's rule above, not for their window's p99: a fault excuses lateness, never an error, and a late request after its recovery counts against the service. *Client* latency runs from the intended send time to the answer, what a client on the schedule saw. *Service* latency is the same less the generator's part: the larger of the time it sent the request late while a connection was free for it and the time its thread was blocked while the request was due, in flight or being read. The rest is what the service and the edge held it for (waiting for a connection because every one was busy counts: the service held them). *Sent late / generator lag*: the generator's own delay; a window with a generator thread blocked over ${GENERATOR_LAG_LIMIT_MS} ms is the generator's and its p99 is not judged, nor is that of a window in which other work and steal took ${MACHINE_BUSY_PERCENT} % of a core or more, or the CPU ran below ${MIN_SPEED_PERCENT} % of its speed at the reference (another tenant on the sibling hyperthread); their errors still count, and a stall in them is the generator's or the machine's. Listen overflows / SYN retransmits: the machine's TCP counters. CPU columns: percent of one core (the machine has ${machine.cores * 100} %) used by the service, the edge proxy (Traefik, or nginx with --edge nginx), this process (the generator), the rest of the stack (MLflow, Prometheus, oauth2-proxy, the OIDC provider), anything else (an injected CPU hog shows here), and steal.

Service RSS peak ${mb(result.rss.peakBytes)} MB; ${result.rss.growthPercent.toFixed(1)} % (${mb(result.rss.earlyBytes)} -> ${mb(result.rss.lateBytes)} MB); slope ${mb(result.rss.slopeBytesPerMinute)} MB/min after warm-up.
`;
}
