/**
 * The inference service's alerting rules, as a PrometheusRule spec. SLO alerts follow the
 * multi-window, multi-burn-rate scheme of the Google SRE workbook: a page when the error budget
 * burns 14.4x (1h and 5m windows) or 6x (6h and 30m), a ticket at 3x (1d and 2h) or 1x (3d and
 * 6h), for availability (5xx) and for latency (requests slower than the threshold). Every metric
 * name comes from the service's metric catalog, but the edge's and the certificates': Traefik's own
 * (pkg/observability/metrics/prometheus.go, v3.6.12) and cert-manager's (pkg/metrics, v1.21),
 * alerted on only where plinth runs Traefik or cert-manager.
 */
import { METRICS, type ModelStateLabel } from "../../service/contract/metrics.js";
import { PREDICTION_ROUTES } from "../../service/contract/prediction-routes.js";

/**
 * plinth_model_state values in which a variant cannot serve and should not stay: a page. Not
 * awaiting_version (a fresh stack's normal state, its own warning), nor unloaded (an operator's act).
 */
const NOT_READY_STATES: readonly ModelStateLabel[] = [
  "loading",
  "registry_unreachable",
  "load_failed",
  "draining",
];

/**
 * How often Prometheus scrapes the service (the ServiceMonitor's interval). The rules' shortest
 * window (5m) holds 20 scrapes at this interval; the local stack's soak scrapes at it too.
 */
export const SCRAPE_INTERVAL_SECONDS = 15;

export interface SloTargets {
  /** Fraction of API requests that must not fail with a 5xx, e.g. 0.999. */
  readonly availability: number;
  /** Fraction of API requests that must finish within latencyThresholdSeconds, e.g. 0.99. */
  readonly latency: number;
  /** Latency objective; must be a bucket bound of the service's HTTP duration histogram. */
  readonly latencyThresholdSeconds: number;
}

/** A model whose drift is watched, and the drift score (largest PSI) above which its alert fires. */
export interface ModelDriftAlert {
  readonly model: string;
  readonly alertPsi: number;
}

/**
 * Traefik's request counter per entry point (labels code, method, protocol, entrypoint), from
 * Traefik v3.6.12's pkg/observability/metrics/prometheus.go.
 */
export const TRAEFIK_ENTRYPOINT_REQUESTS = "traefik_entrypoint_requests_total";
/** The entry point every HTTPS listener of plinth's Gateway binds to (TRAEFIK_ENTRY_POINTS.websecure). */
const EDGE_ENTRY_POINT = "websecure";

/**
 * cert-manager's per-Certificate gauges (labels name, namespace, issuer_name, issuer_kind,
 * issuer_group; the ready status also condition True, False or Unknown, 1 on the current one; the
 * renewal time a Unix time, 0 until the certificate is first issued), as cert-manager's certificate
 * metrics collector exports them (read in its source and docs of recent v1 releases, not checked
 * against v1.21.1 itself).
 */
export const CERT_MANAGER_READY_STATUS = "certmanager_certificate_ready_status";
export const CERT_MANAGER_RENEWAL = "certmanager_certificate_renewal_timestamp_seconds";

/** A component plinth runs and scrapes through a PodMonitor of its own, for its alerts. */
export interface ScrapedAlerts {
  /** The `job` label of its scraped series (a PodMonitor's: `<namespace>/<name>`). */
  readonly job: string;
  /** Linked from every alert. */
  readonly runbookBaseUrl: string;
}

/** The edge proxy plinth runs and scrapes (the Gateway path's Traefik), for its alerts. */
export interface EdgeAlerts extends ScrapedAlerts {
  /**
   * Share of the HTTPS entry point's answers that are 5xx above which PlinthEdgeErrorsHigh fires
   * (over 5 minutes, held for 10). @default 0.05
   */
  readonly errorRatioMax?: number;
}

