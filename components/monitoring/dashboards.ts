/**
 * Grafana dashboards for the inference service, built with the Grafana Foundation SDK and shipped
 * as JSON in ConfigMaps that Grafana's sidecar loads. Every query names catalog metrics only.
 */
import { DashboardBuilder, RowBuilder, type Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanel } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesPanel } from "@grafana/grafana-foundation-sdk/timeseries";
import { METRICS } from "../../service/contract/metrics.js";

/** kube-prometheus-stack provisions its Prometheus datasource with this uid. */
export const DATASOURCE = { type: "prometheus", uid: "prometheus" };
const RATE = "[$__rate_interval]";

function query(expr: string, legend: string, refId: string) {
  return new DataqueryBuilder().expr(expr).legendFormat(legend).refId(refId).datasource(DATASOURCE);
}

function timeseries(title: string, unit: string, targets: [expr: string, legend: string][], width = 12) {
  const panel = new TimeseriesPanel().title(title).unit(unit).datasource(DATASOURCE).height(8).span(width);
  targets.forEach(([expr, legend], index) =>
    panel.withTarget(query(expr, legend, String.fromCharCode(65 + index))),
  );
  return panel;
}

/** A panel of a histogram's percentiles, titled "<what> p50 / p95 ...". */
function percentiles(what: string, unit: string, histogram: string, quantiles: number[], width = 12) {
  const labels = quantiles.map((q) => `p${Math.round(q * 100)}`);
  return timeseries(
    `${what} ${labels.join(" / ")}`,
    unit,
    quantiles.map((q, index) => [quantile(q, histogram), labels[index]!]),
    width,
  );
}

const quantile = (q: number, histogram: string, by = "le") =>
  `histogram_quantile(${q}, sum by (${by}) (rate(${histogram}_bucket${RATE})))`;

/** The overview dashboard: traffic, errors, latency, variants, drift, batching. */
export function inferenceDashboard(): Dashboard {
  const requests = METRICS.httpRequests.name;
  const duration = METRICS.httpRequestDuration.name;
  return new DashboardBuilder("plinth / inference")
    .uid("plinth-inference")
    .tags(["plinth", "generated"])
    .refresh("30s")
    .time({ from: "now-3h", to: "now" })
    .timezone("utc")
    .readonly()
    .withRow(new RowBuilder("Traffic"))
    .withPanel(
      new StatPanel()
        .title("Requests per second")
        .unit("reqps")
        .datasource(DATASOURCE)
        .height(4)
        .span(6)
        .withTarget(query(`sum(rate(${requests}${RATE}))`, "rps", "A")),
    )
    .withPanel(
      new StatPanel()
        .title("Error %")
        .unit("percent")
        .datasource(DATASOURCE)
        .height(4)
        .span(6)
        .withTarget(
          query(
            `100 * sum(rate(${requests}{status_code=~"5.."}${RATE})) / sum(rate(${requests}${RATE}))`,
            "5xx %",
            "A",
          ),
        ),
    )
    .withPanel(
      timeseries("Requests per second by route", "reqps", [
        [`sum by (route) (rate(${requests}${RATE}))`, "{{route}}"],
      ]),
    )
    .withPanel(
      timeseries("Error % by route", "percent", [
        [
          `100 * sum by (route) (rate(${requests}{status_code=~"5.."}${RATE})) / sum by (route) (rate(${requests}${RATE}))`,
          "{{route}}",
        ],
      ]),
    )
    .withPanel(percentiles("Latency", "s", duration, [0.5, 0.95, 0.99]))
    .withPanel(
      timeseries("Traffic per variant", "reqps", [
        [`sum by (variant, model_version) (rate(${requests}${RATE}))`, "{{variant}} {{model_version}}"],
      ]),
    )
    .withRow(new RowBuilder("Model"))
    .withPanel(
      // From plinth_model_state, not plinth_model_ready: a variant awaiting its first version, or
      // failing to load one, has no loaded model and so no plinth_model_ready series at all.
      timeseries(
        "Model state (1 while in it)",
        "short",
        [
          [
            `max by (model, variant, state) (${METRICS.modelState.name}) == 1`,
            "{{model}} {{variant}}: {{state}}",
          ],
        ],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "Drift score (largest PSI)",
        "short",
        [[`max by (variant, model_version) (${METRICS.driftScore.name})`, "{{variant}} {{model_version}}"]],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "PSI per feature",
        "short",
        [[`max by (feature) (${METRICS.driftPsi.name})`, "{{feature}}"]],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "Shadow agreement",
        "percentunit",
        [
          [
            `sum by (model_version) (rate(${METRICS.shadowComparisons.name}{outcome="agree"}${RATE})) / sum by (model_version) (rate(${METRICS.shadowComparisons.name}${RATE}))`,
            "candidate {{model_version}}",
          ],
        ],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "Candidate circuit and fallbacks",
        "short",
        [
          [`max by (model_version) (${METRICS.candidateCircuitOpen.name})`, "circuit open {{model_version}}"],
          [`sum by (reason) (rate(${METRICS.candidateFallbacks.name}${RATE}))`, "fallbacks/s {{reason}}"],
        ],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "Predictions by label",
        "reqps",
        [[`sum by (label) (rate(${METRICS.predictions.name}${RATE}))`, "{{label}}"]],
        8,
      ),
    )
    .withRow(new RowBuilder("Batching"))
    .withPanel(percentiles("Batch size", "short", METRICS.inferenceBatchSize.name, [0.5, 0.95], 8))
    .withPanel(percentiles("Queue wait", "s", METRICS.inferenceQueueWait.name, [0.5, 0.95], 8))
    .withPanel(
      timeseries(
        "Inference time p95 and queue rejections",
        "s",
        [
          [quantile(0.95, METRICS.inferenceDuration.name, "le, variant"), "session.run p95 {{variant}}"],
          [`sum(rate(${METRICS.inferenceQueueRejections.name}${RATE}))`, "rejections/s"],
        ],
        8,
      ),
    )
    .build();
}

/** Every dashboard, by ConfigMap file name. */
export function dashboards(): Record<string, Dashboard> {
  return { "plinth-inference.json": inferenceDashboard() };
}

/** Every PromQL expression of a dashboard, for checks that they name real metrics. */
export function dashboardExpressions(dashboard: Dashboard): string[] {
  return (dashboard.panels ?? []).flatMap((panel) =>
    "targets" in panel ? (panel.targets ?? []).map((target) => (target as { expr?: string }).expr ?? "") : [],
  );
}
