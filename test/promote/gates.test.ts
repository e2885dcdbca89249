/**
 * The gates' PromQL and verdicts, against a scripted source: which metric names and labels each
 * gate reads (the catalog's, and the service's variant labels), and how values, missing values and
 * thresholds become pass, fail and inconclusive.
 */
import { describe, expect, it } from "vitest";
import { evaluateGates, gatesBlock, type GateContext, type ScalarSource } from "../../infra/promote/gates.js";
import { PrometheusError } from "../../infra/promote/prometheus.js";
import { METRIC_NAMES } from "../../service/contract/metrics.js";
import { baseMetricName, metricNames } from "../support/promql.js";

const context: GateContext = {
  model: "fashion-mnist",
  selector: 'namespace="plinth"',
  slo: { availability: 0.999, latency: 0.99, latencyThresholdSeconds: 0.1 },
  gates: {
    window: "10m",
    minRequests: 100,
    maxErrorRate: 0.01,
    maxLatencyRatio: 1.2,
    latencyToleranceSeconds: 0.005,
    maxDriftScore: 0.2,
    minShadowAgreement: 0.95,
    weightLadder: [10, 25, 50, 100],
  },
};

/** Answers each query by the first rule whose pattern it matches; records every query. */
function scripted(rules: [RegExp, number | undefined][]): ScalarSource & { queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    scalar: async (expr) => {
      queries.push(expr);
      const rule = rules.find(([pattern]) => pattern.test(expr));
      if (!rule) throw new Error(`unscripted query: ${expr}`);
      return rule[1];
    },
  };
}

const q = (quantile: number, variant: string) =>
  new RegExp(`^histogram_quantile\\(${quantile}, .*variant="${variant}"`);

/** A healthy canary: 1000 candidate requests, 2 5xx, 3 fallbacks, latency close to stable. */
const healthyCanary: [RegExp, number | undefined][] = [
  [/status_code=~"5\.\."/, 5],
  [/plinth_http_requests_total.*variant="candidate"/, 1000],
  [q(0.95, "candidate"), 0.02],
  [q(0.95, "stable"), 0.018],
  [q(0.99, "candidate"), 0.05],
  [q(0.99, "stable"), 0.045],
  [/plinth_drift_score/, 0.08],
];