/** The cert-manager plinth installs and scrapes, for the alerts on its certificates. */
export interface CertificateAlerts extends ScrapedAlerts {
  /**
   * Hours past cert-manager's planned renewal time of an issued certificate, not yet renewed, at
   * which PlinthCertificateRenewalOverdue fires. cert-manager retries a failed renewal with a
   * back-off of up to a few hours, so a day means it has failed repeatedly. @default 24
   */
  readonly renewalOverdueHours?: number;
}

export interface RuleOptions {
  readonly slo: SloTargets;
  /** One drift alert per model listed (each model has its own threshold); none for a model not listed. */
  readonly drift: readonly ModelDriftAlert[];
  /** Share of shadow predictions disagreeing with stable above which the shadow alert fires. @default 0.1 */
  readonly shadowDisagreementMax?: number;
  /** Linked from every alert. */
  readonly runbookBaseUrl: string;
}

export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}
export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  readonly rules: (AlertingRule | RecordingRule)[];
}

/**
 * The routes the SLOs cover: the prediction API (the service's route templates, bare and by model
 * name, and the Open Inference Protocol's infer), not health checks or docs.
 */
export const SLO_ROUTES = [...PREDICTION_ROUTES].join("|");
const API = `route=~"${SLO_ROUTES}"`;
const BURN_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] as const;

/** Burn-rate pairs (long window, short window, factor) of the SRE workbook. */
const PAGE = [
  ["1h", "5m", 14.4],
  ["6h", "30m", 6],
] as const;
const TICKET = [
  ["1d", "2h", 3],
  ["3d", "6h", 1],
] as const;

/** Prometheus prints bucket bounds the way JavaScript prints numbers (0.25, 1, 2.5). */
function bucketBound(seconds: number): string {
  return String(seconds);
}

/** A short number for an expression: 14.4 * 0.001 -> 0.0144. */
function threshold(factor: number, budget: number): string {
  return String(Number((factor * budget).toPrecision(6)));
}

/**
 * The burn ratios per window, one series per inference service (the `service` label Prometheus
 * Operator gives each model's metrics Service): a model that fails burns its own budget, not an
 * average with the others'.
 */
function recordings(kind: "errors" | "slow", slo: SloTargets): RecordingRule[] {
  const requests = METRICS.httpRequests.name;
  const duration = METRICS.httpRequestDuration.name;
  return BURN_WINDOWS.map((window) => ({
    record: `plinth:slo_${kind}:ratio_rate${window}`,
    expr:
      kind === "errors"
        ? `sum by (service) (rate(${requests}{${API},status_code=~"5.."}[${window}])) / sum by (service) (rate(${requests}{${API}}[${window}]))`
        : `1 - (sum by (service) (rate(${duration}_bucket{${API},le="${bucketBound(slo.latencyThresholdSeconds)}"}[${window}])) / sum by (service) (rate(${duration}_count{${API}}[${window}])))`,
  }));
}

function burnAlert(
  alert: string,
  kind: "errors" | "slow",
  budget: number,
  pairs: typeof PAGE | typeof TICKET,
  severity: "critical" | "warning",
  summary: string,
  runbook: string,
): AlertingRule {
  const clause = ([long, short, factor]: readonly [string, string, number]) =>
    `(plinth:slo_${kind}:ratio_rate${long} > ${threshold(factor, budget)} and plinth:slo_${kind}:ratio_rate${short} > ${threshold(factor, budget)})`;
  return {
    alert,
    expr: pairs.map(clause).join("\nor\n"),
    for: severity === "critical" ? "2m" : "15m",
    labels: { severity, slo: kind === "errors" ? "availability" : "latency" },
    annotations: {
      summary,
      description: `Burn-rate windows ${pairs.map(([long, short, factor]) => `${long}/${short} at ${factor}x`).join(", ")} of a ${(1 - budget) * 100}% objective.`,
      runbook_url: runbook,
    },
  };
}

/**
 * No target of `job` has answered Prometheus's scrape for `for_`, or none is left to scrape (the
 * PodMonitor finds no pod: no `up` series at all, which `up == 0` alone would miss).
 */
