import { describe, expect, it } from "vitest";
import { configIssues as issues } from "../../support/config-issues.js";
import { ENV_DOCS, loadConfig } from "../../../service/config.js";
import { OBSERVABILITY_ENV } from "../../../service/ops/settings.js";

describe("observability settings", () => {
  it("defaults: drift on in memory, prediction and audit logs off, proxy headers untrusted", () => {
    expect(loadConfig({}).observability).toEqual({
      drift: {
        windowSize: 1000,
        minSamples: 200,
        intervalMs: 15_000,
        warnPsi: 0.1,
        alertPsi: 0.25,
        historyPath: undefined,
        historyMaxBytes: 1024 * 1024,
      },
      predictionLog: { path: undefined, queueMax: 10_000, flushMs: 1000, maxBytes: 100 * 1024 * 1024 },
      ops: {
        auditLogPath: undefined,
        sampleIntervalMs: 5000,
        oidcTrustHeaders: false,
        oidcAllowedEmailDomains: [],
        oidcAdminGroups: [],
        oidcOpsReadGroups: [],
        oidcEdgeTokenSha256: undefined,
      },
    });
  });

  it("parses every variable", () => {
    const config = loadConfig({
      DRIFT_WINDOW_SIZE: "500",
      DRIFT_MIN_SAMPLES: "50",
      DRIFT_INTERVAL_MS: "2000",
      DRIFT_WARN_PSI: "0.2",
      DRIFT_ALERT_PSI: "0.5",
      DRIFT_HISTORY_PATH: "/var/log/plinth/drift.jsonl",
      DRIFT_HISTORY_MAX_BYTES: "4096",
      PREDICTION_LOG_PATH: "/var/log/plinth/predictions.jsonl",
      PREDICTION_LOG_QUEUE_MAX: "99",
      PREDICTION_LOG_FLUSH_MS: "250",
      PREDICTION_LOG_MAX_BYTES: "2048",
      AUDIT_LOG_PATH: "/var/log/plinth/audit.jsonl",
      OPS_SAMPLE_INTERVAL_MS: "1000",
      OPS_OIDC_TRUST_HEADERS: "true",
      OPS_OIDC_ALLOWED_EMAIL_DOMAINS: "Example.com, corp.example.org",
      OPS_OIDC_ADMIN_GROUPS: "plinth-admins, sre,plinth-admins",
      OPS_OIDC_OPS_READ_GROUPS: "/org/Data Science",
      OPS_OIDC_EDGE_TOKEN_SHA256: "AB".repeat(32),
    }).observability;
    expect(config.drift).toMatchObject({ windowSize: 500, minSamples: 50, warnPsi: 0.2, alertPsi: 0.5 });
    expect(config.predictionLog).toEqual({
      path: "/var/log/plinth/predictions.jsonl",
      queueMax: 99,
      flushMs: 250,
      maxBytes: 2048,
    });
    expect(config.ops).toEqual({
      auditLogPath: "/var/log/plinth/audit.jsonl",
      sampleIntervalMs: 1000,
      oidcTrustHeaders: true,
      oidcAllowedEmailDomains: ["example.com", "corp.example.org"],
      oidcAdminGroups: ["plinth-admins", "sre"],
      oidcOpsReadGroups: ["/org/Data Science"],
      oidcEdgeTokenSha256: "ab".repeat(32),
    });
  });

  it("names each bad variable", () => {
    expect(issues({ DRIFT_WARN_PSI: "0.3", DRIFT_ALERT_PSI: "0.3" })).toEqual([
      "DRIFT_WARN_PSI: must be below DRIFT_ALERT_PSI (0.3)",
    ]);
    expect(issues({ DRIFT_WINDOW_SIZE: "100", DRIFT_MIN_SAMPLES: "101" })).toEqual([
      "DRIFT_MIN_SAMPLES: must not exceed DRIFT_WINDOW_SIZE (100)",
    ]);
    expect(issues({ OPS_OIDC_TRUST_HEADERS: "true" })).toEqual([
      "OPS_OIDC_ALLOWED_EMAIL_DOMAINS: required when OPS_OIDC_TRUST_HEADERS=true (which email domains may sign in?)",
      "OPS_OIDC_ADMIN_GROUPS: required when OPS_OIDC_TRUST_HEADERS=true (which identity-provider groups are admins? a signed-in user is no longer an admin by email domain alone)",
    ]);
    expect(
      loadConfig({ OPS_OIDC_ADMIN_GROUPS: "admins, ,ok", OPS_OIDC_OPS_READ_GROUPS: " lead" }).observability
        .ops,
    ).toMatchObject({ oidcAdminGroups: ["admins", "ok"], oidcOpsReadGroups: ["lead"] });
    expect(issues({ OPS_OIDC_ADMIN_GROUPS: `admins,${"g".repeat(257)}` })).toEqual([
      `OPS_OIDC_ADMIN_GROUPS="admins,${"g".repeat(257)}": not a group name (1-256 characters): ${"g".repeat(257)}`,
    ]);
    expect(issues({ OPS_OIDC_EDGE_TOKEN_SHA256: "not-a-hash" })).toEqual([
      'OPS_OIDC_EDGE_TOKEN_SHA256="not-a-hash": expected the token\'s sha256 as 64 hex digits',
    ]);
    expect(issues({ OPS_OIDC_ALLOWED_EMAIL_DOMAINS: "example.com,not a domain" })).toEqual([
      'OPS_OIDC_ALLOWED_EMAIL_DOMAINS="example.com,not a domain": not a DNS domain: not a domain',
    ]);
    const [window, trust] = issues({ DRIFT_WINDOW_SIZE: "many", OPS_OIDC_TRUST_HEADERS: "yes" });
    expect(window).toMatch(/^DRIFT_WINDOW_SIZE="many": /);
    expect(trust).toMatch(/^OPS_OIDC_TRUST_HEADERS="yes": /);
  });

  it("documents every variable", () => {
    for (const name of Object.keys(OBSERVABILITY_ENV))
      expect(ENV_DOCS[name as keyof typeof ENV_DOCS]).toMatch(/\w{3}/);
  });
});
