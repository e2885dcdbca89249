/**
 * Prometheus for the local stack: one scrape job on the service's internal metrics port, and the
 * alerting rules the production stack deploys as its PrometheusRule, built by the same function
 * with the SLO and drift threshold read from Pulumi.production.yaml.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse, stringify } from "yaml";
import { z } from "zod";
import { RUNBOOK_BASE_URL } from "../../components/monitoring/index.js";
import { prometheusRuleGroups, type RuleGroup } from "../../components/monitoring/rules.js";

/** The two production settings the rules are built from, as the stack file holds them. */
const productionRuleSettings = z.object({
  config: z.object({
    "plinth:monitoring": z.object({
      slo: z.strictObject({
        availability: z.number(),
        latency: z.number(),
        latencyThresholdSeconds: z.number(),
      }),
    }),
    "plinth:inference": z.object({ drift: z.object({ alertPsi: z.number() }) }),
  }),
});

/** The rule groups of the production stack's PrometheusRule. */
export async function productionRuleGroups(repoRoot: string): Promise<RuleGroup[]> {
  const file = path.join(repoRoot, "Pulumi.production.yaml");
  const parsed = productionRuleSettings.safeParse(parse(await readFile(file, "utf8")));
  if (!parsed.success) {
    throw new Error(
      `${file}: plinth:monitoring.slo or plinth:inference.drift.alertPsi: ${parsed.error.message}`,
    );
  }
  const { config } = parsed.data;
  return prometheusRuleGroups({
    slo: config["plinth:monitoring"].slo,
    driftAlertPsi: config["plinth:inference"].drift.alertPsi,
    runbookBaseUrl: RUNBOOK_BASE_URL,
  });
}

export interface PrometheusConfOptions {
  readonly metricsPort: number;
  readonly rulesFile: string;
  /** Scrape and rule evaluation interval. */
  readonly intervalSeconds: number;
}

export const SCRAPE_JOB = "plinth-inference";

export function renderPrometheusConf(options: PrometheusConfOptions): string {
  const interval = `${options.intervalSeconds}s`;
  return stringify({
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: [options.rulesFile],
    scrape_configs: [
      {
        job_name: SCRAPE_JOB,
        static_configs: [{ targets: [`127.0.0.1:${options.metricsPort}`] }],
      },
    ],
  });
}

export function renderRulesFile(groups: readonly RuleGroup[]): string {
  return stringify({ groups });
}