function targetDownAlert(
  alert: string,
  job: string,
  rule: Pick<AlertingRule, "for" | "labels" | "annotations">,
): AlertingRule {
  return { alert, expr: `absent(up{job="${job}"} == 1)`, ...rule };
}

/**
 * The edge's alerts, a PrometheusRule of their own written only where plinth runs and scrapes the
 * edge proxy (a reused proxy or ingress-nginx is not scraped).
 *
 * PlinthEdgeErrorsHigh: the share of 5xx among all answers on the HTTPS entry point, summed over
 * Traefik's pods. It sees what the service's own SLO alerts cannot: requests that never reach a
 * backend (Traefik's 502/503/504 when a Service has no ready endpoint or cannot be reached, its 500
 * when oauth2-proxy cannot be asked), and MLflow's and Grafana's errors. When the API cannot be
 * reached at all, the service's burn-rate ratios have no requests to divide and stay silent: this
 * is then the page.
 *
 * PlinthEdgeDown: no Traefik pod answers Prometheus's scrape (or none is left to scrape): the edge
 * is down, or blind, and PlinthEdgeErrorsHigh cannot fire.
 */
export function edgeRuleGroups(edge: EdgeAlerts): RuleGroup[] {
  const runbook = `${edge.runbookBaseUrl}#edge`;
  const errorRatioMax = edge.errorRatioMax ?? 0.05;
  const requests = TRAEFIK_ENTRYPOINT_REQUESTS;
  const matchers = `job="${edge.job}",entrypoint="${EDGE_ENTRY_POINT}"`;
  const rules: AlertingRule[] = [
    {
      alert: "PlinthEdgeErrorsHigh",
      expr: `sum(rate(${requests}{${matchers},code=~"5.."}[5m])) / sum(rate(${requests}{${matchers}}[5m])) > ${errorRatioMax}`,
      for: "10m",
      labels: { severity: "critical" },
      annotations: {
        summary: "The edge answers too many HTTPS requests with a 5xx.",
        description: `For 10 minutes more than ${Number((errorRatioMax * 100).toPrecision(6))}% of the answers on Traefik's ${EDGE_ENTRY_POINT} entry point (every host: the API, MLflow, Grafana, sign-in) have been 5xx.`,
        runbook_url: runbook,
      },
    },
    targetDownAlert("PlinthEdgeDown", edge.job, {
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Prometheus cannot scrape any Traefik pod of the edge.",
        description:
          "For 5 minutes no Traefik pod has answered Prometheus's scrape of its metrics port (or no Traefik pod has been running): the edge is down, or unobservable.",
        runbook_url: runbook,
      },
    }),
  ];
  return [{ name: "plinth-edge-alerts", rules }];
}

/**
 * How long a certificate alert holds once cert-manager stops being scraped: its series vanish (go
 * stale) with the controller, and a failing certificate must not read as RESOLVED meanwhile.
 */
const HELD_WHILE_UNSCRAPED = "6h";

/**
 * The alerts on the certificates of the cert-manager plinth installs (every listener's or
 * Ingress's, and the in-cluster Redis's), a PrometheusRule of their own written only where plinth
 * runs and scrapes cert-manager. Each is per Certificate (`exported_namespace`, `name`: the scrape
 * does not honour cert-manager's own labels, so its `namespace` label becomes `exported_namespace`),
 * aggregated so that a controller restart (a new `pod` label) neither resets nor duplicates an
 * alert. While no controller answers the scrape, each holds what cert-manager said last (for
 * `HELD_WHILE_UNSCRAPED`) beside PlinthCertManagerDown, instead of resolving.
 *
 * PlinthCertificateNotReady: a Certificate's Ready condition False or Unknown for 15 minutes: never
 * issued (DNS not pointing at the edge, the ACME challenge failing), or expired. Its listener serves
 * Traefik's default certificate, which browsers refuse (HSTS makes that final): a page.
 *
 * PlinthCertificateRenewalOverdue: cert-manager's planned renewal time of an issued certificate
 * passed more than `renewalOverdueHours` ago and it has not renewed it (a renewal moves that time
 * forward): renewal is failing, and the page above follows on the expiry day. A ticket. Judged
 * against cert-manager's own plan, so it holds for any lifetime and renew-before.
 *
 * PlinthCertManagerDown: no cert-manager controller answers Prometheus's scrape (or none runs):
 * nothing issues or renews certificates.
 */
