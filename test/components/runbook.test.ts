/**
 * Every alert's runbook_url lands on a section of docs/alerts.md that names the alert: an on-call
 * engineer following the link from a page finds what to do, not a 404 or the top of a long file.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RUNBOOK_BASE_URL } from "../../components/monitoring/index.js";
import {
  certificateRuleGroups,
  edgeRuleGroups,
  prometheusRuleGroups,
  type AlertingRule,
} from "../../components/monitoring/rules.js";

const runbook = readFileSync(new URL("../../docs/alerts.md", import.meta.url), "utf8");

/** GitHub's heading anchor: lower case, punctuation other than '-' dropped, spaces to '-'. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .replace(/\s/g, "-");

/** Each `##` section of the runbook by its anchor. */
const sections = new Map(
  runbook
    .split(/^## /m)
    .slice(1)
    .map((section) => [anchor(section.slice(0, section.indexOf("\n"))), section] as const),
);

// The inference PrometheusRule's alerts, the edge's (written where plinth runs Traefik) and the
// certificates' (where plinth runs cert-manager).
const alerts = [
  ...prometheusRuleGroups({
    slo: { availability: 0.999, latency: 0.99, latencyThresholdSeconds: 0.25 },
    drift: [{ model: "fashion-mnist", alertPsi: 0.25 }],
    runbookBaseUrl: RUNBOOK_BASE_URL,
  }),
  ...edgeRuleGroups({ job: "monitoring/plinth-edge", runbookBaseUrl: RUNBOOK_BASE_URL }),
  ...certificateRuleGroups({ job: "monitoring/plinth-cert-manager", runbookBaseUrl: RUNBOOK_BASE_URL }),
]
  .flatMap((group) => group.rules)
  .filter((rule): rule is AlertingRule => "alert" in rule);

describe("alert runbook", () => {
  it("derives GitHub's anchors from headings", () => {
    expect(anchor("Model awaiting version")).toBe("model-awaiting-version");
    expect(anchor("What the soak found, and what changed")).toBe("what-the-soak-found-and-what-changed");
  });

  it("links every alert to a section of docs/alerts.md that names it", () => {
    expect(RUNBOOK_BASE_URL).toMatch(/\/docs\/alerts\.md$/);
    expect(alerts.length).toBeGreaterThanOrEqual(9);
    for (const rule of alerts) {
      const [base, fragment] = rule.annotations.runbook_url!.split("#");
      expect(base, rule.alert).toBe(RUNBOOK_BASE_URL);
      expect([...sections.keys()], rule.alert).toContain(fragment);
      expect(sections.get(fragment!), rule.alert).toContain(`\`${rule.alert}\``);
    }
  });

  it("has no section for an alert that does not exist", () => {
    const named = new Set(runbook.match(/`Plinth[A-Za-z]+`/g)?.map((name) => name.slice(1, -1)));
    expect([...named].sort()).toEqual(alerts.map((rule) => rule.alert).sort());
  });
});
