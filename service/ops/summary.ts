/**
 * `GET /ops/summary`: the release manager's one-look view, assembled from the rollout snapshot
 * (versions, aliases, strategy, shadow agreement, circuit, last reload), the service's own
 * metrics (traffic, error rate, p95s), the drift monitor, and the stable version's training
 * summary and data-quality gate report.
 */
import type { DriftEntry, DriftLevel, DriftTrend } from "../drift/history.js";
import type { DriftMonitor } from "../drift/monitor.js";
import type { RolloutSnapshot, VariantSnapshot } from "../rollout/summary.js";
import { QUALITY_REPORT_FILE, TRAINING_SUMMARY_FILE, type ModelArtifacts } from "./artifacts.js";
import type { AuditLog, AuditRecord } from "./audit.js";
import type { DriftSettings } from "./settings.js";
import { trafficTotals, type TrafficPoint, type TrafficSampler } from "./traffic.js";

/** History points returned for the panel's drift chart. */
const DRIFT_POINTS = 120;
const AUDIT_RECORDS = 10;
/** Refusals shown beside them: enough to see an attack, never enough to hide an action. */
const AUDIT_REFUSALS = 3;

/** The panel's audit rows, oldest first: the last actions and, apart, the last few refusals. */
function recentAudit(audit: AuditLog): AuditRecord[] {
  const { actions, refusals } = audit.recent();
  return [...actions.slice(-AUDIT_RECORDS), ...refusals.slice(-AUDIT_REFUSALS)].sort((a, b) =>
    a.time.localeCompare(b.time),
  );
}

export interface DriftSummary {
  /** The stable variant's latest drift; null until its window reached DRIFT_MIN_SAMPLES. */
  readonly score: number | null;
  readonly level: DriftLevel | null;
  readonly trend: DriftTrend | null;
  readonly delta: number | null;
  readonly predictionPsi: number | null;
  readonly samples: number;
  readonly baseline: string;
  /**
   * Why drift cannot monitor the stable version at all (service/serving/capabilities.ts), naming
   * the model; null when it can (the baseline state then says whether it does).
   */
  readonly unsupported: string | null;
  readonly thresholds: { readonly warn: number; readonly alert: number };
  readonly topFeatures: readonly { feature: string; psi: number }[];
  readonly history: readonly { time: string; variant: string; score: number; level: DriftLevel }[];
}

export interface TrainingSummary {
  readonly version: string;
  readonly architecture: string | null;
  readonly accuracy: number | null;
  readonly macroF1: number | null;
  readonly finishedAt: string | null;
  readonly gate: { passed: boolean; skipped: boolean; failed: string[]; warned: string[] } | null;
}

export interface OpsSummary {
  readonly generatedAt: string;
  readonly rollout: RolloutSnapshot;
  readonly traffic: ReturnType<typeof trafficTotals> & { readonly series: readonly TrafficPoint[] };
  readonly drift: DriftSummary;
  readonly training: TrainingSummary | null;
  readonly audit: readonly AuditRecord[];
}

export interface SummarySources {
  readonly rollout: { snapshot(): RolloutSnapshot };
  readonly traffic: TrafficSampler;
  readonly drift: DriftMonitor;
  readonly driftSettings: DriftSettings;
  readonly artifacts: ModelArtifacts;
  readonly audit: AuditLog;
}

export async function buildSummary(sources: SummarySources, now = new Date()): Promise<OpsSummary> {
  const rollout = sources.rollout.snapshot();
  // A fresh reading, so the totals are current and the series ends now; not kept (a read never
  // changes what the next read sees).
  const sample = await sources.traffic.current(now.getTime());
  const stableVersion = rollout.variants.stable.version;
  return {
    generatedAt: now.toISOString(),
    rollout,
    traffic: { ...trafficTotals(sample), series: sources.traffic.series(sample) },
    drift: driftSummary(sources, rollout.variants.stable),
    training:
      stableVersion === null ? null : await trainingSummary(sources.artifacts, rollout.model, stableVersion),
    audit: recentAudit(sources.audit),
  };
}

/** What the summary says of a stable version drift cannot monitor at all. */
export const DRIFT_NEEDS_METADATA =
  "not monitored: the model has no plinth metadata (drift needs its image input)";

function driftSummary(
  { drift, driftSettings }: SummarySources,
  stableVersion: VariantSnapshot,
): DriftSummary {
  const stable = drift.variants().find((v) => v.variant === "stable");
  const monitorable = stableVersion.plinthMetadata !== false;
  const support = stableVersion.capabilities?.drift;
  const latest: DriftEntry | undefined = stable?.latest;
  const topFeatures = Object.entries(latest?.features ?? {})
    .map(([feature, psi]) => ({ feature, psi }))
    .sort((a, b) => b.psi - a.psi)
    .slice(0, 5);
  return {
    score: latest?.score ?? null,
    level: latest?.level ?? null,
    trend: latest?.trend ?? null,
    delta: latest?.delta ?? null,
    predictionPsi: latest?.predictionPsi ?? null,
    samples: stable?.samples ?? 0,
    baseline: monitorable ? (stable?.baseline ?? "no traffic yet") : DRIFT_NEEDS_METADATA,
    unsupported: support?.supported === false ? support.reason! : null,
    thresholds: { warn: driftSettings.warnPsi, alert: driftSettings.alertPsi },
    topFeatures,
    history: drift.history
      .list()
      .slice(-DRIFT_POINTS)
      .map((e) => ({ time: e.time, variant: e.variant, score: e.score, level: e.level })),
  };
}

const num = (v: unknown) => (typeof v === "number" ? v : null);
const str = (v: unknown) => (typeof v === "string" ? v : null);
const obj = (v: unknown) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {});

async function trainingSummary(
  artifacts: ModelArtifacts,
  model: string,
  version: string,
): Promise<TrainingSummary | null> {
  const ref = { name: model, version };
  const [summary, quality] = await Promise.all([
    artifacts.json(ref, TRAINING_SUMMARY_FILE).catch(() => undefined),
    artifacts.json(ref, QUALITY_REPORT_FILE).catch(() => undefined),
  ]);
  if (summary === undefined && quality === undefined) return null;
  const s = obj(summary);
  const test = obj(s.test);
  const q = obj(quality);
  const checks = Array.isArray(q.checks) ? q.checks.map(obj) : [];
  const named = (status: string) => checks.filter((c) => c.status === status).map((c) => String(c.name));
  return {
    version,
    architecture: str(s.architecture),
    accuracy: num(test.accuracy),
    macroF1: num(test.macroF1),
    finishedAt: str(s.finishedAt),
    gate:
      quality === undefined
        ? null
        : {
            passed: q.passed === true,
            skipped: q.skipped === true,
            failed: named("fail"),
            warned: named("warn"),
          },
  };
}
