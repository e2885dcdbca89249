/**
 * `npm run soak`: the whole local stack under sustained load through nginx (TLS) at 70 % of its
 * measured capacity for 10 minutes (see --help). Prints one line per minute and a verdict, writes
 * out/soak/report.md and report.json (and the stack's log to out/soak/stack.log), and exits 1 when
 * the soak fails: any error, an unstable p99, or RSS growth of 10 % or more.
 */
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { describeMachine, type MachineInfo } from "../machine.js";
import { REPO_ROOT } from "../paths.js";
import type { LocalStack } from "../../stack/local/stack.js";
import { MAX_STEP_P99_MS, MIN_ACHIEVED_SHARE } from "../load/capacity-search.js";
import { CPU_CONSUMERS, type CpuShares } from "./cpu-split.js";
import {
  MAX_RSS_GROWTH_PERCENT,
  P99_STABILITY_FACTOR,
  runSoak,
  type SoakOptions,
  type SoakResult,
} from "./run.js";

const USAGE = `usage: npm run soak -- [options]

  --minutes N            minutes at the soak rate (default 10)
  --share F              share of the measured capacity to run at (default 0.7)
  --capacity-seconds S   length of the closed-loop estimate (default 15)
  --step-seconds S       length of each open-loop capacity step (default 15)
  --connections N        keep-alive connections of the load generator (default 32)
  --out DIR              report folder (default out/soak)
`;

function numberOption(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) {
    process.stderr.write(`soak: --${name} must be a number from ${min} to ${max}; got ${text}\n\n${USAGE}`);
    process.exit(2);
  }
  return value;
}

