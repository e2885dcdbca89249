/**
 * Settings of drift monitoring, the prediction log, the audit log and the admin surface: a fragment
 * of the service's settings table (service/config.ts spreads it in), so the variables are
 * validated, reported by name and documented in the same place as every other setting. Their
 * names are the contract's (service/contract/service-env.ts).
 */
import { z } from "zod";
import { OBSERVABILITY_ENV, type ObservabilityEnvName } from "../contract/service-env.js";
import type { SchemaShape, SettingsTable } from "../settings-table.js";

/** This group's names (the contract's object, not a copy). */
export { OBSERVABILITY_ENV };

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const psi = z.coerce.number().positive().max(100);
const optionalPath = z
  .string()
  .trim()
  .transform((s) => (s === "" ? undefined : s))
  .optional();
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

const emailDomains = z
  .string()
  .transform((text, ctx) => {
    const domains = text
      .split(",")
      .map((d) => d.trim().toLowerCase())
      .filter((d) => d !== "");
    const bad = domains.filter((d) => !DOMAIN.test(d));
    if (bad.length > 0) {
      ctx.addIssue({ code: "custom", message: `not a DNS domain: ${bad.join(", ")}` });
      return z.NEVER;
    }
    return domains;
  })
  .default([]);

/** Group names as oauth2-proxy forwards them (comma-joined, so a name cannot hold a comma). */
const GROUP = /^[^\s,][^,]{0,255}$/;
const groupNames = z
  .string()
  .transform((text, ctx) => {
    const groups = text
      .split(",")
      .map((g) => g.trim())
      .filter((g) => g !== "");
    const bad = groups.filter((g) => !GROUP.test(g));
    if (bad.length > 0) {
      ctx.addIssue({ code: "custom", message: `not a group name (1-256 characters): ${bad.join(", ")}` });
      return z.NEVER;
    }
    return [...new Set(groups)];
  })
  .default([]);

/** One declaration per variable (service/config.ts spreads the table into its own). */
export const OBSERVABILITY_SETTINGS = {
  DRIFT_WINDOW_SIZE: {
    schema: int(10, 1_000_000).default(1000),
    doc: "Live inputs per variant in the drift window (sliding); one interval adds at most its newest 10,000. Default `1000`.",
  },
  DRIFT_MIN_SAMPLES: {
    schema: int(1, 1_000_000).default(200),
    doc: "Samples the window needs before drift is computed and published. Default `200`.",
  },
  DRIFT_INTERVAL_MS: {
    schema: int(100, 3_600_000).default(15_000),
    doc: "How often the window is summarised into PSI gauges and a drift history entry. Default `15000`.",
  },
  DRIFT_WARN_PSI: {
    schema: psi.default(0.1),
    doc: "PSI at or above which drift is reported as `warn`. Default `0.1`.",
  },
  DRIFT_ALERT_PSI: {
    schema: psi.default(0.25),
    doc: "PSI at or above which drift is reported as `alert`. Default `0.25`.",
  },
  DRIFT_HISTORY_PATH: {
    schema: optionalPath,
    doc: "JSONL file the drift history is appended to; unset keeps the history in memory only.",
  },
  DRIFT_HISTORY_MAX_BYTES: {
    schema: int(1024, 1024 ** 3).default(1024 * 1024),
    doc: "Size at which the drift history file is rotated to `<path>.1` (one old file kept). Default `1048576`.",
  },
  PREDICTION_LOG_PATH: {
    schema: optionalPath,
    doc: "JSONL file of every prediction (id, model, variant, label, confidence, latency, input digest); unset: off.",
  },
  PREDICTION_LOG_QUEUE_MAX: {
    schema: int(1, 10_000_000).default(10_000),
    doc: "Records waiting to be written; beyond it records are dropped and counted, requests never wait. Default `10000`.",
  },
  PREDICTION_LOG_FLUSH_MS: {
    schema: int(10, 60_000).default(1000),
    doc: "Interval of batched writes to the prediction log. Default `1000`.",
  },
  PREDICTION_LOG_MAX_BYTES: {
    schema: int(1024, 1024 ** 4).default(100 * 1024 * 1024),
    doc: "Size at which the prediction log is rotated to `<path>.1` (one old file kept). Default `104857600`.",
  },
  AUDIT_LOG_PATH: {
    schema: optionalPath,
    doc: "JSONL file of admin actions (who, what, when, result); they are always logged as well.",
  },
  OPS_SAMPLE_INTERVAL_MS: {
    schema: int(100, 600_000).default(5000),
    doc: "Interval of the traffic/latency samples behind the admin panel's charts. Default `5000`.",
  },
  OPS_OIDC_TRUST_HEADERS: {
    schema: z.enum(["true", "false"]).default("false"),
    doc: "`true` accepts oauth2-proxy's `X-Auth-Request-Email` for /ops, /admin and /reload-model (bare and under `/models/<MODEL_NAME>`); only behind oauth2-proxy. Default `false` (the header is ignored).",
  },
  OPS_OIDC_ALLOWED_EMAIL_DOMAINS: {
    schema: emailDomains,
    doc: "Comma-separated email domains oauth2-proxy users must belong to; required with `OPS_OIDC_TRUST_HEADERS=true`. The domain admits; the groups below grant roles.",
  },
  OPS_OIDC_ADMIN_GROUPS: {
    schema: groupNames,
    doc: "Comma-separated identity-provider groups (oauth2-proxy's `X-Auth-Request-Groups`) whose members hold the `admin` role; required with `OPS_OIDC_TRUST_HEADERS=true`.",
  },
  OPS_OIDC_OPS_READ_GROUPS: {
    schema: groupNames,
    doc: "Comma-separated identity-provider groups whose members hold the `ops-read` role (`GET /ops/summary` only). Default: none.",
  },
  OPS_OIDC_EDGE_TOKEN_SHA256: {
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .transform((s) => (s === "" ? undefined : s))
      .refine(
        (s) => s === undefined || /^[0-9a-f]{64}$/.test(s),
        "expected the token's sha256 as 64 hex digits",
      )
      .optional(),
    doc: "sha256 (hex) of a token the edge adds as `x-plinth-edge-token` to every request it forwards with oauth2-proxy's headers; when set, those headers count only on requests carrying it, so a process that reaches the port directly cannot name a user. Unset: the network must guarantee it (the cluster's NetworkPolicy).",
  },
} satisfies SettingsTable<ObservabilityEnvName>;