export function certificateRuleGroups(certificates: CertificateAlerts): RuleGroup[] {
  const runbook = `${certificates.runbookBaseUrl}#certificates`;
  const hours = certificates.renewalOverdueHours ?? 24;
  const scraped = `job="${certificates.job}"`;
  const byCertificate = "by (exported_namespace, name)";
  const certificate = "{{ $labels.exported_namespace }}/{{ $labels.name }}";
  /** `query` over the live series, or over the last ones while the controller is not scraped. */
  const heldWhileUnscraped = (query: (series: (selector: string) => string) => string) =>
    `(${query((selector) => selector)}) or (${query(
      (selector) => `last_over_time(${selector}[${HELD_WHILE_UNSCRAPED}])`,
    )} unless on () up{${scraped}} == 1)`;
  const rules: AlertingRule[] = [
    {
      alert: "PlinthCertificateNotReady",
      expr: heldWhileUnscraped(
        (series) =>
          `max ${byCertificate} (${series(`${CERT_MANAGER_READY_STATUS}{${scraped},condition!="True"}`)}) == 1`,
      ),
      for: "15m",
      labels: { severity: "critical" },
      annotations: {
        summary: `Certificate ${certificate} is not Ready: not issued, or expired.`,
        description: `For 15 minutes the Certificate ${certificate} has not been Ready: the hosts it serves present no valid certificate, and browsers refuse them.`,
        runbook_url: runbook,
      },
    },
    {
      alert: "PlinthCertificateRenewalOverdue",
      // Issued certificates only: one never issued reports 0 (PlinthCertificateNotReady's case).
      expr: heldWhileUnscraped(
        (series) =>
          `time() - max ${byCertificate} (${series(`${CERT_MANAGER_RENEWAL}{${scraped}}`)} > 0) > ${hours * 3600}`,
      ),
      for: "1h",
      labels: { severity: "warning" },
      annotations: {
        summary: `Certificate ${certificate} is past its renewal time and cert-manager has not renewed it.`,
        description: `cert-manager planned to renew the Certificate ${certificate} more than ${hours} hours ago and has not: renewal is failing, and the certificate stops being Ready when it expires.`,
        runbook_url: runbook,
      },
    },
    targetDownAlert("PlinthCertManagerDown", certificates.job, {
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Prometheus cannot scrape cert-manager's controller.",
        description: `For 15 minutes no cert-manager controller pod has answered Prometheus's scrape of its metrics port (or none has been running): no certificate is issued or renewed; the certificate alerts hold what it said last for ${HELD_WHILE_UNSCRAPED}.`,
        runbook_url: runbook,
      },
    }),
  ];
  return [{ name: "plinth-certificate-alerts", rules }];
}

