/**
 * `npm run soak`: the whole local stack under sustained load through its edge (Traefik, TLS) at 70 % of its
 * measured capacity for 10 minutes (see --help). Prints one line per window and a verdict, writes
 * out/soak/report.md and report.json (and the stack's log to out/soak/stack.log), and exits 1 when
 * the soak fails, 3 when it could not judge enough of the run (./verdict.ts).
 */
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { describeMachine } from "../machine.js";
import { REPO_ROOT } from "../paths.js";
import type { LocalStack } from "../../stack/local/stack.js";
import { checkFaultPlan, parseFaultTiming, type FaultPlan } from "./faults.js";
import { renderSoakReport } from "./report.js";
import { runSoak, type SoakOptions } from "./run.js";
import { RECOVERY_LIMIT_MS } from "./verdict.js";

const USAGE = `usage: npm run soak -- [options]

  --minutes N            minutes at the soak rate (default 10, at most 60)
  --share F              share of the measured capacity to run at (default 0.7)
  --rate N               a fixed rate in req/s instead (skips the capacity measurement)
  --capacity-seconds S   length of the closed-loop estimate (default 15)
  --step-seconds S       length of each open-loop capacity step (default 15)
  --connections N        least keep-alive connections of the load generator (default 32)
  --threads N            load generator threads (default: one per core, at most 4)
  --window-seconds S     length of the windows the soak is judged in (default 60)
  --pause-service AT:S   inject a fault: stop the service (SIGSTOP) AT s into the soak for S s
  --cpu-hog AT:S         inject a fault: one busy process per core beside the generator, AT s in, for S s
  --out DIR              report folder (default out/soak)
`;

function fail(message: string): never {
  process.stderr.write(`soak: ${message}\n\n${USAGE}`);
  process.exit(2);
}

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
    fail(`--${name} must be a number from ${min} to ${max}; got ${text}`);
  }
  return value;
}

function faultOption(name: string, text: string | undefined) {
  if (text === undefined) return undefined;
  try {
    return parseFaultTiming(name, text);
  } catch (err) {
    return fail((err as Error).message);
  }
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        minutes: { type: "string" },
        share: { type: "string" },
        rate: { type: "string" },
        "capacity-seconds": { type: "string" },
        "step-seconds": { type: "string" },
        connections: { type: "string" },
        threads: { type: "string" },
        "window-seconds": { type: "string" },
        "pause-service": { type: "string" },
        "cpu-hog": { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (err) {
    return fail((err as Error).message);
  }
})();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const pauseService = faultOption("pause-service", values["pause-service"]);
const cpuHog = faultOption("cpu-hog", values["cpu-hog"]);
const faults: FaultPlan = {
  ...(pauseService === undefined ? {} : { pauseService }),
  ...(cpuHog === undefined ? {} : { cpuHog }),
};
const options: SoakOptions = {
  // Every request is kept (~33 bytes): an hour at 3,600 req/s holds ~430 MB.
  minutes: Math.round(numberOption("minutes", values.minutes, 10, 1, 60)),
  share: numberOption("share", values.share, 0.7, 0.05, 1),
  ...(values.rate === undefined
    ? {}
    : { ratePerSecond: Math.round(numberOption("rate", values.rate, 0, 1, 100_000)) }),
  capacitySeconds: numberOption("capacity-seconds", values["capacity-seconds"], 15, 3, 300),
  stepSeconds: numberOption("step-seconds", values["step-seconds"], 15, 3, 300),
  warmupSeconds: 5,
  settleSeconds: 30,
  connections: Math.round(numberOption("connections", values.connections, 32, 1, 4096)),
  ...(values.threads === undefined
    ? {}
    : { threads: Math.round(numberOption("threads", values.threads, 0, 1, 64)) }),
  windowSeconds: numberOption("window-seconds", values["window-seconds"], 60, 5, 3600),
  faults,
};
try {
  checkFaultPlan(faults, options.minutes * 60, RECOVERY_LIMIT_MS / 1000);
} catch (err) {
  fail((err as Error).message);
}
const outDir = path.resolve(values.out ?? path.join(REPO_ROOT, "out", "soak"));

await mkdir(outDir, { recursive: true });
const stackLog = createWriteStream(path.join(outDir, "stack.log"));
const progress = (line: string) => process.stderr.write(`soak: ${line}\n`);
// Ctrl-C or SIGTERM mid-run stops the stack's processes (their own process groups) before exiting.
let stack: LocalStack | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}, stopping the stack`);
    void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
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
  const markdown = renderSoakReport(result, machine);
  await writeFile(path.join(outDir, "report.md"), markdown);
  await writeFile(path.join(outDir, "report.json"), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${markdown}\nreport: ${path.join(outDir, "report.md")}\n`);
  process.exitCode = { PASS: 0, FAIL: 1, INCONCLUSIVE: 3 }[result.verdict.outcome];
} catch (err) {
  process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  stackLog.end();
}
