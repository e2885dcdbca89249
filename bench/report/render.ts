/** The bench report: one Markdown page (printed and written to report.md) and its JSON twin. */
import path from "node:path";
import { OPEN_LOOP_IN_FLIGHT_SECONDS } from "../load/fixed-rate.js";
import { REPO_ROOT } from "../paths.js";
import type { ResponseCounts } from "../load/target.js";
import {
  ROUTES,
  SERVERS,
  type BenchResults,
  type Route,
  type ServerName,
  type ShadowLegResult,
} from "../results.js";
import type { ShadowCounters } from "../stats/prometheus-text.js";
import type { Check } from "./checks.js";
import { costSplit } from "./cost-split.js";
import { checksTable, formatNumber, formatRatio, markdownTable } from "./format.js";
import { count, cpuCell, failedIn, fixedRateCells, LOAD_COLUMNS, ms, ratioOf, reqs } from "./load-cells.js";
import { oipFigures } from "./oip-section.js";

const SERVER_TITLES: Record<ServerName, string> = {
  floor: "HTTP floor (bare fastify)",
  service: "plinth service",
  peer: "FastAPI peer",
};
const ROUTE_TITLES: Record<Route, string> = { json: "JSON row", png: "28x28 PNG" };

const mb = (bytes: number) => formatNumber(bytes / 1e6, "MB");
const us = (value: number | undefined) => (value === undefined ? "—" : formatNumber(value, "us"));

/** Repository paths relative to its root, others as given. */
function displayPath(file: string): string {
  const relative = path.relative(REPO_ROOT, file);
  return relative.startsWith("..") ? file : relative;
}

function header(results: BenchResults): string[] {
  const { machine: m, options: o } = results;
  const peer = results.peerVersions;
  return [
    `# plinth bench — ${m.date}`,
    "",
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.platform}; node ${m.node}; ` +
      Object.entries(m.packages)
        .map(([name, version]) => `${name} ${version}`)
        .join(", ") +
      `. Load average at start: ${m.loadAverage.toFixed(2)}` +
      (m.loadAverage > 1 ? " (BUSY: other work shared the CPU; these figures are noisy)." : "."),
    `Model: ${results.model.name} v${results.model.version} (${results.model.architecture}); ` +
      `request bodies from ${displayPath(results.samplePng)}.`,
    `Load, identical for the HTTP floor, the service and the peer: ${o.connections} connections, ` +
      `pipelining ${o.pipelining}, ${o.durationSeconds} s per phase after ${o.warmupSeconds} s of warm-up; ` +
      `fixed-rate phases at ${o.fixedRateShare * 100}% of the service's saturation throughput on the route, ` +
      `open loop (with more connections when the rate needs them: every request may stay in flight ` +
      `${OPEN_LOOP_IN_FLIGHT_SECONDS * 1000} ms before requests queue in the generator; the same rate runs ` +
      `${o.warmupSeconds} s first on the same connections, unmeasured), latency from each ` +
      `request's intended send time (coordinated omission corrected). ` +
      `The load generator shares the machine's cores with the server under test; nothing is pinned.`,
    serviceLine(results),
    peer === undefined
      ? "Peer: not run."
      : `Peer: FastAPI ${peer.fastapi} + uvicorn ${peer.uvicorn} (uvloop, httptools, ${o.peerWorkers} worker) + ` +
        `onnxruntime ${peer.onnxruntime}, Python ${peer.python}, same model and ONNX Runtime thread settings.`,
  ];
}

function serviceLine(results: BenchResults): string {
  const d = results.serviceDescription;
  const settings = Object.entries(results.options.serviceEnv).map(([name, value]) => `${name}=${value}`);
  const extra = settings.length === 0 ? "" : `; settings from --env: ${settings.join(", ")}`;
  if (d === undefined) return `Service: description not available${extra}.`;
  const where = d.warmup.offloaded ? "in a worker thread" : "on the event loop";
  return (
    `Service: micro-batches of up to ${d.batching.maxBatchSize} rows, ${d.batching.maxDelayMs} ms max delay; ` +
    `inference ${where} (warm-up: ${ms(d.warmup.singleRowMs)} for 1 row, ${ms(d.warmup.fullBatchMs)} for ` +
    `${d.warmup.fullBatchRows})${extra}.`
  );
}