describe("canary gates", () => {
  it("pass a healthy candidate, with the numbers behind each verdict", async () => {
    const results = await evaluateGates("canary", context, scripted(healthyCanary));
    expect(results).toEqual([
      {
        gate: "error-rate",
        verdict: "pass",
        value: 0.005,
        threshold: "<= 0.01",
        detail: "5 of 1000 requests routed to the candidate failed",
      },
      {
        gate: "p95-vs-stable",
        verdict: "pass",
        value: 0.02,
        threshold: "<= max(stable x 1.2, stable + 5 ms)",
        detail: "candidate 20 ms, stable 18 ms, limit 23 ms",
      },
      {
        gate: "p99-vs-stable",
        verdict: "pass",
        value: 0.05,
        threshold: "<= max(stable x 1.2, stable + 5 ms)",
        detail: "candidate 50 ms, stable 45 ms, limit 54 ms",
      },
      { gate: "p99-vs-slo", verdict: "pass", value: 0.05, threshold: "<= 100 ms", detail: "candidate 50 ms" },
      { gate: "drift", verdict: "pass", value: 0.08, threshold: "<= 0.2", detail: "worst drift score 0.08" },
    ]);
    expect(gatesBlock(results)).toBe(false);
  });

  it("read only catalog metrics, within the selector, over the window", async () => {
    const source = scripted(healthyCanary);
    await evaluateGates("canary", context, source);
    for (const expr of source.queries) {
      for (const name of metricNames(expr)) expect(METRIC_NAMES).toContain(baseMetricName(name));
      for (const selector of expr.match(/\{[^}]*\}/g) ?? [])
        expect(selector).toMatch(/^\{namespace="plinth",/);
      for (const range of expr.match(/\[[^\]]*\]/g) ?? []) expect(range).toBe("[10m]");
    }
    expect(source.queries).toContain(
      '(sum(increase(plinth_http_requests_total{namespace="plinth",route=~"/predict|/predict-image|/v2/models/.+/infer",variant="candidate"}[10m])) or vector(0)) + (sum(increase(plinth_candidate_fallbacks_total{namespace="plinth",model="fashion-mnist"}[10m])) or vector(0))',
    );
    expect(source.queries).toContain(
      'max(max_over_time(plinth_drift_score{namespace="plinth",model="fashion-mnist",variant="candidate"}[10m]))',
    );
  });

  it("reads failures above attempts (two extrapolated queries) as every request failed, a rate of 1", async () => {
    const results = await evaluateGates(
      "canary",
      context,
      scripted([
        [/status_code=~"5\.\."/, 295],
        [/plinth_http_requests_total.*variant="candidate"/, 290],
        [/histogram_quantile|plinth_drift_score/, 0.01],
      ]),
    );
    const errorRate = results.find((r) => r.gate === "error-rate")!;
    expect([errorRate.verdict, errorRate.value, errorRate.detail]).toEqual([
      "fail",
      1,
      "290 of 290 requests routed to the candidate failed",
    ]);
  });

  it("fail errors, latency against stable and the SLO, and drift, each on its own threshold", async () => {
    const results = await evaluateGates(
      "canary",
      context,
      scripted([
        [/status_code=~"5\.\."/, 30],
        [/plinth_http_requests_total.*variant="candidate"/, 1000],
        [q(0.95, "candidate"), 0.03],
        [q(0.95, "stable"), 0.02],
        [q(0.99, "candidate"), 0.15],
        [q(0.99, "stable"), 0.1],
        [/plinth_drift_score/, 0.3],
      ]),
    );
    expect(results.map((r) => [r.gate, r.verdict, r.detail])).toEqual([
      ["error-rate", "fail", "30 of 1000 requests routed to the candidate failed"],
      ["p95-vs-stable", "fail", "candidate 30 ms, stable 20 ms, limit 25 ms"],
      ["p99-vs-stable", "fail", "candidate 150 ms, stable 100 ms, limit 120 ms"],
      ["p99-vs-slo", "fail", "candidate 150 ms"],
      ["drift", "fail", "worst drift score 0.3"],
    ]);
    expect(gatesBlock(results)).toBe(true);
  });

  it("call a missing value (empty vector, NaN) inconclusive, never zero", async () => {
    const results = await evaluateGates(
      "canary",
      context,
      scripted([[/plinth_drift_score/, undefined], [q(0.99, "stable"), undefined], ...healthyCanary]),
    );
    expect(results.filter((r) => r.verdict === "inconclusive").map((r) => [r.gate, r.detail])).toEqual([
      ["p99-vs-stable", "no stable latency"],
      [
        "drift",
        "no candidate drift score (its version has no baseline.json, or too few inputs for a window)",
      ],
    ]);
    expect(gatesBlock(results)).toBe(true);
  });

  it("are all inconclusive below minRequests, without running the other queries", async () => {
    const source = scripted([
      [/status_code/, 0],
      [/plinth_http_requests_total/, 99],
    ]);
    const results = await evaluateGates("canary", context, source);
    expect(new Set(results.map((r) => r.detail))).toEqual(
      new Set(["99 requests routed to the candidate in 10m, fewer than minRequests (100)"]),
    );
    expect(results.every((r) => r.verdict === "inconclusive" && r.value === null)).toBe(true);
    expect(source.queries).toHaveLength(1);
  });

  it("turn an unreachable Prometheus into inconclusive gates that name the problem", async () => {
    const down: ScalarSource = {
      scalar: () => Promise.reject(new PrometheusError("PROMETHEUS_URL http://prom:9090/: fetch failed")),
    };
    const results = await evaluateGates("canary", context, down);
    expect(results).toHaveLength(5);
    expect(results.every((r) => r.verdict === "inconclusive" && r.detail.endsWith("fetch failed"))).toBe(
      true,
    );
  });
});

