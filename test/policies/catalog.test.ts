/**
 * The catalog's per-invariant coverage: every policy says what it covers, what it does not, and what
 * it can check inside Helm charts, and the generated catalog shows all three. (CATALOG.md being up to
 * date, and the older metadata fields, are checked in pack.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { allPolicies, policyTopics } from "../../policies/all.js";
import { renderCatalog } from "../../policies/catalog/generate.js";
import { CHART_REACH, CLOUD_RESOURCES_ONLY } from "../../policies/lib/helm-charts.js";

const REACHES = Object.keys(CHART_REACH);

describe("coverage metadata", () => {
  it.each(allPolicies.map((p) => [p.name, p] as const))(
    "%s says what it covers, its known limits and what it sees inside Helm charts",
    (_name, policy) => {
      const { covers, limits, charts, chartReach } = policy.metadata;
      for (const [field, text] of Object.entries({ covers, limits, charts })) {
        expect(typeof text, `${field} must be set`).toBe("string");
        expect(text.trim().length, `${field} must say something`).toBeGreaterThan(20);
        expect(text, `${field} must not be a bare "none"`).not.toMatch(/^\s*(none|n\/a|-)\.?\s*$/i);
        expect(text, `${field} is rendered on one line`).not.toMatch(/\n/);
      }
      expect(REACHES, "chartReach must be one of CHART_REACH's keys").toContain(chartReach);
      if (chartReach === "not-applicable") {
        expect(charts).toBe(CLOUD_RESOURCES_ONLY);
      } else {
        // The Release vs Chart distinction is stated for each invariant that reads Kubernetes objects.
        expect(charts).toMatch(/Release/);
        expect(charts).toMatch(/Chart/);
      }
    },
  );
});

describe("the catalog's coverage lines", () => {
  const catalog = renderCatalog(policyTopics);

  it("renders covers, known limits and Helm charts after Answers for every policy", () => {
    for (const policy of allPolicies) {
      const { answers, covers, limits, charts } = policy.metadata;
      expect(catalog).toContain(
        [
          `- **Answers:** ${answers.join("; ")}`,
          `- **Covers:** ${covers}`,
          `- **Known limits:** ${limits}`,
          `- **Inside Helm charts:** ${charts}`,
        ].join("\n"),
      );
    }
  });

  it("says once what the pack can see inside Helm charts, and groups every invariant by it", () => {
    expect(catalog.match(/\*\*What the pack can see inside Helm charts\.\*\*/g)).toHaveLength(1);
    const groups = Object.values(CHART_REACH).map((label) => `- **${label}:** `);
    const groupLines = catalog.split("\n").filter((line) => groups.some((g) => line.startsWith(g)));
    for (const policy of allPolicies) {
      const listed = groupLines.filter((line) => line.includes(`[\`${policy.name}\`](#${policy.name})`));
      expect(listed, `${policy.name} is listed under exactly one group`).toHaveLength(1);
      expect(listed[0]!.startsWith(`- **${CHART_REACH[policy.metadata.chartReach]}:** `)).toBe(true);
    }
    // The summary sits near the top, before the table of invariants.
    const summary = catalog.indexOf("**What the pack can see inside Helm charts.**");
    expect(summary).toBeGreaterThan(0);
    expect(summary).toBeLessThan(catalog.indexOf("| policy | topic |"));
  });
});