const { values } = parseArgs({
  options: {
    minutes: { type: "string" },
    share: { type: "string" },
    "capacity-seconds": { type: "string" },
    "step-seconds": { type: "string" },
    connections: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const options: SoakOptions = {
  minutes: Math.round(numberOption("minutes", values.minutes, 10, 1, 240)),
  share: numberOption("share", values.share, 0.7, 0.05, 1),
  capacitySeconds: numberOption("capacity-seconds", values["capacity-seconds"], 15, 3, 300),
  stepSeconds: numberOption("step-seconds", values["step-seconds"], 15, 3, 300),
  warmupSeconds: 5,
  settleSeconds: 30,
  connections: Math.round(numberOption("connections", values.connections, 32, 1, 1024)),
};
const outDir = path.resolve(values.out ?? path.join(REPO_ROOT, "out", "soak"));

const ms = (value: number) => value.toFixed(1);
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

function renderMarkdown(result: SoakResult, machine: MachineInfo): string {
  const cpuCells = (shares: CpuShares) => CPU_CONSUMERS.map((name) => shares[name]!.toFixed(0)).join(" | ");
  const rows = result.minutes.map(
    (m) =>
      `| ${m.minute} | ${m.sent} | ${m.ok} | ${m.non2xx} | ${m.failed} | ${m.achievedPerSecond.toFixed(0)} | ` +
      `${ms(m.latency.p50Ms)} | ${ms(m.latency.p99Ms)} | ${ms(m.latency.maxMs)} | ` +
      `${ms(m.generatorLag.p99Ms)} / ${ms(m.generatorLag.maxMs)} | ${m.tcp.listenOverflows} / ${m.tcp.synRetransmits} | ` +
      `${m.speedPercent.toFixed(0)} | ` +
      `${cpuCells(m.cpu)} |`,
  );
  const steps = result.capacity.steps.map(
    ({ share, result: r, failure }) =>
      `| | ${r.ratePerSecond} | ${Math.round(share * 100)} | ${r.sent} | ${r.ok} | ${r.non2xx} | ${r.failed} | ` +
      `${r.achievedPerSecond.toFixed(0)} | ${ms(r.latency.p50Ms)} | ${ms(r.latency.p99Ms)} | ${failure ?? "holds"} |`,
  );
  const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
  return `# Soak through nginx (TLS): POST /predict

${machine.date} · ${machine.cpuModel} · ${machine.cores} cores · load average at the start ${machine.loadAverage.toFixed(2)} (other work shares the CPU) · node ${process.version}

- closed-loop estimate (${result.options.connections} connections, ${result.options.capacitySeconds} s): ${result.estimate.requestsPerSecond.toFixed(0)} req/s (${result.estimate.non2xx + result.estimate.failed} errors)
- capacity (open loop, the highest step that held: no errors, >= ${MIN_ACHIEVED_SHARE * 100} % of the rate answered, p99 <= ${MAX_STEP_P99_MS} ms): **${result.capacity.ratePerSecond} req/s**
- soak: ${result.options.minutes} min at ${Math.round(result.options.share * 100)} % = **${result.ratePerSecond} req/s** after ${result.options.settleSeconds} s of settling at that rate (not measured), open loop, latency from the intended send time

| check | value | limit | result |
|---|---|---|---|
| errors (non-2xx + failed) | ${result.errors} | 0 | ${verdict(result.errors === 0)} |
| p99 stable (worst minute / median minute) | ${ms(result.p99.maxMs)} / ${ms(result.p99.medianMs)} ms | <= ${P99_STABILITY_FACTOR}x | ${verdict(result.p99.stable)} |
| service RSS growth (late vs early window) | ${result.rss.growthPercent.toFixed(1)} % (${mb(result.rss.earlyBytes)} -> ${mb(result.rss.lateBytes)} MB) | < ${MAX_RSS_GROWTH_PERCENT} % | ${verdict(result.rss.growthPercent < MAX_RSS_GROWTH_PERCENT)} |

| minute | sent | 2xx | non-2xx | failed | 2xx/s | p50 ms | p99 ms | max ms | generator lag p99 / max ms | listen overflows / SYN retransmits | CPU speed % | ${CPU_CONSUMERS.map((n) => `CPU ${n} %`).join(" | ")} |
|---|---|---|---|---|---|---|---|---|---|---|---|${CPU_CONSUMERS.map(() => "---").join("|")}|
${rows.join("\n")}
| estimate | | | | | ${result.estimate.requestsPerSecond.toFixed(0)} | | | | | | 100 | ${cpuCells(result.estimate.cpu)} |

| capacity step | rate req/s | % of estimate | sent | 2xx | non-2xx | failed | 2xx/s | p50 ms | p99 ms | verdict |
|---|---|---|---|---|---|---|---|---|---|---|
${steps.join("\n")}

Generator lag: the load generator's own event-loop delay during the minute (a request due while it was blocked left late, and an answer that arrived was read late; both count as latency). Listen overflows / SYN retransmits: the machine's TCP counters over the minute (a connection attempt dropped by a full accept queue is retried after 1 s, then 2 s more). CPU speed: how fast a fixed piece of arithmetic ran in the load generator during the minute, against the closed-loop estimate (100: as fast; 80: it took 25 % longer, so the same load is a larger share of what the machine could do). CPU columns: percent of one core (the machine has ${machine.cores * 100} %) used by the service, nginx, the load generator (this process), the rest of the stack (MLflow, Prometheus, oauth2-proxy, the OIDC provider), anything else on the machine, and steal (the hypervisor running another tenant while this VM waited).

Service RSS peak ${mb(result.rss.peakBytes)} MB; slope ${mb(result.rss.slopeBytesPerMinute)} MB/min after warm-up.

**${result.passed ? "PASS" : "FAIL"}**
`;
}

await mkdir(outDir, { recursive: true });
const stackLog = createWriteStream(path.join(outDir, "stack.log"));
const progress = (line: string) => process.stderr.write(`soak: ${line}\n`);
// Ctrl-C or SIGTERM mid-run stops the stack's processes (their own process groups) before exiting.
let stack: LocalStack | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}, stopping the stack`);
    void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}
process.once("exit", () => stack?.kill());
const machine = describeMachine();
try {
  const result = await runSoak(options, {
    stackLog: (line) => stackLog.write(`${line}\n`),
    progress,
    onStarted: (started) => (stack = started),
  });
  const markdown = renderMarkdown(result, machine);
  await writeFile(path.join(outDir, "report.md"), markdown);
  await writeFile(path.join(outDir, "report.json"), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${markdown}\nreport: ${path.join(outDir, "report.md")}\n`);
  process.exitCode = result.passed ? 0 : 1;
} catch (err) {
  process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  stackLog.end();
}
