import { describe, expect, it } from "vitest";
import { acceptanceChecks } from "../../bench/report/acceptance.js";
import { renderJson, renderMarkdown } from "../../bench/report/render.js";
import { fixedRate, goodRun, saturation } from "./fixtures.js";

describe("the bench report", () => {
  const run = goodRun();
  const checks = acceptanceChecks(run);
  const markdown = renderMarkdown(run, checks);
  const lines = markdown.split("\n");

  it("states the machine, its load and the load parameters in the header", () => {
    expect(lines[0]).toBe("# plinth bench — ");
    expect(markdown).toContain("2 cores (), 24 GiB");
    expect(markdown).toContain("Load average at start: 0.00.");
    expect(markdown).toContain(
      "Load, identical for the HTTP floor, the service and the peer: 32 connections, pipelining 1, 10 s per phase after 2 s of warm-up",
    );
  });

  it("flags a run on a busy machine", () => {
    const busy = goodRun();
    const noisy = renderMarkdown({ ...busy, machine: { ...busy.machine, loadAverage: 3.5 } }, checks);
    expect(noisy).toContain(
      "Load average at start: 3.50 (BUSY: other work shared the CPU; these figures are noisy).",
    );
  });

  it("counts passing checks in the heading of the checks table", () => {
    expect(lines).toContain("## Checks: 8 of 19 pass");
    expect(lines.find((l) => l.startsWith("| JSON throughput / FastAPI peer"))).toMatch(
      /\| 4,500 req\/s +\| 900 req\/s +\| 5\.00x +\| >= 3x +\| PASS +\|$/,
    );
  });

  it("lists every server and route with its saturation and fixed-rate latencies", () => {
    const serviceJson = lines.find((l) => l.startsWith("| plinth service") && l.includes("JSON row"));
    expect(serviceJson).toMatch(
      /\| 4,500 req\/s +\| — +\| 2,250 req\/s \(got 2,250 req\/s\) +\| 0\.60 ms +\| 3\.00 ms /,
    );
    expect(lines.filter((l) => l.startsWith("| FastAPI peer"))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith("| HTTP floor (bare fastify)"))).toHaveLength(2);
  });

  it("compares the plain and shadowing runs: latencies, ratios and the shadow counters", () => {
    const section = markdown.slice(markdown.indexOf("## Shadow's cost on stable (/predict, JSON row)"));
    const sectionLines = section.split("\n");
    expect(sectionLines.find((l) => l.startsWith("| plain (single)"))).toMatch(
      /^\| plain \(single\) +\| 4,400 req\/s \| 2,200 req\/s \(got 2,200 req\/s\) \| 0\.60 ms \| 3\.00 ms \| 3\.00 ms \| 3\.00 ms \| 0 +\|$/,
    );
    expect(sectionLines.find((l) => l.startsWith("| shadow 100% to v2"))).toMatch(
      /^\| shadow 100% to v2 \| 3,700 req\/s \| 2,200 req\/s \(got 2,200 req\/s\) \| 0\.72 ms \| 3\.60 ms \| 3\.60 ms \| 3\.60 ms \| 0 +\|$/,
    );
    expect(sectionLines).toContain(
      "Shadow / plain: p50 1.20x, p99 1.20x at the same fixed rate; saturation throughput 0.84x.",
    );
    expect(sectionLines).toContain(
      "Shadow counters of the shadowing service: at the fixed rate 22,000 compared (100.0% agree) and " +
        "0 dropped, for 22,000 requests in the phase; at saturation 30,000 compared (100.0% agree) and " +
        "7,000 dropped, for 37,000 requests in the phase (the counters are read at each phase's edges, " +
        "so copies still queued there can fall on either side).",
    );
  });

  it("says when the shadow phase did not run, or measured nothing", () => {
    const skipped = renderMarkdown({ ...goodRun(), shadow: undefined }, checks);
    expect(skipped).toContain(
      "## Shadow's cost on stable (/predict, JSON row)\n\nNot run in this run (--no-shadow).\n",
    );
    const failed = goodRun();
    failed.shadow = { percent: 100, candidateVersion: "2", plain: {}, shadow: {} };
    const text = renderMarkdown(failed, checks);
    expect(text).toContain("Shadow / plain: p50 —, p99 — at the same fixed rate; saturation throughput —.");
    expect(text).toContain(
      "Shadow counters of the shadowing service: at the fixed rate not measured; at saturation not measured " +
        "(the counters are read at each phase's edges, so copies still queued there can fall on either side).",
    );
  });

  it("compares plinth's v2 infer with KServe's and MLServer's per body: settings, ratio, p99, N/A with the reason", () => {
    const withOip = renderMarkdown(
      {
        ...goodRun(),
        oip: {
          rows: 1,
          rates: { json: 900, binary: 800 },
          settings: {
            service: { processes: "1 (node)", threads: "ORT 1", batching: "up to 32 rows" },
            kserve: { processes: "2 uvicorn workers", threads: "ORT 1 per worker", batching: "none" },
          },
          servers: {
            service: {
              startupMs: 900,
              bodies: {
                json: { saturation: saturation(3600), fixedRate: fixedRate(900, 2.5) },
                binary: { saturation: saturation(4000), fixedRate: fixedRate(800, 2) },
              },
            },
            kserve: {
              startupMs: 2500,
              bodies: {
                json: { saturation: saturation(1200), fixedRate: fixedRate(900, 9) },
                binary: { saturation: saturation(1600), fixedRate: fixedRate(800, 8) },
              },
            },
            mlserver: {
              bodies: {
                json: { saturation: saturation(1800, 3), fixedRate: fixedRate(900, 7) },
                binary: { unsupported: "reads JSON only; answered HTTP 500" },
              },
            },
          },
        },
      },
      checks,
    );
    const section = withOip.slice(withOip.indexOf("## Open Inference Protocol v2"));
    const row = (title: string, body: string) =>
      section.split("\n").find((l) => l.startsWith(`| ${title} `) && l.includes(`| ${body} `));
    expect(row("plinth", "JSON body")).toMatch(
      /^\| plinth +\| JSON body +\| 3,600 req\/s +\| — +\| — +\| 900 req\/s \(got 900 req\/s\) .*\| 0 +\| 900 ms +\|$/,
    );
    expect(row("KServe ModelServer", "JSON body")).toMatch(/\| 1,200 req\/s +\| 3\.00x +\|/);
    expect(row("KServe ModelServer", "binary tensor body")).toMatch(
      /\| 1,600 req\/s +\| 2\.50x +\|.*\| 8\.00 ms +\|/,
    );
    expect(row("Seldon MLServer", "JSON body")).toMatch(/\| 1,800 req\/s +\| 2\.00x +\|.*\| 3 +\| — +\|$/);
    expect(row("Seldon MLServer", "binary tensor body")).toMatch(/\| N\/A \(not supported\) +\| — +\|/);
    expect(section).toContain(
      "- Seldon MLServer, binary tensor body: N/A, reads JSON only; answered HTTP 500.",
    );
    expect(section).toMatch(/\| KServe ModelServer +\| 2 uvicorn workers +\| ORT 1 per worker +\| none +\|/);
    expect(section).toContain("Each server's settings (the peers as their docs recommend for CPU serving");
    expect(renderMarkdown(goodRun(), checks)).toContain("Not measured (--no-peer).");
  });

  it("names the phases that did not run", () => {
    const failed = { ...goodRun(), failures: [{ phase: "peer: start", message: "venv missing" }] };
    expect(renderMarkdown(failed, checks)).toContain(
      "## Phases that did not run\n\n- peer: start: venv missing\n",
    );
  });

  it("writes the same results and checks as JSON", () => {
    const parsed = JSON.parse(renderJson(run, checks)) as {
      checks: { verdict: string }[];
      results: { model: unknown };
    };
    expect(parsed.checks.map((c) => c.verdict)).toEqual(checks.map((c) => c.verdict));
    expect(parsed.results.model).toEqual({ name: "fashion-classifier", version: "1", architecture: "mlp" });
  });
});
