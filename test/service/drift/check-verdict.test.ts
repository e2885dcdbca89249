/**
 * The drift check's settings and its verdict on summaries the live tests (check.test.ts) cannot
 * easily produce: no baseline, a falling trend, no features. In-process, no service.
 */
import { describe, expect, it } from "vitest";
import { driftVerdict, EXIT, type CheckedSummary } from "../../../service/drift/check-report.js";
import { DriftCheckSettingsError, loadDriftCheckSettings } from "../../../service/drift/check-settings.js";

const URL = "http://plinth-inference.plinth.svc.cluster.local/ops/summary";
const KEY = "a-drift-check-key-0123456789";

function settingsIssues(env: Record<string, string>): readonly string[] {
  try {
    loadDriftCheckSettings(env);
  } catch (err) {
    if (err instanceof DriftCheckSettingsError) return err.issues;
    throw err;
  }
  throw new Error("expected a DriftCheckSettingsError");
}

function summary(drift: Partial<CheckedSummary["drift"]> = {}, version: string | null = "7"): CheckedSummary {
  return {
    rollout: { model: "fashion-classifier", variants: { stable: { version } } },
    drift: {
      score: 0.12,
      level: "warn",
      trend: "falling",
      delta: -0.05,
      predictionPsi: 0.01,
      samples: 1000,
      baseline: "loaded",
      thresholds: { warn: 0.1, alert: 0.25 },
      topFeatures: [
        { feature: "mean_intensity", psi: 0.12 },
        { feature: "block_0_0", psi: 0.08 },
        { feature: "block_1_0", psi: 0.02 },
        { feature: "block_2_0", psi: 0.01 },
      ],
      ...drift,
    },
  };
}

describe("drift check settings", () => {
  it("reads the URL and key, trims them, and defaults the timeout to 10 s", () => {
    expect(
      loadDriftCheckSettings({
        DRIFT_CHECK_SERVICE_URL: " http://plinth-inference.plinth.svc.cluster.local ",
        DRIFT_CHECK_API_KEY: `${KEY}\n`,
      }),
    ).toEqual({
      serviceUrl: "http://plinth-inference.plinth.svc.cluster.local",
      apiKey: KEY,
      timeoutMs: 10_000,
    });
    expect(
      loadDriftCheckSettings({
        DRIFT_CHECK_SERVICE_URL: "https://api.example.com",
        DRIFT_CHECK_API_KEY: KEY,
        DRIFT_CHECK_TIMEOUT_MS: "2500",
      }).timeoutMs,
    ).toBe(2500);
  });

  it("names every bad variable at once, without echoing the key", () => {
    const issues = settingsIssues({
      DRIFT_CHECK_SERVICE_URL: "ftp://plinth-inference",
      DRIFT_CHECK_API_KEY: "short-key",
      DRIFT_CHECK_TIMEOUT_MS: "1.5",
    });
    expect(issues).toEqual([
      "DRIFT_CHECK_SERVICE_URL: expected the service's http(s):// base URL, e.g. http://plinth-inference.plinth.svc.cluster.local",
      "DRIFT_CHECK_API_KEY: an API key is at least 16 characters",
      "DRIFT_CHECK_TIMEOUT_MS: expected a whole number of milliseconds",
    ]);
    expect(issues.join("\n")).not.toContain("short-key");
  });

  it.each([
    [
      "not a URL",
      { DRIFT_CHECK_SERVICE_URL: "plinth-inference" },
      "DRIFT_CHECK_SERVICE_URL: expected the service's http(s):// base URL, e.g. http://plinth-inference.plinth.svc.cluster.local",
    ],
    [
      "a timeout that is not a number",
      { DRIFT_CHECK_TIMEOUT_MS: "soon" },
      "DRIFT_CHECK_TIMEOUT_MS: expected a whole number of milliseconds",
    ],
    [
      "a timeout below 100 ms",
      { DRIFT_CHECK_TIMEOUT_MS: "99" },
      "DRIFT_CHECK_TIMEOUT_MS: expected at least 100 ms",
    ],
    [
      "a timeout above 10 minutes",
      { DRIFT_CHECK_TIMEOUT_MS: "600001" },
      "DRIFT_CHECK_TIMEOUT_MS: expected at most 600000 ms (10 minutes)",
    ],
    [
      "a blank key (counts as unset)",
      { DRIFT_CHECK_API_KEY: "  " },
      "DRIFT_CHECK_API_KEY: required: an API key holding the ops-read (or admin) role",
    ],
  ])("refuses %s", (_what, over, issue) => {
    const env = { DRIFT_CHECK_SERVICE_URL: "http://svc", DRIFT_CHECK_API_KEY: KEY, ...over };
    expect(settingsIssues(env)).toEqual([issue]);
  });
});

