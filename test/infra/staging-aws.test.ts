/** The staging stack on AWS (its configured cloud): canary rollout, nothing protected. */
import { describe, expect, it } from "vitest";
import { ALLOWLIST_PLACEHOLDER } from "../../infra/config/schema.js";
import { describeCommonInvariants, renderOnce, statefulResources } from "../support/stack-suite.js";
import { at } from "../support/stack.js";
import { describeAwsCloud } from "../support/aws-suite.js";

const holder = renderOnce("staging", "aws");
describeCommonInvariants("staging", "aws", holder);
describeAwsCloud("staging", holder, {
  zones: ["eu-west-1a", "eu-west-1b"],
  publicEndpointCidrs: [ALLOWLIST_PLACEHOLDER],
  protect: false,
});

describe("staging on aws: rollout and protection", () => {
  it("runs the canary as one Deployment that serves stable and candidate", () => {
    const view = holder.view;
    const deployments = view
      .manifests()
      .filter((m) => m.kind === "Deployment" && m.metadata.namespace === "plinth");
    expect(deployments.map((d) => d.metadata.name)).toEqual(["plinth-inference"]);
    const env = Object.fromEntries(
      (at(deployments[0], "spec.template.spec.containers[0].env") as { name: string; value?: string }[]).map(
        (e) => [e.name, e.value],
      ),
    );
    expect(env).toMatchObject({
      MODEL_NAME: "fashion-classifier",
      MODEL_STABLE: "champion",
      ROLLOUT_STRATEGY: "canary",
      MODEL_CANDIDATE: "challenger",
      CANDIDATE_WEIGHT: "20",
      DEPLOYMENT_COLOR: "none",
      PORT: "8080",
      METRICS_PORT: "9464",
      MLFLOW_TRACKING_URI: "http://mlflow.mlflow.svc.cluster.local:5000",
      OPS_OIDC_ALLOWED_EMAIL_DOMAINS: "plinth.example.com",
      // Failed authentications are counted per client, not per ingress controller.
      TRUST_PROXY: "uniquelocal",
    });
    expect(env).not.toHaveProperty("SHADOW_PERCENT");
    expect(at(deployments[0], "spec.replicas")).toBe(2);
    expect(at(view.manifest("HorizontalPodAutoscaler", "plinth-inference"), "spec")).toMatchObject({
      minReplicas: 2,
      maxReplicas: 4,
    });
    expect(at(view.manifest("Service", "plinth-inference"), "spec.selector")).toEqual({
      "app.kubernetes.io/name": "plinth-inference",
      "app.kubernetes.io/component": "inference",
    });
  });

  it("uses Let's Encrypt's staging directory", () => {
    expect(at(holder.view.manifest("ClusterIssuer", "letsencrypt"), "spec.acme.server")).toBe(
      "https://acme-staging-v02.api.letsencrypt.org/directory",
    );
  });

  it("protects nothing in staging", () => {
    expect(holder.view.resources.filter((r) => r.protect)).toEqual([]);
    expect(statefulResources(holder.view).length).toBeGreaterThan(0);
  });
});