describe("shadow gates", () => {
  it("measure agreement, dropped copies and scoring latency of the same requests", async () => {
    const source = scripted([
      [/outcome="agree"/, 940],
      [/^sum\(increase\(plinth_shadow_comparisons_total/, 1000],
      [/^\(sum\(increase\(plinth_shadow_comparisons_total/, 1000],
      [/^\(sum\(increase\(plinth_shadow_dropped_total[^+]*$/, 4],
      [/plinth_shadow_scoring_duration_seconds_count/, 1000],
      [q(0.95, "candidate"), 0.004],
      [q(0.95, "stable"), 0.003],
      [q(0.99, "candidate"), 0.006],
      [q(0.99, "stable"), 0.004],
      [/plinth_drift_score\{.*variant="candidate"/, 0.31],
    ]);
    const results = await evaluateGates("shadow", context, source);
    expect(results.map((r) => [r.gate, r.verdict, r.detail])).toEqual([
      ["shadow-agreement", "fail", "940 of 1000 rows agreed"],
      ["error-rate", "pass", "4 of 1000 shadow copies failed"],
      ["p95-vs-stable", "pass", "candidate 4 ms, stable 3 ms, limit 8 ms"],
      ["p99-vs-stable", "pass", "candidate 6 ms, stable 4 ms, limit 9 ms"],
      ["p99-vs-slo", "pass", "candidate (shadow scoring) 6 ms"],
      // The candidate's inputs against its own baseline, from the copies it scored in shadow.
      ["drift", "fail", "worst drift score 0.31"],
    ]);
    for (const expr of source.queries) {
      for (const name of metricNames(expr)) expect(METRIC_NAMES).toContain(baseMetricName(name));
    }
  });
});

describe("blue-green gates (before a switch, on the idle colour)", () => {
  const idle = { ...context, idle: { colour: "green", modelVersion: "7" } } as const;
  const colourPods = (metric: string) => new RegExp(`^(count|sum)\\(${metric}\\{.*plinth_dev_colour="green"`);
  const pods = (total: number | undefined, ready: number, onVersion: number, failedReloads: number) =>
    scripted([
      [/^count\(plinth_model_info\{.*model_version="7".*\}\) or vector\(0\)$/, onVersion],
      [new RegExp(`^count\\(plinth_model_ready\\{.*plinth_dev_colour="green"`), total],
      [colourPods("plinth_model_ready"), ready],
      [
        /plinth_model_reloads_total\{.*result="failed".*plinth_dev_colour="green"|plinth_model_reloads_total\{.*plinth_dev_colour="green".*result="failed"/,
        failedReloads,
      ],
    ]);

  it("pass when every pod of the colour is ready, on the promised version, with no failed reload", async () => {
    const source = pods(2, 2, 2, 0);
    const results = await evaluateGates("blue-green", idle, source);
    expect(results.map((r) => [r.gate, r.verdict, r.detail])).toEqual([
      ["idle-ready", "pass", "2 of 2 green pods ready"],
      ["idle-version", "pass", "2 of 2 green pods serve version 7"],
      ["idle-reloads", "pass", "0 failed reloads on green in 10m"],
    ]);
    // No traffic volume is asked for: the idle colour has none, so minRequests does not apply.
    expect(source.queries.some((q) => q.includes("plinth_http_requests_total"))).toBe(false);
    for (const expr of source.queries) {
      expect(expr).toContain('namespace="plinth"');
      for (const name of metricNames(expr)) expect(METRIC_NAMES).toContain(baseMetricName(name));
    }
  });

  it("fail a colour with a pod not ready, a pod on another version, a failed reload", async () => {
    const results = await evaluateGates("blue-green", idle, pods(3, 2, 2, 1));
    expect(results.map((r) => [r.gate, r.verdict, r.detail])).toEqual([
      ["idle-ready", "fail", "2 of 3 green pods ready"],
      ["idle-version", "fail", "2 of 3 green pods serve version 7"],
      ["idle-reloads", "fail", "1 failed reloads on green in 10m"],
    ]);
  });

  it("are inconclusive when no pod of the colour is scraped", async () => {
    const results = await evaluateGates("blue-green", idle, pods(undefined, 0, 0, 0));
    expect(results.slice(0, 2).map((r) => [r.gate, r.verdict, r.detail])).toEqual([
      [
        "idle-ready",
        "inconclusive",
        "no green pods scraped (the ServiceMonitor copies their plinth_dev_colour label)",
      ],
      [
        "idle-version",
        "inconclusive",
        "no green pods scraped (the ServiceMonitor copies their plinth_dev_colour label)",
      ],
    ]);
  });
});

describe("stable gates (single, blue-green: after pulumi up)", () => {
  it("hold stable's error ratio and SLO latency", async () => {
    const results = await evaluateGates(
      "stable",
      context,
      scripted([
        [/status_code=~"5\.\."/, 2],
        [/plinth_http_requests_total.*variant="stable"/, 4000],
        [q(0.99, "stable"), 0.12],
      ]),
    );
    expect(results.map((r) => [r.gate, r.verdict, r.detail])).toEqual([
      ["error-rate", "pass", "2 of 4000 stable requests failed"],
      ["p99-vs-slo", "fail", "stable 120 ms"],
    ]);
  });
});
