/**
 * Prometheus for the local stack: one scrape job over every service process's internal metrics
 * port, each target labelled as the cluster's Prometheus labels it (`namespace` and the `service`
 * the Prometheus Operator copies from the model's metrics Service, which the promote CLI's
 * per-model gates select), and the alerting rules the stack deploys as its PrometheusRule, built by
 * the same function with the SLO and each model's drift threshold read from the stack file in use
 * (Pulumi.production.yaml unless the local stack was given another).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";
import { RUNBOOK_BASE_URL } from "../../components/monitoring/index.js";
import { prometheusRuleGroups, type RuleGroup } from "../../components/monitoring/rules.js";
import type { ParsedStackConfig } from "../../infra/config/schema.js";
import { validateStackText } from "../../infra/promote/stack-file.js";

/** The namespace the platform runs the inference services in (infra/program.ts). */
export const APP_NAMESPACE = "plinth";

/** The rule groups of a stack's PrometheusRule, from its validated config. */
export function stackRuleGroups(config: ParsedStackConfig): RuleGroup[] {
  return prometheusRuleGroups({
    slo: config.monitoring.slo,
    drift: Object.entries(config.inference.models).flatMap(([model, { drift }]) =>
      drift ? [{ model, alertPsi: drift.alertPsi }] : [],
    ),
    runbookBaseUrl: RUNBOOK_BASE_URL,
  });
}

/** Reads and validates a stack file (Pulumi.<stack>.yaml) with the stack schema. */
export async function readStackConfig(file: string): Promise<ParsedStackConfig> {
  return validateStackText(await readFile(file, "utf8"), file);
}

/** The rule groups of the production stack's PrometheusRule, from its stack file read by the stack schema. */
export async function productionRuleGroups(repoRoot: string): Promise<RuleGroup[]> {
  return stackRuleGroups(await readStackConfig(path.join(repoRoot, "Pulumi.production.yaml")));
}

/** One service process Prometheus scrapes, and the labels its series get. */
export interface ScrapeTarget {
  readonly metricsPort: number;
  /** Each series' `service` label: the model's metrics Service name in the cluster. */
  readonly service: string;
  /** Extra target labels (a blue-green process's colour label). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface PrometheusConfOptions {
  readonly targets: readonly ScrapeTarget[];
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
        static_configs: options.targets.map((target) => ({
          targets: [`127.0.0.1:${target.metricsPort}`],
          labels: { namespace: APP_NAMESPACE, service: target.service, ...target.labels },
        })),
      },
    ],
  });
}

export function renderRulesFile(groups: readonly RuleGroup[]): string {
  return stringify({ groups });
}
