/**
 * Dashboards and alert rules name only metrics the service really exports: every metric in every
 * query is in the service's metric catalog (histogram series by their base name) or is one of the
 * rules' own recording rules. Nothing else is whitelisted.
 */
import { describe, expect, it } from "vitest";
import {
  dashboardExpressions,
  dashboards,
  inferenceDashboard,
} from "../../components/monitoring/dashboards.js";
import { prometheusRuleGroups } from "../../components/monitoring/rules.js";
import { METRICS, METRIC_NAMES } from "../../service/contract/metrics.js";
import { baseMetricName, metricNames } from "../support/promql.js";

const groups = prometheusRuleGroups({
  slo: { availability: 0.995, latency: 0.99, latencyThresholdSeconds: 0.1 },
  drift: [{ model: "fashion-mnist", alertPsi: 0.2 }],
  runbookBaseUrl: "https://example.com/runbook",
});
const recordingRules = groups
  .flatMap((g) => g.rules)
  .flatMap((rule) => ("record" in rule ? [rule.record] : []));
const histograms = new Set(
  Object.values(METRICS)
    .filter((m) => m.type === "histogram")
    .map((m) => m.name),
);

/** Names in an expression that are neither catalog metrics nor recording rules. */
function unknownNames(expr: string): string[] {
  return metricNames(expr).filter((name) => {
    if (recordingRules.includes(name)) return false;
    const base = baseMetricName(name);
    if (base !== name) return !histograms.has(base);
    return !METRIC_NAMES.includes(name);
  });
}

describe("metric names in dashboards and rules", () => {
  it("extracts metric names from PromQL, ignoring functions, labels, ranges and grouping", () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, variant) (rate(plinth_inference_duration_seconds_bucket{route=~"/v2/.+"}[5m])))',
      ),
    ).toEqual(["plinth_inference_duration_seconds_bucket"]);
    expect(metricNames("sum(rate(a_total[5m])) / sum(rate(b_total[5m])) > bool 0.5 and on (x) c")).toEqual([
      "a_total",
      "b_total",
      "c",
    ]);
    expect(unknownNames("rate(plinth_http_requests_total[5m]) + up + plinth_model_ready_bucket")).toEqual([
      "up",
      "plinth_model_ready_bucket",
    ]);
  });

  it("dashboard queries name only catalog metrics", () => {
    const expressions = Object.values(dashboards()).flatMap(dashboardExpressions);
    expect(expressions.length).toBeGreaterThanOrEqual(15);
    for (const expr of expressions) expect(unknownNames(expr), expr).toEqual([]);
  });

  it("rule expressions name only catalog metrics and their own recording rules", () => {
    const expressions = groups.flatMap((g) => g.rules).map((rule) => rule.expr);
    for (const expr of expressions) expect(unknownNames(expr), expr).toEqual([]);
  });
});

describe("the inference dashboard", () => {
  it("shows the models chosen in its service variable, every one by default", () => {
    const dashboard = inferenceDashboard();
    expect(dashboard.templating?.list).toEqual([
      expect.objectContaining({
        name: "service",
        query: "label_values(plinth_model_info, service)",
        multi: true,
        includeAll: true,
        allValue: ".*",
      }),
    ]);
    // Every series of every panel is one of the chosen services'.
    for (const expr of dashboardExpressions(dashboard)) {
      for (const name of metricNames(expr)) {
        expect(expr, name).toContain(`${name}{service=~"$service"`);
      }
    }
  });

  it("shows traffic, errors, latency percentiles, variants, drift, batch size and queue wait", () => {
    const dashboard = inferenceDashboard();
    const titles = (dashboard.panels ?? []).map((panel) => panel.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        "Requests per second",
        "Error %",
        "Latency p50 / p95 / p99",
        "Traffic per variant",
        "Drift score (largest PSI)",
        "PSI per feature",
        "Batch size p50 / p95",
        "Queue wait p50 / p95",
        "Shadow agreement",
      ]),
    );
    expect(dashboard.uid).toBe("plinth-inference");
    const latency = (dashboard.panels ?? []).find((panel) => panel.title === "Latency p50 / p95 / p99");
    const exprs = ("targets" in latency! ? (latency.targets ?? []) : []).map(
      (t) => (t as { expr?: string }).expr,
    );
    expect(exprs).toEqual(
      [0.5, 0.95, 0.99].map(
        (q) =>
          `histogram_quantile(${q}, sum by (service, le) (rate(plinth_http_request_duration_seconds_bucket{service=~"$service"}[$__rate_interval])))`,
      ),
    );
  });
});