export function prometheusRuleGroups(options: RuleOptions): RuleGroup[] {
  const { slo } = options;
  const availabilityBudget = Number((1 - slo.availability).toPrecision(6));
  const latencyBudget = Number((1 - slo.latency).toPrecision(6));
  const runbook = (anchor: string) => `${options.runbookBaseUrl}#${anchor}`;
  const by = "by (model, model_version, variant)";
  const disagreementMax = options.shadowDisagreementMax ?? 0.1;
  const comparisons = METRICS.shadowComparisons.name;
  const state = METRICS.modelState.name;
  return [
    { name: "plinth-slo-recordings", rules: [...recordings("errors", slo), ...recordings("slow", slo)] },
    {
      name: "plinth-slo-alerts",
      rules: [
        burnAlert(
          "PlinthAvailabilityBudgetBurnFast",
          "errors",
          availabilityBudget,
          PAGE,
          "critical",
          "The inference API is burning its availability error budget fast.",
          runbook("availability"),
        ),
        burnAlert(
          "PlinthAvailabilityBudgetBurnSlow",
          "errors",
          availabilityBudget,
          TICKET,
          "warning",
          "The inference API is burning its availability error budget.",
          runbook("availability"),
        ),
        burnAlert(
          "PlinthLatencyBudgetBurnFast",
          "slow",
          latencyBudget,
          PAGE,
          "critical",
          `Too many inference requests are slower than ${slo.latencyThresholdSeconds}s (fast burn).`,
          runbook("latency"),
        ),
        burnAlert(
          "PlinthLatencyBudgetBurnSlow",
          "slow",
          latencyBudget,
          TICKET,
          "warning",
          `Too many inference requests are slower than ${slo.latencyThresholdSeconds}s.`,
          runbook("latency"),
        ),
      ],
    },
    {
      name: "plinth-model-alerts",
      rules: [
        {
          alert: "PlinthModelNotReady",
          expr: `max by (model, variant) (${state}{state=~"${NOT_READY_STATES.join("|")}"}) > 0`,
          for: "5m",
          labels: { severity: "critical" },
          annotations: {
            summary: "A model variant cannot serve.",
            description: `For 5 minutes the variant has been in one of ${NOT_READY_STATES.join(", ")}: its requests answer 503; /ready names the reason.`,
            runbook_url: runbook("model-not-ready"),
          },
        },
        {
          // A fresh stack's normal state until the first version is registered: a ticket, not a page.
          alert: "PlinthModelAwaitingVersion",
          expr: `max by (model, variant) (${state}{state="awaiting_version"}) > 0`,
          for: "30m",
          labels: { severity: "warning" },
          annotations: {
            summary: "The registry holds no version for a model's configured reference.",
            description:
              "For 30 minutes the variant's alias or version has not existed (or not been READY) in the registry: the service polls for it and answers 503 NOT_READY for this model until it does.",
            runbook_url: runbook("model-awaiting-version"),
          },
        },
        ...options.drift.map(({ model, alertPsi }) => ({
          alert: "PlinthDriftHigh",
          expr: `max ${by} (${METRICS.driftScore.name}{model="${model}"}) > ${alertPsi}`,
          for: "30m",
          labels: { severity: "warning" },
          annotations: {
            summary: "Live inputs have drifted from the training data.",
            description: `The drift score (largest PSI) of ${model} has stayed above ${alertPsi} for 30 minutes; consider retraining.`,
            runbook_url: runbook("drift"),
          },
        })),
        {
          alert: "PlinthCandidateCircuitOpen",
          expr: `max by (model, model_version) (${METRICS.candidateCircuitOpen.name}{variant="candidate"}) > 0`,
          for: "1m",
          labels: { severity: "warning" },
          annotations: {
            summary: "The candidate model's circuit breaker is open.",
            description:
              "The candidate failed repeatedly and is bypassed until a probe after the cooldown succeeds or it is reloaded; its traffic is served by stable.",
            runbook_url: runbook("candidate-circuit-open"),
          },
        },
        {
          alert: "PlinthShadowDisagreement",
          expr: `sum by (model, model_version) (rate(${comparisons}{outcome="disagree"}[15m])) / sum by (model, model_version) (rate(${comparisons}[15m])) > ${disagreementMax}`,
          for: "15m",
          labels: { severity: "warning" },
          annotations: {
            summary: "The shadow candidate disagrees with stable too often.",
            description: `More than ${disagreementMax * 100}% of shadowed predictions differ from stable's; do not promote.`,
            runbook_url: runbook("shadow-disagreement"),
          },
        },
      ],
    },
  ];
}
