/**
 * The PrometheusRule groups, exported to YAML, checked by promtool: `check rules` for syntax, and
 * `test rules` unit tests in which every alert fires on synthetic series and clears afterwards.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  certificateRuleGroups,
  edgeRuleGroups,
  prometheusRuleGroups,
  type AlertingRule,
} from "../../components/monitoring/rules.js";

/** The edge's scrape job: the PodMonitor `plinth-edge` in the monitoring namespace. */
const EDGE_JOB = "monitoring/plinth-edge";
/** cert-manager's scrape job: the PodMonitor `plinth-cert-manager` in the monitoring namespace. */
const CERT_MANAGER_JOB = "monitoring/plinth-cert-manager";
// The inference PrometheusRule's groups, the edge's and the certificates' (each its own
// PrometheusRule), in one file.
const groups = [
  ...prometheusRuleGroups({
    slo: { availability: 0.999, latency: 0.99, latencyThresholdSeconds: 0.25 },
    drift: [{ model: "fashion-mnist", alertPsi: 0.25 }],
    runbookBaseUrl: "https://example.com/runbook",
  }),
  ...edgeRuleGroups({ job: EDGE_JOB, runbookBaseUrl: "https://example.com/runbook" }),
  ...certificateRuleGroups({ job: CERT_MANAGER_JOB, runbookBaseUrl: "https://example.com/runbook" }),
];
const alerts = new Map(
  groups
    .flatMap((group) => group.rules)
    .filter((rule): rule is AlertingRule => "alert" in rule)
    .map((rule) => [rule.alert, rule]),
);

const dir = mkdtempSync(join(tmpdir(), "plinth-rules-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rulesFile = join(dir, "rules.yaml");
writeFileSync(rulesFile, stringify({ groups }));

const API = 'route="/predict",method="POST",variant="stable",model_version="1"';
const EDGE = `job="${EDGE_JOB}",method="GET",protocol="http"`;
const MODEL = 'model="fashion-mnist"';
/**
 * A listener certificate of plinth's Gateway, as Prometheus stores cert-manager's series: the
 * target's labels (job, the pod and its namespace) and cert-manager's own, its clashing `namespace`
 * (the Certificate's) kept as `exported_namespace`.
 */
const CERTIFICATE = (name: string, job = CERT_MANAGER_JOB, pod = "cert-manager-a") =>
  `job="${job}",namespace="cert-manager",pod="${pod}",exported_namespace="plinth-edge",name="${name}",issuer_name="letsencrypt",issuer_kind="ClusterIssuer",issuer_group="cert-manager.io"`;
/** cert-manager's ready-status gauge: 1 on the certificate's current Ready condition, 0 on the others. */
const readyStatus = (
  name: string,
  values: { True: string; False: string; Unknown: string },
  job?: string,
  pod?: string,
) =>
  Object.fromEntries(
    Object.entries(values).map(([condition, series]) => [
      `certmanager_certificate_ready_status{${CERTIFICATE(name, job, pod)},condition="${condition}"}`,
      series,
    ]),
  );
/** The controller's scrape health: `up` of the cert-manager job. */
const certManagerUp = (values: string, pod = "cert-manager-a") => ({
  [`up{job="${CERT_MANAGER_JOB}",namespace="cert-manager",pod="${pod}"}`]: values,
});
const RENEWAL = (name: string, job?: string) =>
  `certmanager_certificate_renewal_timestamp_seconds{${CERTIFICATE(name, job)}}`;

interface Expectation {
  readonly at: string;
  /** Labels the alert carries besides its own static labels; undefined: must not fire. */
  readonly labels?: Record<string, string>;
}

/** One promtool test: series, then for each alert the times it must fire and be clear. */
function unitTest(
  interval: string,
  series: Record<string, string>,
  alertname: string,
  expectations: Expectation[],
) {
  const rule = alerts.get(alertname);
  if (!rule) throw new Error(`no alert ${alertname}`);
  return {
    interval,
    input_series: Object.entries(series).map(([name, values]) => ({ series: name, values })),
    alert_rule_test: expectations.map(({ at, labels }) => ({
      eval_time: at,
      alertname,
      exp_alerts: labels
        ? [{ exp_labels: { ...rule.labels, ...labels }, exp_annotations: expanded(rule.annotations, labels) }]
        : [],
    })),
  };
}

/** Annotations as Prometheus sends them: each `{{ $labels.x }}` replaced by the alert's label. */
function expanded(annotations: Record<string, string> | undefined, labels: Record<string, string>) {
  if (annotations === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(annotations).map(([key, text]) => [
      key,
      text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, label: string) => labels[label] ?? ""),
    ]),
  );
}

