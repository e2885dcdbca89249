/** The production stack on AWS (its configured cloud): blue-green rollout, stateful resources protected. */
import { describe, expect, it } from "vitest";
import { describeAwsCloud } from "../support/aws-suite.js";
import { describeCommonInvariants, renderOnce, statefulResources } from "../support/stack-suite.js";
import { at } from "../support/stack.js";
import { COLOUR_METRIC_LABEL } from "../../components/shared/labels.js";

const holder = renderOnce("production", "aws");
describeCommonInvariants("production", "aws", holder);
describeAwsCloud("production", holder, {
  zones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
  publicEndpointCidrs: [],
  protect: true,
});

function envOf(deployment: unknown): Record<string, string | undefined> {
  const env = at(deployment, "spec.template.spec.containers[0].env") as { name: string; value?: string }[];
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
}

describe("production on aws: blue-green rollout and protection", () => {
  it("runs blue and green as full Deployments, each with its own model, HPA and PDB", () => {
    const view = holder.view;
    const blue = view.manifest("Deployment", "plinth-inference-blue");
    const green = view.manifest("Deployment", "plinth-inference-green");
    expect(envOf(blue)).toMatchObject({
      MODEL_STABLE: "6",
      DEPLOYMENT_COLOR: "blue",
      ROLLOUT_STRATEGY: "single",
    });
    expect(envOf(green)).toMatchObject({
      MODEL_STABLE: "7",
      DEPLOYMENT_COLOR: "green",
      ROLLOUT_STRATEGY: "single",
    });
    expect(envOf(blue)).not.toHaveProperty("MODEL_CANDIDATE");
    expect(at(blue, "spec.selector.matchLabels")).toEqual({
      "app.kubernetes.io/name": "plinth-inference",
      "app.kubernetes.io/component": "inference",
      "plinth.dev/colour": "blue",
    });
    for (const colour of ["blue", "green"]) {
      expect(
        at(view.manifest("HorizontalPodAutoscaler", `plinth-inference-${colour}`), "spec"),
      ).toMatchObject({
        minReplicas: 3,
        maxReplicas: 12,
        scaleTargetRef: { kind: "Deployment", name: `plinth-inference-${colour}` },
      });
      expect(
        at(view.manifest("PodDisruptionBudget", `plinth-inference-${colour}`), "spec.maxUnavailable"),
      ).toBe(1);
    }
  });

  it("points the API Service at the active colour only, and scrapes both", () => {
    const view = holder.view;
    expect(at(view.manifest("Service", "plinth-inference"), "spec.selector")).toMatchObject({
      "plinth.dev/colour": "blue",
    });
    expect(at(view.manifest("Service", "plinth-inference-metrics"), "spec.selector")).not.toHaveProperty(
      "plinth.dev/colour",
    );
    expect(view.stack.outputs.activeColour).toBe("blue");
    // Scraped series carry each pod's colour (promote gates the idle colour before a switch).
    expect(at(view.manifest("ServiceMonitor", "plinth-inference"), "spec.podTargetLabels")).toEqual([
      "plinth.dev/colour",
    ]);
    expect(COLOUR_METRIC_LABEL).toBe("plinth_dev_colour");
  });

  it("uses Let's Encrypt's production directory and a private-only EKS endpoint", () => {
    const view = holder.view;
    expect(at(view.manifest("ClusterIssuer", "letsencrypt"), "spec.acme.server")).toBe(
      "https://acme-v02.api.letsencrypt.org/directory",
    );
    expect(
      at(view.one("aws:eks/cluster:Cluster", "plinth-eks").inputs, "vpcConfig.endpointPublicAccess"),
    ).toBe(false);
  });

  it("protects exactly the stateful resources: database, bucket and the secrets key", () => {
    const view = holder.view;
    expect(statefulResources(view).map((r) => [r.type, r.name, r.protect])).toEqual([
      ["aws:kms/key:Key", "plinth-secrets-key", true],
      ["aws:rds/instance:Instance", "mlflow-db", true],
      ["aws:s3/bucket:Bucket", "mlflow-artifacts", true],
    ]);
    expect(view.resources.filter((r) => r.protect).length).toBe(3);
    expect(view.one("aws:rds/instance:Instance", "mlflow-db").inputs.finalSnapshotIdentifier).toBe(
      "mlflow-production-db-final",
    );
  });

  it("routes alerts to Slack (webhook from a mounted Secret) and email", () => {
    const release = holder.view.one("kubernetes:helm.sh/v3:Release", "monitoring-kube-prometheus-stack");
    const config = at(release.inputs, "values.alertmanager.config") as Record<string, unknown>;
    expect(at(config, "receivers[1].slack_configs[0]")).toMatchObject({
      channel: "#plinth-alerts",
      api_url_file: "/etc/alertmanager/secrets/alertmanager-slack/url",
    });
    expect(at(config, "receivers[1].email_configs[0]")).toMatchObject({
      to: "ml-oncall@plinth.example.com",
      smarthost: "smtp.plinth.example.com:587",
      require_tls: true,
    });
    expect(JSON.stringify(release.inputs)).not.toContain("hooks.slack.com");
    expect(at(release.inputs, "values.prometheus.prometheusSpec")).toMatchObject({
      retention: "30d",
      replicas: 2,
    });
  });
});
