/**
 * The gates' PromQL and verdicts, against a scripted source: which metric names and labels each
 * gate reads (the catalog's, and the service's variant labels), and how values, missing values and
 * thresholds become pass, fail and inconclusive, and what plinth_model_capability of stable and of
 * the candidate (1, 0, no series) makes of the drift and agreement gates and of the shadow's volume.
 */
import { describe, expect, it } from "vitest";
import {
  evaluateGates,
  gatesBlock,
  modelSelector,
  verdictBlocks,
  type GateContext,
  type ScalarSource,
} from "../../infra/promote/gates.js";
import { SLO_ROUTES } from "../../components/monitoring/rules.js";
import type { InferenceSettings } from "../../infra/config/schema.js";
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

type Rule = [RegExp, number | undefined];
type Gauge = number | undefined;

/** plinth_model_capability of stable and of the candidate: 1 supported, 0 not, undefined no series (an older service). */
const capability = (label: string, stable: Gauge, candidate: Gauge): Rule[] =>
  (
    [
      ["stable", stable],
      ["candidate", candidate],
    ] as const
  ).map(([variant, value]) => [
    new RegExp(`^max\\(plinth_model_capability\\{.*variant="${variant}",capability="${label}"\\}\\)$`),
    value,
  ]);

/** A healthy canary of a plinth model: 1000 candidate requests, 2 5xx, 3 fallbacks, latency close to stable. */
const canaryTraffic: Rule[] = [
  [/status_code=~"5\.\."/, 5],
  [/plinth_http_requests_total.*variant="candidate"/, 1000],
  [q(0.95, "candidate"), 0.02],
  [q(0.95, "stable"), 0.018],
  [q(0.99, "candidate"), 0.05],
  [q(0.99, "stable"), 0.045],
  [/plinth_drift_score/, 0.08],
];
const healthyCanary: Rule[] = [...capability("drift", 1, 1), ...canaryTraffic];

/** A canary of `requests` requests, none failed, with the given drift capabilities. */
const quietCanary = (stable: Gauge, candidate: Gauge, requests: number) =>
  scripted([
    ...capability("drift", stable, candidate),
    [/status_code/, 0],
    [/plinth_http_requests_total/, requests],
  ]);