const TESTS = [
  unitTest(
    "1m",
    {
      [`plinth_http_requests_total{${API},status_code="200"}`]: "0+570x120",
      [`plinth_http_requests_total{${API},status_code="500"}`]: "0+30x60 1800+0x60",
      // Failing health checks are not part of the SLO: they must not keep the alert firing.
      ['plinth_http_requests_total{route="/health",method="GET",status_code="500",variant="none",model_version="none"}']:
        "0+1000x120",
    },
    "PlinthAvailabilityBudgetBurnFast",
    [{ at: "60m", labels: {} }, { at: "120m" }],
  ),
  unitTest(
    "10m",
    {
      [`plinth_http_requests_total{${API},status_code="200"}`]: "0+5970x300",
      [`plinth_http_requests_total{${API},status_code="500"}`]: "0+30x150 4500+0x150",
    },
    "PlinthAvailabilityBudgetBurnSlow",
    [{ at: "24h", labels: {} }, { at: "50h" }],
  ),
  unitTest(
    "1m",
    {
      [`plinth_http_request_duration_seconds_bucket{${API},status_code="200",le="0.25"}`]:
        "0+300x60 18000+600x60",
      [`plinth_http_request_duration_seconds_count{${API},status_code="200"}`]: "0+600x120",
    },
    "PlinthLatencyBudgetBurnFast",
    [{ at: "60m", labels: {} }, { at: "120m" }],
  ),
  unitTest(
    "10m",
    {
      [`plinth_http_request_duration_seconds_bucket{${API},status_code="200",le="0.25"}`]:
        "0+5700x150 855000+6000x150",
      [`plinth_http_request_duration_seconds_count{${API},status_code="200"}`]: "0+6000x300",
    },
    "PlinthLatencyBudgetBurnSlow",
    [{ at: "24h", labels: {} }, { at: "50h" }],
  ),
  unitTest(
    "1m",
    {
      // A first version that fails to load for 10 minutes, then loads; stable serves throughout.
      [`plinth_model_state{${MODEL},variant="candidate",state="load_failed"}`]: "0x5 1x10 0x10",
      [`plinth_model_state{${MODEL},variant="candidate",state="ready"}`]: "0x15 1x10",
      [`plinth_model_state{${MODEL},variant="stable",state="ready"}`]: "1x25",
      [`plinth_model_state{${MODEL},variant="stable",state="load_failed"}`]: "0x25",
      // Awaiting its first version throughout: not a page (the alerts expected are exactly these).
      ['plinth_model_state{model="churn",variant="stable",state="awaiting_version"}']: "1x25",
    },
    "PlinthModelNotReady",
    [{ at: "3m" }, { at: "12m", labels: { model: "fashion-mnist", variant: "candidate" } }, { at: "22m" }],
  ),
  unitTest(
    "1m",
    {
      // An empty registry for an hour, then the first version: never a page, a warning after 30m.
      [`plinth_model_state{${MODEL},variant="stable",state="awaiting_version"}`]: "1x60 0x20",
      [`plinth_model_state{${MODEL},variant="stable",state="ready"}`]: "0x60 1x20",
    },
    "PlinthModelAwaitingVersion",
    [{ at: "20m" }, { at: "45m", labels: { model: "fashion-mnist", variant: "stable" } }, { at: "70m" }],
  ),
  unitTest(
    "1m",
    { [`plinth_drift_score{${MODEL},model_version="1",variant="stable"}`]: "0.05x10 0.5x60 0.05x10" },
    "PlinthDriftHigh",
    [
      { at: "30m" },
      { at: "50m", labels: { model: "fashion-mnist", model_version: "1", variant: "stable" } },
      { at: "78m" },
    ],
  ),
  unitTest(
    "1m",
    { [`plinth_candidate_circuit_open{${MODEL},model_version="7",variant="candidate"}`]: "0x5 1x10 0x10" },
    "PlinthCandidateCircuitOpen",
    [{ at: "10m", labels: { model: "fashion-mnist", model_version: "7" } }, { at: "22m" }],
  ),
  unitTest(
    "1m",
    {
      [`plinth_shadow_comparisons_total{${MODEL},model_version="7",outcome="agree"}`]: "0+90x100",
      [`plinth_shadow_comparisons_total{${MODEL},model_version="7",outcome="disagree"}`]:
        "0+5x30 150+40x30 1350+5x40",
    },
    "PlinthShadowDisagreement",
    [{ at: "25m" }, { at: "58m", labels: { model: "fashion-mnist", model_version: "7" } }, { at: "98m" }],
  ),
  unitTest(
    "1m",
    {
      // 960 answers a minute 2xx and 200 4xx (not errors) on the HTTPS entry point; 5xx at 48 a
      // minute (4 %, under the threshold) for 30 minutes, then 130 (10 %) for 20, then none.
      [`traefik_entrypoint_requests_total{${EDGE},entrypoint="websecure",code="200"}`]: "0+960x100",
      [`traefik_entrypoint_requests_total{${EDGE},entrypoint="websecure",code="404"}`]: "0+200x100",
      [`traefik_entrypoint_requests_total{${EDGE},entrypoint="websecure",code="503"}`]:
        "0+48x30 1440+130x20 4040x50",
      // The HTTP entry point only redirects: its answers are not the edge's errors.
      [`traefik_entrypoint_requests_total{${EDGE},entrypoint="web",code="500"}`]: "0+5000x100",
      // Another Traefik the same Prometheus scrapes is not plinth's edge.
      ['traefik_entrypoint_requests_total{job="other/traefik",method="GET",protocol="http",entrypoint="websecure",code="500"}']:
        "0+5000x100",
    },
    "PlinthEdgeErrorsHigh",
    [{ at: "28m" }, { at: "36m" }, { at: "48m", labels: {} }, { at: "70m" }],
  ),
  unitTest(
    "1m",
    {
      // One pod down for 10 minutes while the other answers: the edge is up.
      [`up{job="${EDGE_JOB}",pod="traefik-a"}`]: "1x10 0x20 1x20",
      [`up{job="${EDGE_JOB}",pod="traefik-b"}`]: "0x30 1x20",
      // Another job's targets answer throughout: they are not the edge.
      ['up{job="monitoring/plinth-inference",pod="plinth-inference-a"}']: "1x50",
    },
    "PlinthEdgeDown",
    [{ at: "9m" }, { at: "14m" }, { at: "20m", labels: {} }, { at: "40m" }],
  ),
  unitTest(
    "1m",
    {
      // No Traefik pod to scrape for 15 minutes (the PodMonitor finds none: no `up` series at
      // all), then one answers.
      [`up{job="${EDGE_JOB}",pod="traefik-a"}`]: "_x15 1x15",
      ['up{job="monitoring/plinth-inference",pod="plinth-inference-a"}']: "1x30",
    },
    "PlinthEdgeDown",
    [{ at: "3m" }, { at: "10m", labels: {} }, { at: "25m" }],
  ),
  unitTest(
    "1m",
    {
      ...certManagerUp("1x60"),
      // api-tls Ready throughout.
      ...readyStatus("api-tls", { True: "1x60", False: "0x60", Unknown: "0x60" }),
      // mlflow-tls new (Unknown) for 5 minutes, its challenge failing (False) for 30, then issued.
      ...readyStatus("mlflow-tls", { True: "0x35 1x25", False: "0x5 1x30 0x25", Unknown: "1x5 0x55" }),
      // Another cert-manager's failing certificate is not plinth's.
      ...readyStatus("other-tls", { True: "0x60", False: "1x60", Unknown: "0x60" }, "other/cert-manager"),
    },
    "PlinthCertificateNotReady",
    [
      { at: "10m" },
      { at: "20m", labels: { exported_namespace: "plinth-edge", name: "mlflow-tls" } },
      { at: "50m" },
    ],
  ),
  unitTest(
    "1m",
    {
      // The controller restarts at 30 minutes (a new pod, so new series), then stops answering at
      // 60: the failing certificate's page neither restarts its 15 minutes nor resolves while no
      // controller reports (held for 6 hours).
      ...certManagerUp("1x30"),
      ...certManagerUp("_x30 1x30 0x400", "cert-manager-b"),
      ...readyStatus("mlflow-tls", { True: "0x30", False: "1x30", Unknown: "0x30" }),
      ...readyStatus(
        "mlflow-tls",
        { True: "_x30 0x30", False: "_x30 1x30", Unknown: "_x30 0x30" },
        CERT_MANAGER_JOB,
        "cert-manager-b",
      ),
    },
    "PlinthCertificateNotReady",
    [
      { at: "10m" },
      { at: "20m", labels: { exported_namespace: "plinth-edge", name: "mlflow-tls" } },
      { at: "33m", labels: { exported_namespace: "plinth-edge", name: "mlflow-tls" } },
      { at: "90m", labels: { exported_namespace: "plinth-edge", name: "mlflow-tls" } },
      { at: "5h", labels: { exported_namespace: "plinth-edge", name: "mlflow-tls" } },
      { at: "7h10m" },
    ],
  ),
  unitTest(
    "10m",
    {
      ...certManagerUp("1x180"),
      // Renewal planned two days ahead: silent.
      [RENEWAL("api-tls")]: "172800x180",
      // Renewal planned at 1,000 s and not done for a day and more, then renewed (the next one 60
      // days ahead).
      [RENEWAL("mlflow-tls")]: "1000x162 5184000x18",
      // Never issued (cert-manager reports 0): PlinthCertificateNotReady's case, not this one's.
      [RENEWAL("grafana-tls")]: "0x180",
      // Another cert-manager's overdue certificate is not plinth's.
      [RENEWAL("other-tls", "other/cert-manager")]: "1000x180",
    },
    "PlinthCertificateRenewalOverdue",
    [
      { at: "24h" },
      { at: "26h", labels: { exported_namespace: "plinth-edge", name: "mlflow-tls" } },
      { at: "28h" },
    ],
  ),
  unitTest(
    "1m",
    {
      // The controller unreachable for 25 minutes, then back.
      [`up{job="${CERT_MANAGER_JOB}",pod="cert-manager-a"}`]: "1x10 0x25 1x15",
      ['up{job="monitoring/plinth-inference",pod="plinth-inference-a"}']: "1x50",
    },
    "PlinthCertManagerDown",
    [{ at: "20m" }, { at: "30m", labels: {} }, { at: "45m" }],
  ),
  unitTest(
    "1m",
    {
      // No controller pod to scrape for 20 minutes (no `up` series at all), then one answers.
      [`up{job="${CERT_MANAGER_JOB}",pod="cert-manager-a"}`]: "_x20 1x15",
      ['up{job="monitoring/plinth-inference",pod="plinth-inference-a"}']: "1x35",
    },
    "PlinthCertManagerDown",
    [{ at: "10m" }, { at: "18m", labels: {} }, { at: "30m" }],
  ),
];