describe("drift check verdict", () => {
  it("passes a warn level (exit 0), with a falling trend, its negative delta and the top three features", () => {
    expect(driftVerdict(summary(), URL)).toEqual({
      status: EXIT.ok,
      lines: [
        `drift of fashion-classifier v7 (stable) at ${URL}: WARN`,
        "score 0.1200 (warn 0.1, alert 0.25), trend falling (-0.0500), 1000 samples",
        "top features by PSI: mean_intensity 0.1200, block_0_0 0.0800, block_1_0 0.0200",
        "predicted-class PSI: 0.0100",
      ],
    });
  });

  it("fails the alert level with exit 1", () => {
    const verdict = driftVerdict(summary({ score: 0.4, level: "alert", trend: "rising", delta: 0.28 }), URL);
    expect(verdict.status).toBe(EXIT.alert);
    expect(verdict.lines.slice(0, 2)).toEqual([
      `drift of fashion-classifier v7 (stable) at ${URL}: ALERT`,
      "score 0.4000 (warn 0.1, alert 0.25), trend rising (+0.2800), 1000 samples",
    ]);
  });

  it("says so when the first entry has no trend delta, no features and no class PSI", () => {
    const verdict = driftVerdict(
      summary({ level: "ok", score: 0.01, trend: null, delta: null, topFeatures: [], predictionPsi: null }),
      URL,
    );
    expect(verdict.status).toBe(EXIT.ok);
    expect(verdict.lines.slice(1)).toEqual([
      "score 0.0100 (warn 0.1, alert 0.25), 1000 samples",
      "top features by PSI: none",
      "predicted-class PSI: —",
    ]);
  });

  it.each(["missing", "failed"])("gives no verdict (exit 2) when the baseline is %s", (baseline) => {
    const verdict = driftVerdict(summary({ baseline, score: null, level: null, samples: 0 }), URL);
    expect(verdict).toEqual({
      status: EXIT.unavailable,
      lines: [
        `drift of fashion-classifier v7 (stable) at ${URL}: NOT MONITORED`,
        `baseline ${baseline}: this version has no usable baseline.json, so drift is never computed`,
      ],
    });
  });

  it("gives no verdict (exit 2) for a model drift cannot monitor, with the service's reason", () => {
    const unsupported = 'model "iris" version 7 has no plinth metadata: drift needs the training baseline';
    const verdict = driftVerdict(
      summary({ baseline: "not monitored", unsupported, score: null, level: null, samples: 0 }),
      URL,
    );
    expect(verdict).toEqual({
      status: EXIT.unavailable,
      lines: [`drift of fashion-classifier v7 (stable) at ${URL}: NOT MONITORED`, unsupported],
    });
    // A monitored model's summary says null (an older service says nothing): the usual verdict.
    expect(driftVerdict(summary({ unsupported: null }), URL).status).toBe(EXIT.ok);
  });

  it("reports no score yet (exit 0) while the baseline loads and before any version is loaded", () => {
    const verdict = driftVerdict(
      summary({ baseline: "loading", score: null, level: null, samples: 40 }, null),
      URL,
    );
    expect(verdict).toEqual({
      status: EXIT.ok,
      lines: [
        `drift of fashion-classifier (stable, no version loaded) at ${URL}: NO SCORE YET`,
        "40 samples in the window, baseline: loading; a score needs DRIFT_MIN_SAMPLES of them",
      ],
    });
  });
});
