/**
 * The prom-client instruments of drift monitoring, the prediction log and the audit log, built
 * from the metric catalog into the service's registry (so they are scraped with everything else).
 */
import { Counter, Gauge, type Registry } from "prom-client";
import { METRICS, type MetricSpec } from "../contract/metrics.js";

const options = (spec: MetricSpec, registry: Registry) => ({
  name: spec.name,
  help: spec.help,
  labelNames: spec.labelNames,
  registers: [registry],
});

export class ObservabilityMetrics {
  readonly driftPsi;
  readonly driftScore;
  readonly driftWindowSamples;
  readonly driftStatus;
  readonly predictionLogRecords;
  readonly predictionLogSinkErrors;
  readonly adminActions;

  constructor(registry: Registry) {
    this.driftPsi = new Gauge(options(METRICS.driftPsi, registry));
    this.driftScore = new Gauge(options(METRICS.driftScore, registry));
    this.driftWindowSamples = new Gauge(options(METRICS.driftWindowSamples, registry));
    this.driftStatus = new Gauge(options(METRICS.driftStatus, registry));
    this.predictionLogRecords = new Counter(options(METRICS.predictionLogRecords, registry));
    this.predictionLogSinkErrors = new Counter(options(METRICS.predictionLogSinkErrors, registry));
    this.adminActions = new Counter(options(METRICS.adminActions, registry));
  }
}