/**
 * Runs promtool on tests. Slow-burn tests use a coarser evaluation interval to stay cheap, but never
 * coarser than 4m: alerts read recorded series from another rule group, and promtool evaluates groups
 * in no fixed order, so with a step longer than the 5m lookback an alert evaluated before its
 * recording group saw no sample at all (a flaky "got: []" at the 1d mark).
 */
function promtoolTest(tests: ReturnType<typeof unitTest>[], evaluationInterval = "1m") {
  const file = join(dir, `tests-${evaluationInterval}-${tests.length}.yaml`);
  writeFileSync(file, stringify({ rule_files: [rulesFile], evaluation_interval: evaluationInterval, tests }));
  return spawnSync("promtool", ["test", "rules", file], { encoding: "utf8" });
}

describe("PrometheusRule under promtool", () => {
  it("passes promtool check rules", () => {
    const output = execFileSync("promtool", ["check", "rules", rulesFile], { encoding: "utf8" });
    expect(output).toContain(`SUCCESS: ${groups.flatMap((g) => g.rules).length} rules found`);
  });

  it("has a fire-and-clear unit test for every alert", () => {
    const tested = new Set(TESTS.flatMap((test) => test.alert_rule_test.map((t) => t.alertname)));
    expect([...tested].sort()).toEqual([...alerts.keys()].sort());
    for (const test of TESTS) {
      expect(test.alert_rule_test.some((t) => t.exp_alerts.length > 0)).toBe(true);
      expect(test.alert_rule_test.at(-1)!.exp_alerts).toEqual([]);
    }
  });

  it("fires and clears each alert on synthetic series (promtool test rules)", () => {
    for (const [interval, evaluationInterval] of [
      ["1m", "1m"],
      ["10m", "4m"],
    ] as const) {
      const result = promtoolTest(
        TESTS.filter((test) => test.interval === interval),
        evaluationInterval,
      );
      expect(result.stderr + result.stdout).toContain("SUCCESS");
      expect(result.status).toBe(0);
    }
  });

  it("fails a unit test that expects an alert where none fires (the harness can fail)", () => {
    const wrong = unitTest(
      "1m",
      { [`plinth_model_state{${MODEL},variant="stable",state="ready"}`]: "1x20" },
      "PlinthModelNotReady",
      [{ at: "12m", labels: { model: "fashion-mnist", variant: "stable" } }],
    );
    const result = promtoolTest([wrong]);
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain("PlinthModelNotReady");
  });

  it("scales burn-rate thresholds from the SLO targets", () => {
    const fast = alerts.get("PlinthAvailabilityBudgetBurnFast")!;
    expect(fast.expr).toContain(
      "plinth:slo_errors:ratio_rate1h > 0.0144 and plinth:slo_errors:ratio_rate5m > 0.0144",
    );
    expect(fast.expr).toContain(
      "plinth:slo_errors:ratio_rate6h > 0.006 and plinth:slo_errors:ratio_rate30m > 0.006",
    );
    expect(alerts.get("PlinthLatencyBudgetBurnSlow")!.expr).toContain(
      "plinth:slo_slow:ratio_rate3d > 0.01 and plinth:slo_slow:ratio_rate6h > 0.01",
    );
    expect(alerts.get("PlinthEdgeErrorsHigh")!.expr).toBe(
      `sum(rate(traefik_entrypoint_requests_total{job="${EDGE_JOB}",entrypoint="websecure",code=~"5.."}[5m])) / sum(rate(traefik_entrypoint_requests_total{job="${EDGE_JOB}",entrypoint="websecure"}[5m])) > 0.05`,
    );
    expect(alerts.get("PlinthEdgeDown")!.expr).toBe(`absent(up{job="${EDGE_JOB}"} == 1)`);
    const ready = `certmanager_certificate_ready_status{job="${CERT_MANAGER_JOB}",condition!="True"}`;
    expect(alerts.get("PlinthCertificateNotReady")!.expr).toBe(
      `(max by (exported_namespace, name) (${ready}) == 1) or ` +
        `(max by (exported_namespace, name) (last_over_time(${ready}[6h])) == 1 unless on () up{job="${CERT_MANAGER_JOB}"} == 1)`,
    );
    const renewal = `certmanager_certificate_renewal_timestamp_seconds{job="${CERT_MANAGER_JOB}"}`;
    expect(alerts.get("PlinthCertificateRenewalOverdue")!.expr).toBe(
      `(time() - max by (exported_namespace, name) (${renewal} > 0) > 86400) or ` +
        `(time() - max by (exported_namespace, name) (last_over_time(${renewal}[6h]) > 0) > 86400 unless on () up{job="${CERT_MANAGER_JOB}"} == 1)`,
    );
    expect(alerts.get("PlinthCertManagerDown")!.expr).toBe(`absent(up{job="${CERT_MANAGER_JOB}"} == 1)`);
    expect(
      certificateRuleGroups({ job: CERT_MANAGER_JOB, runbookBaseUrl: "x", renewalOverdueHours: 6 })[0]!
        .rules[1]!.expr,
    ).toMatch(/ > 21600\)/);
    expect(
      edgeRuleGroups({ job: EDGE_JOB, runbookBaseUrl: "x", errorRatioMax: 0.02 })[0]!.rules[0]!.expr,
    ).toMatch(/\) > 0\.02$/);
    const recordings = groups[0]!.rules.map((rule) => ("record" in rule ? rule.record : ""));
    expect(recordings).toContain("plinth:slo_slow:ratio_rate5m");
    expect(JSON.stringify(groups[0])).toContain('le=\\"0.25\\"');
  });
});
