/**
 * Grafana dashboards for the inference service, built with the Grafana Foundation SDK and shipped
 * as JSON in ConfigMaps that Grafana's sidecar loads. Every query names catalog metrics only.
 */
import {
  DashboardBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  type Dashboard,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanel } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesPanel } from "@grafana/grafana-foundation-sdk/timeseries";
import { METRICS } from "../../service/contract/metrics.js";

/** kube-prometheus-stack provisions its Prometheus datasource with this uid. */
export const DATASOURCE = { type: "prometheus", uid: "prometheus" };
const RATE = "[$__rate_interval]";

/**
 * The dashboard's `service` variable: the inference services (one per model with its own
 * Deployments, one for the shared Deployment) whose series the panels show, all by default. Their
 * metrics Service's name is in every series' `service` label.
 */
const SERVICE_VARIABLE = "service";

/** `metric{service=~"$service",<matchers>}`: a series of the services chosen on the dashboard. */
function sel(metric: string, ...matchers: string[]): string {
  return `${metric}{${[`${SERVICE_VARIABLE}=~"$${SERVICE_VARIABLE}"`, ...matchers].join(",")}}`;
}

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
    quantiles.map((q, index) => [quantile(q, histogram), `{{service}} ${labels[index]!}`]),
    width,
  );
}

const quantile = (q: number, histogram: string, by = "service, le") =>
  `histogram_quantile(${q}, sum by (${by}) (rate(${sel(`${histogram}_bucket`)}${RATE})))`;

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
    .withVariable(
      new QueryVariableBuilder(SERVICE_VARIABLE)
        .label("Model (inference service)")
        .description("Each model's metrics Service, e.g. plinth-inference-churn-metrics; all by default.")
        .datasource(DATASOURCE)
        .query(`label_values(${METRICS.modelInfo.name}, ${SERVICE_VARIABLE})`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .multi(true)
        .includeAll(true)
        .allValue(".*"),
    )
    .withRow(new RowBuilder("Traffic"))
    .withPanel(
      new StatPanel()
        .title("Requests per second")
        .unit("reqps")
        .datasource(DATASOURCE)
        .height(4)
        .span(6)
        .withTarget(query(`sum(rate(${sel(requests)}${RATE}))`, "rps", "A")),
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
            `100 * sum(rate(${sel(requests, 'status_code=~"5.."')}${RATE})) / sum(rate(${sel(requests)}${RATE}))`,
            "5xx %",
            "A",
          ),
        ),
    )
    .withPanel(
      timeseries("Requests per second by route", "reqps", [
        [`sum by (service, route) (rate(${sel(requests)}${RATE}))`, "{{service}} {{route}}"],
      ]),
    )
    .withPanel(
      timeseries("Error % by route", "percent", [
        [
          `100 * sum by (service, route) (rate(${sel(requests, 'status_code=~"5.."')}${RATE})) / sum by (service, route) (rate(${sel(requests)}${RATE}))`,
          "{{service}} {{route}}",
        ],
      ]),
    )
    .withPanel(percentiles("Latency", "s", duration, [0.5, 0.95, 0.99]))
    .withPanel(
      timeseries("Traffic per variant", "reqps", [
        [
          `sum by (service, variant, model_version) (rate(${sel(requests)}${RATE}))`,
          "{{service}} {{variant}} {{model_version}}",
        ],
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
            `max by (service, model, variant, state) (${sel(METRICS.modelState.name)}) == 1`,
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
        [
          [
            `max by (model, variant, model_version) (${sel(METRICS.driftScore.name)})`,
            "{{model}} {{variant}} {{model_version}}",
          ],
        ],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "PSI per feature",
        "short",
        [[`max by (feature) (${sel(METRICS.driftPsi.name)})`, "{{feature}}"]],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "Shadow agreement",
        "percentunit",
        [
          [
            `sum by (model, model_version) (rate(${sel(METRICS.shadowComparisons.name, 'outcome="agree"')}${RATE})) / sum by (model, model_version) (rate(${sel(METRICS.shadowComparisons.name)}${RATE}))`,
            "{{model}} candidate {{model_version}}",
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
          [
            `max by (model_version) (${sel(METRICS.candidateCircuitOpen.name)})`,
            "circuit open {{model_version}}",
          ],
          [
            `sum by (reason) (rate(${sel(METRICS.candidateFallbacks.name)}${RATE}))`,
            "fallbacks/s {{reason}}",
          ],
        ],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "Predictions by label",
        "reqps",
        [[`sum by (label) (rate(${sel(METRICS.predictions.name)}${RATE}))`, "{{label}}"]],
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
          [
            quantile(0.95, METRICS.inferenceDuration.name, "service, le, variant"),
            "session.run p95 {{service}} {{variant}}",
          ],
          [`sum(rate(${sel(METRICS.inferenceQueueRejections.name)}${RATE}))`, "rejections/s"],
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