function httpFigures(results: BenchResults): string {
  const rows: string[][] = [];
  for (const server of SERVERS) {
    for (const route of ROUTES) {
      const r = results.servers[server][route];
      if (r === undefined) continue;
      rows.push([
        SERVER_TITLES[server],
        ROUTE_TITLES[route],
        r.saturation === undefined ? "—" : reqs(r.saturation.requestsPerSecond),
        cpuCell(r.saturationCpu),
        ...fixedRateCells(r.fixedRate),
        String(failedIn(r)),
      ]);
    }
  }
  return markdownTable(["server", "body", "saturation", ...LOAD_COLUMNS], rows);
}

function floorFigures(results: BenchResults): string {
  const inference = results.inferenceFloor;
  const image = results.imageFloor;
  const service = results.serviceInference;
  const rows: string[][] = [
    ["ORT session.run, 1 row", us(inference?.singleRowUs)],
    [`ORT session.run, batch ${inference?.batchSize ?? 32}, per row`, us(inference?.batchPerRowUs)],
    [`ORT session.run, batch ${inference?.batchSize ?? 32}, per call`, us(inference?.batchCallUs)],
    ...ROUTES.map((route) => [
      `service session.run per row at ${ROUTE_TITLES[route]} saturation (mean batch ${service[route]?.meanBatchSize.toFixed(1) ?? "—"})`,
      us(service[route]?.perRowUs),
    ]),
    ["PNG decode, sharp (to raw grey)", us(image?.sharpUs)],
    ["PNG decode, fast-png (pure JS)", us(image?.fastPngUs)],
    ["PNG decode, the service's imageToPixels", us(image?.serviceUs)],
  ];
  return markdownTable(["operation", "mean time"], rows);
}

/** The service's CPU per request at saturation, split, and the ceiling this model allows. */
function costSplitFigures(results: BenchResults): string[] {
  const rows = ROUTES.flatMap((route) => {
    const split = costSplit(results, route);
    if (split === undefined) return [];
    return [
      [
        ROUTE_TITLES[route],
        us(split.serviceUs),
        us(split.floorUs),
        us(split.inferenceUs),
        route === "png" ? us(split.decodeUs) : "—",
        us(split.restUs),
        formatRatio(split.ceilingRatio),
      ],
    ];
  });
  if (rows.length === 0) return ["Not measured: a saturation phase or a floor did not run."];
  return [
    "Both servers run one event loop at ~1 core when saturated, so throughput ratios are ratios of CPU per request. " +
      "The ceiling is the ratio an ideal service would reach that added nothing to the HTTP floor but the batch-32 " +
      "inference floor (and the decode floor for images): a target above it needs a cheaper model or more cores.",
    "",
    markdownTable(
      [
        "body",
        "service",
        "HTTP floor",
        "inference (service, per row)",
        "image decode",
        "plinth's own path",
        "ceiling / floor",
      ],
      rows,
    ),
  ];
}

const requestsIn = (counts: ResponseCounts | undefined) =>
  counts === undefined ? undefined : counts.ok + counts.non2xx + counts.failed;

function counterText(counters: ShadowCounters | undefined, requests: number | undefined): string {
  if (counters === undefined) return "not measured";
  const agreement =
    counters.compared > 0 ? ` (${((100 * counters.agreed) / counters.compared).toFixed(1)}% agree)` : "";
  const of = requests === undefined ? "" : `, for ${count(requests)} requests in the phase`;
  return `${count(counters.compared)} compared${agreement} and ${count(counters.dropped)} dropped${of}`;
}