/** Shadow scoring latency of the candidate and stable: p95 4 ms / 3 ms, p99 6 ms / 4 ms. */
const shadowLatency: Rule[] = [
  [q(0.95, "candidate"), 0.004],
  [q(0.95, "stable"), 0.003],
  [q(0.99, "candidate"), 0.006],
  [q(0.99, "stable"), 0.004],
];
/** The latency gates' results on shadowLatency. */
const shadowLatencyPasses = [
  ["p95-vs-stable", "pass", "candidate 4 ms, stable 3 ms, limit 8 ms"],
  ["p99-vs-stable", "pass", "candidate 6 ms, stable 4 ms, limit 9 ms"],
  ["p99-vs-slo", "pass", "candidate (shadow scoring) 6 ms"],
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
      `(sum(increase(plinth_http_requests_total{namespace="plinth",route=~"${SLO_ROUTES}",variant="candidate"}[10m])) or vector(0)) + (sum(increase(plinth_candidate_fallbacks_total{namespace="plinth",model="fashion-mnist"}[10m])) or vector(0))`,
    );
    expect(source.queries).toContain(
      'max(max_over_time(plinth_drift_score{namespace="plinth",model="fashion-mnist",variant="candidate"}[10m]))',
    );
    for (const variant of ["stable", "candidate"]) {
      expect(source.queries).toContain(
        `max(plinth_model_capability{namespace="plinth",model="fashion-mnist",variant="${variant}",capability="drift"})`,
      );
    }
  });

  it("reads failures above attempts (two extrapolated queries) as every request failed, a rate of 1", async () => {
    const results = await evaluateGates(
      "canary",
      context,
      scripted([
        ...capability("drift", 1, 1),
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
        ...capability("drift", 1, 1),
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

  it("at canary weight 100, where stable serves nothing, hold the candidate to the SLO alone", async () => {
    // Stable has no latency at all: without the weight these gates would be inconclusive and block.
    const source = scripted([
      [q(0.95, "stable"), undefined],
      [q(0.99, "stable"), undefined],
      ...healthyCanary,
    ]);
    const results = await evaluateGates("canary", { ...context, canaryWeight: 100 }, source);
    expect(results.filter((r) => r.gate.endsWith("-vs-stable")).map((r) => [r.gate, r.verdict])).toEqual([
      ["p95-vs-stable", "not-applicable"],
      ["p99-vs-stable", "not-applicable"],
    ]);
    expect(results.find((r) => r.gate === "p99-vs-slo")?.verdict).toBe("pass");
    expect(source.queries.some((e) => /histogram_quantile\(0\.9[59], .*variant="stable"/.test(e))).toBe(
      false,
    );
    expect(gatesBlock(results)).toBe(false);
    // Below 100 stable's latency is still required.
    const at50 = await evaluateGates(
      "canary",
      { ...context, canaryWeight: 50 },
      scripted([[q(0.99, "stable"), undefined], ...healthyCanary]),
    );
    expect(at50.find((r) => r.gate === "p99-vs-stable")?.verdict).toBe("inconclusive");
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
    const source = quietCanary(1, 1, 99);
    const results = await evaluateGates("canary", context, source);
    expect(new Set(results.map((r) => r.detail))).toEqual(
      new Set(["99 requests routed to the candidate in 10m, fewer than minRequests (100)"]),
    );
    expect(results.every((r) => r.verdict === "inconclusive" && r.value === null)).toBe(true);
    expect(source.queries).toHaveLength(3); // stable's and the candidate's drift capability, then the volume
  });

  it("judge a plinth candidate's drift the same whether its service exports capabilities or not", async () => {
    const supported = await evaluateGates("canary", context, scripted(healthyCanary));
    const olderService = await evaluateGates(
      "canary",
      context,
      scripted([...capability("drift", undefined, undefined), ...canaryTraffic]),
    );
    expect(olderService).toEqual(supported);
    expect(supported.at(-1)).toMatchObject({ gate: "drift", verdict: "pass", value: 0.08 });
    const noScore = await evaluateGates(
      "canary",
      context,
      scripted([[/plinth_drift_score/, undefined], ...healthyCanary]),
    );
    expect(noScore.at(-1)!.verdict).toBe("inconclusive");
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

describe("the drift gate, by what stable and the candidate support", () => {
  const measured = ["pass", 0.08, "worst drift score 0.08"] as const;
  const CANDIDATE_LACKS =
    'candidate of "fashion-mnist" does not support drift (no training baseline for its inputs: /metadata capabilities)';
  const NEITHER =
    'neither stable nor candidate of "fashion-mnist" supports drift (no training baseline for its inputs: /metadata capabilities)';
  const LOST =
    'candidate of "fashion-mnist" does not support drift, stable does: promoting it ends drift monitoring; --force to accept (audited)';

  it.each([
    ["both support it: measured", 1, 1, ...measured],
    ["stable only: fails, promoting it would end drift monitoring", 1, 0, "fail", null, LOST],
    ["the candidate only: measured (it gains drift)", 0, 1, ...measured],
    ["neither: not applicable", 0, 0, "not-applicable", null, NEITHER],
    ["no series (an older service): measured, as before the gauge", undefined, undefined, ...measured],
    [
      "no stable series, candidate 0: not applicable, as before",
      undefined,
      0,
      "not-applicable",
      null,
      CANDIDATE_LACKS,
    ],
    ["stable 1, no candidate series: measured", 1, undefined, ...measured],
  ] as const)("%s", async (_, stable, candidate, verdict, value, detail) => {
    const source = scripted([...capability("drift", stable, candidate), ...canaryTraffic]);
    const results = await evaluateGates("canary", context, source);
    expect(results.at(-1)).toEqual({ gate: "drift", verdict, value, threshold: "<= 0.2", detail });
    expect(results.slice(0, -1).every((r) => r.verdict === "pass")).toBe(true);
    // Only the lost capability blocks (so only --force promotes it); not-applicable does not.
    expect(gatesBlock(results)).toBe(verdict === "fail");
    // Without the candidate's support no drift score is asked for.
    expect(source.queries.some((expr) => expr.includes("plinth_drift_score"))).toBe(verdict === "pass");
  });

  it("fails a candidate that loses drift with too little traffic too, where the rest is inconclusive", async () => {
    const source = quietCanary(1, 0, 12);
    const results = await evaluateGates("canary", context, source);
    expect(results.map((r) => [r.gate, r.verdict])).toEqual([
      ["error-rate", "inconclusive"],
      ["p95-vs-stable", "inconclusive"],
      ["p99-vs-stable", "inconclusive"],
      ["p99-vs-slo", "inconclusive"],
      ["drift", "fail"],
    ]);
    expect(results.at(-1)!.detail).toBe(LOST);
  });
});

describe("shadow gates", () => {
  it("measure agreement, dropped copies and scoring latency of the same requests", async () => {
    const source = scripted([
      ...capability("shadow_agreement", 1, 1),
      ...capability("drift", 1, 1),
      [/outcome="agree"/, 940],
      [/^sum\(increase\(plinth_shadow_comparisons_total/, 1000],
      [/^\(sum\(increase\(plinth_shadow_comparisons_total/, 1000],
      [/^\(sum\(increase\(plinth_shadow_dropped_total[^+]*$/, 4],
      [/plinth_shadow_scoring_duration_seconds_count/, 1000],
      ...shadowLatency,
      [/plinth_drift_score\{.*variant="candidate"/, 0.31],
    ]);
    const results = await evaluateGates("shadow", context, source);
    expect(results.map((r) => [r.gate, r.verdict, r.detail])).toEqual([
      ["shadow-agreement", "fail", "940 of 1000 rows agreed"],
      ["error-rate", "pass", "4 of 1000 shadow copies failed"],
      ...shadowLatencyPasses,
      // The candidate's inputs against its own baseline, from the copies it scored in shadow.
      ["drift", "fail", "worst drift score 0.31"],
    ]);
    for (const expr of source.queries) {
      for (const name of metricNames(expr)) expect(METRIC_NAMES).toContain(baseMetricName(name));
    }
  });

  /** A regression on both sides: no predicted labels, no training baseline; `copies` scored or dropped. */
  const regressionShadow = (copies: number) =>
    scripted([
      ...capability("shadow_agreement", 0, 0),
      ...capability("drift", 0, 0),
      [/^\(sum\(increase\(plinth_shadow_dropped_total[^+]*$/, 3],
      [/plinth_shadow_scoring_duration_seconds_count.*\+.*plinth_shadow_dropped_total/, copies],
      ...shadowLatency,
    ]);
  const NO_AGREEMENT =
    'neither stable nor candidate of "fashion-mnist" supports shadow agreement (no predicted label to compare: /metadata capabilities)';
  const NO_DRIFT =
    'neither stable nor candidate of "fashion-mnist" supports drift (no training baseline for its inputs: /metadata capabilities)';

  it("count the copies a regression candidate scored, and judge all but agreement and drift", async () => {
    const source = regressionShadow(300);
    const results = await evaluateGates("shadow", context, source);
    expect(results.map((r) => [r.gate, r.verdict, r.detail])).toEqual([
      ["shadow-agreement", "not-applicable", NO_AGREEMENT],
      ["error-rate", "pass", "3 of 300 shadow copies failed"],
      ...shadowLatencyPasses,
      ["drift", "not-applicable", NO_DRIFT],
    ]);
    expect(gatesBlock(results)).toBe(false);
    // Nothing is compared, so rows compared are never asked for; the volume is the copies.
    expect(source.queries.some((expr) => expr.includes("plinth_shadow_comparisons_total"))).toBe(false);
    expect(source.queries).toContain(
      '(sum(increase(plinth_shadow_scoring_duration_seconds_count{namespace="plinth",model="fashion-mnist",variant="candidate"}[10m])) or vector(0)) + (sum(increase(plinth_shadow_dropped_total{namespace="plinth",model="fashion-mnist"}[10m])) or vector(0))',
    );
  });

  it("are inconclusive on too few copies, except the gates that do not apply", async () => {
    const source = regressionShadow(40);
    const results = await evaluateGates("shadow", context, source);
    const few =
      "40 shadow copies scored or dropped (neither variant has shadow agreement) in 10m, fewer than minRequests (100)";
    expect(results.map((r) => [r.gate, r.verdict, r.detail])).toEqual([
      ["shadow-agreement", "not-applicable", NO_AGREEMENT],
      ["error-rate", "inconclusive", few],
      ["p95-vs-stable", "inconclusive", few],
      ["p99-vs-stable", "inconclusive", few],
      ["p99-vs-slo", "inconclusive", few],
      ["drift", "not-applicable", NO_DRIFT],
    ]);
    expect(gatesBlock(results)).toBe(true);
    expect(source.queries).toHaveLength(5); // two capabilities of two variants, then the volume
  });
});

describe("the shadow agreement gate and volume, by what stable and the candidate support", () => {
  /** A shadow where `compared` rows were compared (99% agreeing) and `copies` scored or dropped (4 dropped). */
  const shadow = (stable: Gauge, candidate: Gauge, compared: number, copies: number) =>
    scripted([
      ...capability("shadow_agreement", stable, candidate),
      ...capability("drift", 1, 1),
      [/outcome="agree"/, compared * 0.99],
      [/^\(?sum\(increase\(plinth_shadow_comparisons_total/, compared],
      [/^\(sum\(increase\(plinth_shadow_dropped_total[^+]*$/, 4],
      [/plinth_shadow_scoring_duration_seconds_count.*\+.*plinth_shadow_dropped_total/, copies],
      ...shadowLatency,
      [/plinth_drift_score\{.*variant="candidate"/, 0.05],
    ]);
  const lacks = (who: string) =>
    `${who} "fashion-mnist" ${who.startsWith("neither") ? "supports" : "does not support"} shadow agreement (no predicted label to compare: /metadata capabilities)`;
  const ROWS_VOLUME = /^\(sum\(increase\(plinth_shadow_comparisons_total/;

  it.each([
    ["both support it", 1, 1],
    ["no series (an older service)", undefined, undefined],
  ] as const)("%s: agreement is measured on the rows compared", async (_, stable, candidate) => {
    const source = shadow(stable, candidate, 1000, 1000);
    const results = await evaluateGates("shadow", context, source);
    expect(results[0]).toMatchObject({
      gate: "shadow-agreement",
      verdict: "pass",
      detail: "990 of 1000 rows agreed",
    });
    expect(gatesBlock(results)).toBe(false);
    expect(source.queries.some((expr) => ROWS_VOLUME.test(expr))).toBe(true);
    // Rows compared below minRequests: inconclusive, however many copies were scored.
    const few = await evaluateGates("shadow", context, shadow(stable, candidate, 40, 1000));
    expect(few[0]!.detail).toBe("40 rows compared in shadow in 10m, fewer than minRequests (100)");
  });

  // The engine compares rows only when both answers carry predicted labels (service/rollout/shadow.ts):
  // with either side lacking them no row is compared, and the copies the candidate scored are the traffic.
  it.each([
    ["stable only (a regression candidate)", 1, 0, lacks("candidate of"), "the candidate has no"],
    ["the candidate only (a regression stable)", 0, 1, lacks("stable of"), "the stable has no"],
    ["neither", 0, 0, lacks("neither stable nor candidate of"), "neither variant has"],
    ["candidate 0, no stable series", undefined, 0, lacks("candidate of"), "the candidate has no"],
    ["stable 0, no candidate series", 0, undefined, lacks("stable of"), "the stable has no"],
  ] as const)(
    "%s: agreement does not apply, the copies scored are the volume",
    async (_, stable, candidate, detail, unit) => {
      const source = shadow(stable, candidate, 0, 800);
      const results = await evaluateGates("shadow", context, source);
      expect(results.map((r) => [r.gate, r.verdict, r.detail])).toEqual([
        ["shadow-agreement", "not-applicable", detail],
        ["error-rate", "pass", "4 of 800 shadow copies failed"],
        ...shadowLatencyPasses,
        ["drift", "pass", "worst drift score 0.05"],
      ]);
      expect(gatesBlock(results)).toBe(false);
      expect(source.queries.some((expr) => expr.includes("plinth_shadow_comparisons_total"))).toBe(false);
      const few = await evaluateGates("shadow", context, shadow(stable, candidate, 0, 40));
      expect(few[1]!.detail).toBe(
        `40 shadow copies scored or dropped (${unit} shadow agreement) in 10m, fewer than minRequests (100)`,
      );
      expect(few[0]!.verdict).toBe("not-applicable");
    },
  );

  it("fails drift in shadow too when stable has it and the candidate does not", async () => {
    const source = scripted([
      ...capability("shadow_agreement", 1, 1),
      ...capability("drift", 1, 0),
      [/outcome="agree"/, 990],
      [/^\(?sum\(increase\(plinth_shadow_comparisons_total/, 1000],
      [/^\(sum\(increase\(plinth_shadow_dropped_total[^+]*$/, 0],
      [/plinth_shadow_scoring_duration_seconds_count/, 1000],
      [/histogram_quantile/, 0.004],
    ]);
    const results = await evaluateGates("shadow", context, source);
    expect(results.at(-1)).toMatchObject({ gate: "drift", verdict: "fail", value: null });
    expect(results.slice(0, -1).every((r) => r.verdict === "pass")).toBe(true);
    expect(gatesBlock(results)).toBe(true);
  });
});

/** A stack's models as modelSelector reads them: two with Deployments of their own, two shared. */
const STACK_MODELS = {
  defaultModel: "fashion-mnist",
  models: {
    "fashion-mnist": { deployment: "own" },
    churn: { deployment: "own" },
    iris: { deployment: "shared" },
    wine: { deployment: "shared" },
  },
} as unknown as Pick<InferenceSettings, "defaultModel" | "models">;

describe("one model's series among several", () => {
  it("are selected by the model's metrics Service, after the user's matchers", () => {
    // The shared Deployment's models are scraped through its one metrics Service.
    expect(modelSelector("", "iris", STACK_MODELS)).toBe('service="plinth-inference-shared-metrics"');
    expect(modelSelector("", "wine", STACK_MODELS)).toBe('service="plinth-inference-shared-metrics"');
    const sharedDefault = { ...STACK_MODELS, defaultModel: "wine" };
    expect(modelSelector("", "iris", sharedDefault)).toBe('service="plinth-inference-metrics"');
    expect(modelSelector("", "fashion-mnist", sharedDefault)).toBe(
      'service="plinth-inference-fashion-mnist-metrics"',
    );
    expect(modelSelector('namespace="plinth"', "churn", STACK_MODELS)).toBe(
      'namespace="plinth",service="plinth-inference-churn-metrics"',
    );
    expect(modelSelector("", "fashion-mnist", STACK_MODELS)).toBe('service="plinth-inference-metrics"');
  });

  it("put the Service in every series a model's gates read, the HTTP series without a model label too", async () => {
    const churn = {
      ...context,
      model: "churn",
      selector: modelSelector('namespace="plinth"', "churn", STACK_MODELS),
    };
    const source = scripted(healthyCanary);
    await evaluateGates("canary", churn, source);
    expect(source.queries).toContain(
      'max(max_over_time(plinth_drift_score{namespace="plinth",service="plinth-inference-churn-metrics",model="churn",variant="candidate"}[10m]))',
    );
    expect(source.queries.some((e) => e.includes("plinth_http_requests_total"))).toBe(true);
    for (const expr of source.queries) {
      for (const selector of expr.match(/\{[^}]*\}/g) ?? []) {
        expect(selector).toMatch(/^\{namespace="plinth",service="plinth-inference-churn-metrics"[,}]/);
      }
    }
  });
});

describe("verdicts", () => {
  it("block on fail and inconclusive, never on pass or not-applicable", () => {
    expect(verdictBlocks("pass")).toBe(false);
    expect(verdictBlocks("not-applicable")).toBe(false);
    expect(verdictBlocks("fail")).toBe(true);
    expect(verdictBlocks("inconclusive")).toBe(true);
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
