/**
 * The metric catalog: the one source of truth for every metric name the inference service exports,
 * its type, help text and label names. The service builds its prom-client registry from this
 * object (service/metrics/registry.ts); the platform's PrometheusRules, Grafana dashboards and the
 * promote CLI import the names from here, so a renamed metric breaks the build instead of silently
 * breaking an alert. Part of the contract with the platform: it imports nothing.
 *
 * Names follow Prometheus conventions (`promtool check metrics` clean): snake_case, a unit suffix,
 * `_total` on counters. Label values are always bounded (route templates, model versions, label
 * names from model metadata), never raw user input.
 */

export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labelNames: readonly string[];
}

function spec<T extends MetricType>(name: string, type: T, help: string, labelNames: readonly string[]) {
  return { name, type, help, labelNames } as const satisfies MetricSpec;
}

/** Label names shared by per-variant metrics. */
export const VARIANT_LABELS = ["model", "model_version", "variant"] as const;

export const METRICS = {
  httpRequests: spec(
    "plinth_http_requests_total",
    "counter",
    "HTTP requests served, by route template, method and status code.",
    ["route", "method", "status_code", "variant", "model_version"],
  ),
  httpRequestDuration: spec(
    "plinth_http_request_duration_seconds",
    "histogram",
    "HTTP request duration in seconds, from first byte received to response sent.",
    ["route", "method", "status_code", "variant", "model_version"],
  ),
  inferenceDuration: spec(
    "plinth_inference_duration_seconds",
    "histogram",
    "Duration of one ONNX Runtime session.run call (one micro-batch) in seconds.",
    VARIANT_LABELS,
  ),
  inferenceBatchSize: spec(
    "plinth_inference_batch_size",
    "histogram",
    "Rows per micro-batch passed to session.run.",
    VARIANT_LABELS,
  ),
  inferenceQueueWait: spec(
    "plinth_inference_queue_wait_seconds",
    "histogram",
    "Time a row waited in the micro-batching queue before its batch ran, in seconds.",
    VARIANT_LABELS,
  ),
  inferenceQueueRejections: spec(
    "plinth_inference_queue_rejections_total",
    "counter",
    "Rows refused with 503 because the micro-batching queue was full (back-pressure).",
    VARIANT_LABELS,
  ),
  predictions: spec("plinth_predictions_total", "counter", "Predictions returned, by predicted label.", [
    ...VARIANT_LABELS,
    "label",
  ]),
  modelInfo: spec(
    "plinth_model_info",
    "gauge",
    "Always 1 for each loaded model variant; labels carry its identity.",
    [...VARIANT_LABELS, "sha256"],
  ),
  modelReady: spec(
    "plinth_model_ready",
    "gauge",
    "1 when the variant's model is loaded and warmed, else 0.",
    VARIANT_LABELS,
  ),
  modelState: spec(
    "plinth_model_state",
    "gauge",
    "One series per state of each configured model variant, 1 for the state it is in, else 0: loading, ready, awaiting_version (the registry holds no version for its reference yet: live, answering 503 NOT_READY with the reason), registry_unreachable, load_failed, unloaded (by the repository API) or draining; the reason is in /ready, /ready/pod and /ops/summary.",
    ["model", "variant", "state"],
  ),
  modelCapability: spec(
    "plinth_model_capability",
    "gauge",
    "1 when the loaded variant's model supports the capability (predict, predict_image, explain, drift, shadow_agreement), else 0; the reason is in /metadata capabilities.",
    [...VARIANT_LABELS, "capability"],
  ),
  modelFileBytes: spec(
    "plinth_model_file_bytes",
    "gauge",
    "Size of the loaded variant's ONNX file, in bytes.",
    VARIANT_LABELS,
  ),
  modelLoadRssDelta: spec(
    "plinth_model_load_rss_delta_bytes",
    "gauge",
    "Process resident set size after the variant's load minus before it, in bytes: an estimate of its memory (other allocations and garbage collection during the load count too).",
    VARIANT_LABELS,
  ),
  // Rollout metrics (exported by the rollouts work, issue 4; the platform's alerts and dashboards
  // read them, so their names are fixed here first).
  driftPsi: spec(
    "plinth_drift_psi",
    "gauge",
    'Population stability index of the live window against the training baseline, per input feature; feature="prediction" is the predicted-class distribution.',
    [...VARIANT_LABELS, "feature"],
  ),
  driftScore: spec(
    "plinth_drift_score",
    "gauge",
    "Overall drift score of the live window (the largest per-feature PSI).",
    VARIANT_LABELS,
  ),
  shadowComparisons: spec(
    "plinth_shadow_comparisons_total",
    "counter",
    "Shadow predictions compared with stable's, by outcome (agree or disagree); model_version is the candidate's.",
    ["model", "model_version", "outcome"],
  ),
  shadowDropped: spec(
    "plinth_shadow_dropped_total",
    "counter",
    "Shadow requests not compared: the shadow queue was full, or the candidate was unavailable or failed.",
    ["model", "model_version"],
  ),
  shadowScoringDuration: spec(
    "plinth_shadow_scoring_duration_seconds",
    "histogram",
    "Time to score the same shadowed request on each variant (queue wait + run), in seconds.",
    VARIANT_LABELS,
  ),
  modelReloads: spec(
    "plinth_model_reloads_total",
    "counter",
    "Model reload attempts by variant and result (loaded, unchanged, failed); a failed reload leaves the old version serving.",
    ["model", "variant", "result"],
  ),
  candidateCircuitOpen: spec(
    "plinth_candidate_circuit_open",
    "gauge",
    "1 while the candidate's circuit breaker is open or half-open (candidate bypassed until a probe succeeds or it is reloaded), else 0.",
    VARIANT_LABELS,
  ),
  candidateFallbacks: spec(
    "plinth_candidate_fallbacks_total",
    "counter",
    "Requests routed to the candidate that fell back to stable, by reason (load, error, timeout, circuit_open).",
    [...VARIANT_LABELS, "reason"],
  ),
  // Drift, prediction log and admin actions (service/drift, service/prediction-log, service/ops).
  driftWindowSamples: spec(
    "plinth_drift_window_samples",
    "gauge",
    "Live inputs currently in the variant's drift window (PSI is published from DRIFT_MIN_SAMPLES on).",
    VARIANT_LABELS,
  ),
  driftStatus: spec(
    "plinth_drift_status",
    "gauge",
    "Drift level of the variant's window against DRIFT_WARN_PSI / DRIFT_ALERT_PSI: 0 ok, 1 warn, 2 alert.",
    VARIANT_LABELS,
  ),
  predictionLogRecords: spec(
    "plinth_prediction_log_records_total",
    "counter",
    "Prediction log records by outcome: written, dropped_queue_full (queue at PREDICTION_LOG_QUEUE_MAX) or dropped_sink_error (the write failed).",
    ["outcome"],
  ),
  predictionLogSinkErrors: spec(
    "plinth_prediction_log_sink_errors_total",
    "counter",
    "Failed writes (batches) to the prediction log file; requests are unaffected.",
    [],
  ),
  adminActions: spec(
    "plinth_admin_actions_total",
    "counter",
    "Audited admin actions by action and result (ok, failed, denied).",
    ["action", "result"],
  ),
  rateLimitStoreUp: spec(
    "plinth_rate_limit_store_up",
    "gauge",
    "1 while the shared rate-limit store (Redis, RATE_LIMIT_REDIS_URL) answers; 0 while the limits fall back as RATE_LIMIT_REDIS_FAILURE_MODE says. Absent without a shared store.",
    [],
  ),
} as const;

export type MetricKey = keyof typeof METRICS;

/** The `capability` label values of plinth_model_capability: what a loaded model may support. */
export type ModelCapabilityLabel = "predict" | "predict_image" | "explain" | "drift" | "shadow_agreement";

/** The `state` label values of plinth_model_state: where a configured model variant stands. */
export const MODEL_STATES = [
  "loading",
  "ready",
  "awaiting_version",
  "registry_unreachable",
  "load_failed",
  "unloaded",
  "draining",
] as const;
export type ModelStateLabel = (typeof MODEL_STATES)[number];

/** Every exported metric name, for checks that dashboards and rules name only real metrics. */
export const METRIC_NAMES: readonly string[] = Object.values(METRICS).map((m) => m.name);
