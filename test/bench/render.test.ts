import { describe, expect, it } from "vitest";
import { acceptanceChecks } from "../../bench/report/acceptance.js";
import { renderJson, renderMarkdown } from "../../bench/report/render.js";
import { goodRun } from "./fixtures.js";

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
    expect(lines).toContain("## Checks: 9 of 10 pass");
    expect(lines.find((l) => l.startsWith("| JSON /predict throughput"))).toMatch(
      /\| 4,500 req\/s +\| 5,000 req\/s +\| 0\.90x +\| >= 0\.8x +\| PASS +\|$/,
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
