import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../../policies/runner/evaluate.js";
import { CRDS_FROM_CLUSTER_ANNOTATION } from "../../components/shared/labels.js";
import * as policies from "../../policies/stack-wide.js";
import { describePolicy } from "./cases.js";
import { awsStack } from "./fixtures/clouds.js";
import { kubernetesStack } from "./fixtures/kubernetes.js";

describePolicy(policies.statefulResourcesProtected, [
  {
    change: "an unprotected database",
    stack: "aws",
    resource: "Instance:mlflow-db",
    option: { protect: false },
    message:
      'aws:rds/instance:Instance "mlflow-db" is not protected. Pass { protect: true } in its resource options (the plinth:protect stack setting).',
  },
  {
    change: "an unprotected GCS bucket",
    stack: "gcp",
    resource: "Bucket:artifacts",
    option: { protect: false },
    message:
      'gcp:storage/bucket:Bucket "artifacts" is not protected. Pass { protect: true } in its resource options (the plinth:protect stack setting).',
  },
]);

describePolicy(policies.customResourcesAfterCrds, [
  {
    change: "a ClusterIssuer that does not wait for cert-manager",
    stack: "kubernetes",
    resource: "ClusterIssuer:letsencrypt",
    option: { dependencies: [] },
    message:
      'kubernetes:cert-manager.io/v1:ClusterIssuer "letsencrypt" does not depend on the Helm release installing its CRD. Pass { dependsOn: [<that helm.v3.Release or helm.v4.Chart>] } in its resource options.',
  },
]);

describe("stateful-resources-protected config", () => {
  it("does not require protection where the stack's pack config says so (staging)", async () => {
    const stack = awsStack().map((t) => ({ ...t, protect: false }));
    const staging = { "stateful-resources-protected": { required: false } };
    expect(await evaluatePolicies([policies.statefulResourcesProtected], stack, staging)).toEqual([]);
    expect(await evaluatePolicies([policies.statefulResourcesProtected], stack)).toHaveLength(3);
  });
});

describe("custom-resources-after-crds ordering", () => {
  it("accepts a custom resource that waits for its release through another resource", async () => {
    const stack = kubernetesStack();
    const rule = stack.find((t) => t.name === "slo")!;
    const release = stack.find((t) => t.name === "kube-prometheus-stack")!;
    const namespace = {
      ...release,
      urn: "urn:pulumi:test::plinth::kubernetes:core/v1:Namespace::monitoring",
      type: "kubernetes:core/v1:Namespace",
      name: "monitoring",
      props: { metadata: { name: "monitoring" } },
      dependencies: [release.urn],
    };
    stack.push(namespace);
    rule.dependencies = [namespace.urn];
    expect(await evaluatePolicies([policies.customResourcesAfterCrds], stack)).toEqual([]);
  });
});

describe("custom-resources-after-crds with helm.sh/v4 Charts", () => {
  it("accepts a custom resource that depends on the v4 Chart installing its CRD", async () => {
    const stack = kubernetesStack();
    for (const release of stack.filter((t) => t.type === "kubernetes:helm.sh/v3:Release"))
      release.type = "kubernetes:helm.sh/v4:Chart";
    expect(await evaluatePolicies([policies.customResourcesAfterCrds], stack)).toEqual([]);
  });
});

describe("custom-resources-after-crds on a cluster that has the CRDs", () => {
  const unordered = (annotations?: Record<string, string>) => {
    const stack = kubernetesStack();
    const rule = stack.find((t) => t.name === "slo")!;
    rule.dependencies = [];
    const metadata = (rule.props["metadata"] ?? {}) as Record<string, unknown>;
    rule.props = { ...rule.props, metadata: { ...metadata, ...(annotations ? { annotations } : {}) } };
    return stack;
  };

  it("exempts a custom resource that says its CRD is the cluster's", async () => {
    const stack = unordered({ [CRDS_FROM_CLUSTER_ANNOTATION]: "cluster" });
    expect(await evaluatePolicies([policies.customResourcesAfterCrds], stack)).toEqual([]);
  });

  it("still reports one that says nothing, or anything else", async () => {
    const cases: (Record<string, string> | undefined)[] = [
      undefined,
      { [CRDS_FROM_CLUSTER_ANNOTATION]: "release" },
      { other: "cluster" },
    ];
    for (const annotations of cases) {
      const found = await evaluatePolicies([policies.customResourcesAfterCrds], unordered(annotations));
      expect(
        found.map((v) => v.policy),
        JSON.stringify(annotations),
      ).toEqual(["custom-resources-after-crds"]);
    }
  });
});
