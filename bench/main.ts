/**
 * `npm run bench`: measures the floors, the service and the FastAPI peer in one run, prints one
 * report (checks with PASS/FAIL, then the figures) and writes it to out/bench/report.md and
 * report.json. See `npm run bench -- --help`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { OptionsError, parseBenchOptions, USAGE, type BenchOptions } from "./options.js";
import { stopAll, stopChildrenOnExit } from "./processes.js";
import { acceptanceChecks } from "./report/acceptance.js";
import { writeCurveCharts } from "./report/curve-charts.js";
import { renderJson, renderMarkdown } from "./report/render.js";
import { runBench, runTimeBoundSeconds } from "./run.js";

const log = (line: string) => process.stderr.write(`${line}\n`);

function parseOrExit(): BenchOptions {
  try {
    const parsed = parseBenchOptions(process.argv.slice(2));
    if (parsed === "help") {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    return parsed;
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const options = parseOrExit();
stopChildrenOnExit();

const boundSeconds = runTimeBoundSeconds(options);
const watchdog = setTimeout(() => {
  log(`bench: still running after its ${Math.round(boundSeconds)} s bound; stopping`);
  void stopAll().finally(() => process.exit(1));
}, boundSeconds * 1000);
watchdog.unref();

try {
  const results = await runBench(options, log);
  const checks = acceptanceChecks(results);
  const markdown = renderMarkdown(results, checks);
  await mkdir(options.outDir, { recursive: true });
  await writeFile(path.join(options.outDir, "report.md"), markdown);
  await writeFile(path.join(options.outDir, "report.json"), renderJson(results, checks));
  const charts = await writeCurveCharts(results.oip, options.outDir);
  process.stdout.write(`\n${markdown}`);
  log(
    `bench: report written to ${path.join(options.outDir, "report.md")} and report.json` +
      (charts.length > 0 ? `, charts ${charts.join(", ")}` : ""),
  );
  process.exitCode = results.failures.length > 0 ? 1 : 0;
} catch (err) {
  log(`bench: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await stopAll();
}