function shadowFigures(results: BenchResults): string[] {
  const shadow = results.shadow;
  if (shadow === undefined) return ["Not run in this run (--no-shadow)."];
  const legs: [string, ShadowLegResult][] = [
    ["plain (single)", shadow.plain],
    [`shadow ${shadow.percent}% to v${shadow.candidateVersion}`, shadow.shadow],
  ];
  const { plain, shadow: shadowed } = shadow;
  return [
    `Both runs serve one copy of the registry, alone on the machine, with the HTTP phases' load; the ` +
      `challenger is the stable model registered again, so the runs differ only by shadowing ` +
      `(its agreement must be 100%). The shadowing run goes first: both fixed-rate phases run at half ` +
      `of its saturation, the load every other fixed-rate phase gets, so its p99 shows what shadowing ` +
      `adds to a response rather than how near saturation a second inference per request puts it.`,
    "",
    markdownTable(
      ["run", "saturation", "fixed rate", "p50", "p99", "p99.9", "max", "failed"],
      legs.map(([title, leg]) => [
        title,
        leg.saturation === undefined ? "—" : reqs(leg.saturation.requestsPerSecond),
        ...fixedRateCells(leg.fixedRate),
        String(failedIn(leg)),
      ]),
    ),
    "",
    `Shadow / plain: p50 ${ratioOf(shadowed.fixedRate?.latency.p50Ms, plain.fixedRate?.latency.p50Ms)}, ` +
      `p99 ${ratioOf(shadowed.fixedRate?.latency.p99Ms, plain.fixedRate?.latency.p99Ms)} at the same fixed rate; ` +
      `saturation throughput ${ratioOf(shadowed.saturation?.requestsPerSecond, plain.saturation?.requestsPerSecond)}.`,
    `Shadow counters of the shadowing service: at the fixed rate ` +
      `${counterText(shadowed.fixedRateCounters, requestsIn(shadowed.fixedRate))}; at saturation ` +
      `${counterText(shadowed.saturationCounters, requestsIn(shadowed.saturation))} (the counters are ` +
      `read at each phase's edges, so copies still queued there can fall on either side).`,
  ];
}

function memoryFigures(results: BenchResults): string[] {
  const rss = results.serviceRss;
  const lines: string[] = [];
  if (results.serviceStartupMs !== undefined)
    lines.push(`Service start to ready: ${ms(results.serviceStartupMs)}.`);
  if (rss !== undefined) {
    lines.push(
      `Service RSS: ${mb(rss.idleBytes)} idle after start, peak ${mb(rss.trend.peakBytes)} under load, ` +
        `${mb(rss.trend.earlyBytes)} early -> ${mb(rss.trend.lateBytes)} late in the load phases ` +
        "(whether it stays flat is the soak's question: --soak 300).",
    );
  }
  const soak = results.soak;
  if (soak !== undefined) {
    lines.push(
      "",
      `Soak: ${soak.seconds} s of saturation, JSON and PNG at once (${reqs(soak.json.requestsPerSecond)} + ` +
        `${reqs(soak.png.requestsPerSecond)}); RSS ${soak.trend.flat ? "flat" : "NOT flat"}: ` +
        `${mb(soak.trend.earlyBytes)} -> ${mb(soak.trend.lateBytes)}, slope ${mb(soak.trend.slopeBytesPerMinute)}/min.`,
      "",
      markdownTable(
        ["from", "peak RSS"],
        soak.timeline.map((w) => [`${Math.round(w.fromMs / 1000)} s`, mb(w.peakBytes)]),
      ),
    );
  }
  return lines;
}

export function renderMarkdown(results: BenchResults, checks: readonly Check[]): string {
  const passed = checks.filter((c) => c.verdict === "PASS").length;
  const sections = [
    ...header(results),
    "",
    `## Checks: ${passed} of ${checks.length} pass`,
    "",
    checksTable(checks),
    "",
    "## HTTP figures (saturation: closed loop, 2xx per second; latency: fixed rate, open loop)",
    "",
    httpFigures(results),
    "",
    "## CPU per request at saturation, and the ceiling this model allows",
    "",
    ...costSplitFigures(results),
    "",
    "## In-process costs (floors, and the service's own paths under load)",
    "",
    floorFigures(results),
    "",
    "## Memory",
    "",
    ...memoryFigures(results),
    "",
    "## Shadow's cost on stable (/predict, JSON row)",
    "",
    ...shadowFigures(results),
    "",
    "## Open Inference Protocol v2: plinth, KServe and MLServer, same request",
    "",
    ...oipFigures(results),
  ];
  if (results.failures.length > 0) {
    sections.push(
      "",
      "## Phases that did not run",
      "",
      ...results.failures.map((f) => `- ${f.phase}: ${f.message}`),
    );
  }
  return sections.join("\n") + "\n";
}

export function renderJson(results: BenchResults, checks: readonly Check[]): string {
  return JSON.stringify({ results, checks }, null, 2) + "\n";
}
