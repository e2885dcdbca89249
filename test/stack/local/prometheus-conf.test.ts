/**
 * The local Prometheus scrapes every service process with the labels the cluster's series carry:
 * `namespace` and the model's metrics Service as `service` (what the promote CLI's per-model gates
 * select), plus a blue-green process's colour.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderPrometheusConf, SCRAPE_JOB } from "../../../stack/local/prometheus-conf.js";

describe("renderPrometheusConf", () => {
  it("labels each target with namespace plinth and its metrics Service, at the interval given", () => {
    const conf = parse(
      renderPrometheusConf({
        targets: [
          { metricsPort: 19464, service: "plinth-inference-metrics" },
          {
            metricsPort: 19465,
            service: "plinth-inference-churn-metrics",
            labels: { plinth_dev_colour: "green" },
          },
        ],
        rulesFile: "/tmp/x/rules.yaml",
        intervalSeconds: 15,
      }),
    ) as Record<string, unknown>;
    expect(conf).toEqual({
      global: { scrape_interval: "15s", evaluation_interval: "15s" },
      rule_files: ["/tmp/x/rules.yaml"],
      scrape_configs: [
        {
          job_name: SCRAPE_JOB,
          static_configs: [
            {
              targets: ["127.0.0.1:19464"],
              labels: { namespace: "plinth", service: "plinth-inference-metrics" },
            },
            {
              targets: ["127.0.0.1:19465"],
              labels: {
                namespace: "plinth",
                service: "plinth-inference-churn-metrics",
                plinth_dev_colour: "green",
              },
            },
          ],
        },
      ],
    });
  });
});
