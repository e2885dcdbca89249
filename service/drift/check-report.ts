/**
 * The drift check's verdict on a `GET /ops/summary` answer: which exit status it earns and the
 * compact report it prints (one line per fact, so it reads well in `kubectl logs`).
 */
import { z } from "zod";
import type { DriftSummary, OpsSummary } from "../ops/summary.js";

/** Exit statuses of the drift check. */
export const EXIT = {
  /** Drift is ok or warn, or too few samples yet to have a score. */
  ok: 0,
  /** Drift is at the alert level. */
  alert: 1,
  /** No verdict: the service could not be reached, answered an error or an unexpected body, or has no baseline. */
  unavailable: 2,
  /** The check's own settings are invalid. */
  badSettings: 3,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

/** Features listed in the report, largest PSI first (the summary gives at most five). */
const TOP_FEATURES = 3;

type CheckedDrift = Pick<
  DriftSummary,
  | "score"
  | "level"
  | "trend"
  | "delta"
  | "predictionPsi"
  | "samples"
  | "baseline"
  | "thresholds"
  | "topFeatures"
> & {
  /** Absent from a service older than this check. */
  readonly unsupported?: DriftSummary["unsupported"];
};

/** What the check reads of the summary; the rest of the answer is ignored. */
export interface CheckedSummary {
  readonly rollout: {
    readonly model: OpsSummary["rollout"]["model"];
    readonly variants: { readonly stable: { readonly version: string | null } };
  };
  readonly drift: CheckedDrift;
}

export const checkedSummarySchema: z.ZodType<CheckedSummary> = z.object({
  rollout: z.object({
    model: z.string(),
    variants: z.object({ stable: z.object({ version: z.string().nullable() }) }),
  }),
  drift: z.object({
    score: z.number().nullable(),
    level: z.enum(["ok", "warn", "alert"]).nullable(),
    trend: z.enum(["rising", "falling", "steady"]).nullable(),
    delta: z.number().nullable(),
    predictionPsi: z.number().nullable(),
    samples: z.number().int().nonnegative(),
    baseline: z.string(),
    unsupported: z.string().nullable().optional(),
    thresholds: z.object({ warn: z.number(), alert: z.number() }),
    topFeatures: z.array(z.object({ feature: z.string(), psi: z.number() })),
  }),
});

/** Baseline states in which drift can never be computed for the serving version. */
const UNMONITORED_BASELINES = new Set(["missing", "failed"]);

export interface DriftVerdict {
  readonly status: ExitStatus;
  readonly lines: readonly string[];
}

const psi = (value: number) => value.toFixed(4);
const signed = (value: number) => (value >= 0 ? `+${psi(value)}` : psi(value));

/** The verdict on a summary fetched from `url`. */
export function driftVerdict(summary: CheckedSummary, url: string): DriftVerdict {
  const { drift, rollout } = summary;
  const version = rollout.variants.stable.version;
  const stable = version === null ? "(stable, no version loaded)" : `v${version} (stable)`;
  const subject = `drift of ${rollout.model} ${stable} at ${url}`;
  const thresholds = `warn ${drift.thresholds.warn}, alert ${drift.thresholds.alert}`;
  if (typeof drift.unsupported === "string") {
    return { status: EXIT.unavailable, lines: [`${subject}: NOT MONITORED`, drift.unsupported] };
  }
  if (UNMONITORED_BASELINES.has(drift.baseline)) {
    return {
      status: EXIT.unavailable,
      lines: [
        `${subject}: NOT MONITORED`,
        `baseline ${drift.baseline}: this version has no usable baseline.json, so drift is never computed`,
      ],
    };
  }
  if (drift.score === null || drift.level === null) {
    return {
      status: EXIT.ok,
      lines: [
        `${subject}: NO SCORE YET`,
        `${drift.samples} samples in the window, baseline: ${drift.baseline}; a score needs DRIFT_MIN_SAMPLES of them`,
      ],
    };
  }
  const trend =
    drift.trend === null
      ? ""
      : `, trend ${drift.trend}${drift.delta === null ? "" : ` (${signed(drift.delta)})`}`;
  const features = drift.topFeatures
    .slice(0, TOP_FEATURES)
    .map((f) => `${f.feature} ${psi(f.psi)}`)
    .join(", ");
  return {
    status: drift.level === "alert" ? EXIT.alert : EXIT.ok,
    lines: [
      `${subject}: ${drift.level.toUpperCase()}`,
      `score ${psi(drift.score)} (${thresholds})${trend}, ${drift.samples} samples`,
      `top features by PSI: ${features === "" ? "none" : features}`,
      `predicted-class PSI: ${drift.predictionPsi === null ? "—" : psi(drift.predictionPsi)}`,
    ],
  };
}