type ObservabilityEnv = z.infer<z.ZodObject<SchemaShape<typeof OBSERVABILITY_SETTINGS>>>;

export interface DriftSettings {
  /** Live inputs (and predictions) per variant the PSI is computed over. */
  readonly windowSize: number;
  /** Fewer samples than this in the window: no PSI is published (too noisy to mean anything). */
  readonly minSamples: number;
  readonly intervalMs: number;
  readonly warnPsi: number;
  readonly alertPsi: number;
  readonly historyPath: string | undefined;
  readonly historyMaxBytes: number;
}

export interface ObservabilityConfig {
  readonly drift: DriftSettings;
  readonly predictionLog: {
    readonly path: string | undefined;
    readonly queueMax: number;
    readonly flushMs: number;
    readonly maxBytes: number;
  };
  readonly ops: {
    readonly auditLogPath: string | undefined;
    readonly sampleIntervalMs: number;
    /** Trust oauth2-proxy's X-Auth-Request-Email; only behind a proxy that strips it from clients. */
    readonly oidcTrustHeaders: boolean;
    readonly oidcAllowedEmailDomains: readonly string[];
    /** Identity-provider groups whose members hold `admin` / `ops-read`. */
    readonly oidcAdminGroups: readonly string[];
    readonly oidcOpsReadGroups: readonly string[];
    /** sha256 of the edge's token; identity headers without it are ignored. */
    readonly oidcEdgeTokenSha256: string | undefined;
  };
}

/** Cross-field checks and the typed result; problems are pushed to `issues`, each naming its variable. */
export function observabilityConfig(v: ObservabilityEnv, issues: string[]): ObservabilityConfig {
  const E = OBSERVABILITY_ENV;
  if (v.DRIFT_WARN_PSI >= v.DRIFT_ALERT_PSI) {
    issues.push(`${E.DRIFT_WARN_PSI}: must be below ${E.DRIFT_ALERT_PSI} (${v.DRIFT_ALERT_PSI})`);
  }
  if (v.DRIFT_MIN_SAMPLES > v.DRIFT_WINDOW_SIZE) {
    issues.push(`${E.DRIFT_MIN_SAMPLES}: must not exceed ${E.DRIFT_WINDOW_SIZE} (${v.DRIFT_WINDOW_SIZE})`);
  }
  const trust = v.OPS_OIDC_TRUST_HEADERS === "true";
  if (trust && v.OPS_OIDC_ALLOWED_EMAIL_DOMAINS.length === 0) {
    issues.push(
      `${E.OPS_OIDC_ALLOWED_EMAIL_DOMAINS}: required when ${E.OPS_OIDC_TRUST_HEADERS}=true (which email domains may sign in?)`,
    );
  }
  if (trust && v.OPS_OIDC_ADMIN_GROUPS.length === 0) {
    issues.push(
      `${E.OPS_OIDC_ADMIN_GROUPS}: required when ${E.OPS_OIDC_TRUST_HEADERS}=true (which identity-provider groups are admins? a signed-in user is no longer an admin by email domain alone)`,
    );
  }
  return {
    drift: {
      windowSize: v.DRIFT_WINDOW_SIZE,
      minSamples: v.DRIFT_MIN_SAMPLES,
      intervalMs: v.DRIFT_INTERVAL_MS,
      warnPsi: v.DRIFT_WARN_PSI,
      alertPsi: v.DRIFT_ALERT_PSI,
      historyPath: v.DRIFT_HISTORY_PATH,
      historyMaxBytes: v.DRIFT_HISTORY_MAX_BYTES,
    },
    predictionLog: {
      path: v.PREDICTION_LOG_PATH,
      queueMax: v.PREDICTION_LOG_QUEUE_MAX,
      flushMs: v.PREDICTION_LOG_FLUSH_MS,
      maxBytes: v.PREDICTION_LOG_MAX_BYTES,
    },
    ops: {
      auditLogPath: v.AUDIT_LOG_PATH,
      sampleIntervalMs: v.OPS_SAMPLE_INTERVAL_MS,
      oidcTrustHeaders: trust,
      oidcAllowedEmailDomains: v.OPS_OIDC_ALLOWED_EMAIL_DOMAINS,
      oidcAdminGroups: v.OPS_OIDC_ADMIN_GROUPS,
      oidcOpsReadGroups: v.OPS_OIDC_OPS_READ_GROUPS,
      oidcEdgeTokenSha256: v.OPS_OIDC_EDGE_TOKEN_SHA256,
    },
  };
}
