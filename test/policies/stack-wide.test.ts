import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../../policies/runner/evaluate.js";
import { CRDS_FROM_CLUSTER_ANNOTATION } from "../../components/shared/labels.js";
import * as policies from "../../policies/stack-wide.js";
import { describePolicy } from "./cases.js";
import { awsStack } from "./fixtures/clouds.js";
import { kubernetesStack } from "./fixtures/kubernetes.js";
import { target, urnOf } from "./fixtures/target.js";
import type { PolicyTarget } from "../../policies/runner/evaluate.js";

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

const NOT_AFTER_CERT_MANAGER =
  'kubernetes:cert-manager.io/v1:ClusterIssuer "letsencrypt" does not depend on the Helm release installing its CRD (chart cert-manager). Pass { dependsOn: [<that helm.v3.Release or helm.v4.Chart>] } in its resource options.';
const NOT_AFTER_PROMETHEUS_OPERATOR =
  'kubernetes:monitoring.coreos.com/v1:PrometheusRule "slo" does not depend on the Helm release installing its CRD (chart kube-prometheus-stack or prometheus-operator-crds). Pass { dependsOn: [<that helm.v3.Release or helm.v4.Chart>] } in its resource options.';
const RELEASE = (name: string) => urnOf("kubernetes:helm.sh/v3:Release", name);

describePolicy(policies.customResourcesAfterCrds, [
  {
    change: "a ClusterIssuer that does not wait for cert-manager",
    stack: "kubernetes",
    resource: "ClusterIssuer:letsencrypt",
    option: { dependencies: [] },
    message: NOT_AFTER_CERT_MANAGER,
  },
  {
    change: "a PrometheusRule that waits only for the ingress-nginx release",
    stack: "kubernetes",
    resource: "PrometheusRule:slo",
    option: { dependencies: [RELEASE("ingress-nginx")] },
    message: NOT_AFTER_PROMETHEUS_OPERATOR,
  },
  {
    change: "a ClusterIssuer that waits only for kube-prometheus-stack",
    stack: "kubernetes",
    resource: "ClusterIssuer:letsencrypt",
    option: { dependencies: [RELEASE("kube-prometheus-stack")] },
    message: NOT_AFTER_CERT_MANAGER,
  },
  {
    change: "an HTTPRoute that does not wait for Traefik",
    stack: "gateway",
    resource: "HTTPRoute:inference-admin",
    option: { dependencies: [] },
    message:
      'kubernetes:gateway.networking.k8s.io/v1:HTTPRoute "inference-admin" does not depend on the Helm release installing its CRD (chart traefik or traefik-crds). Pass { dependsOn: [<that helm.v3.Release or helm.v4.Chart>] } in its resource options.',
  },
  {
    change: "a Traefik Middleware that waits only for cert-manager",
    stack: "gateway",
    resource: "Middleware:mlflow-auth",
    option: { dependencies: [RELEASE("cert-manager")] },
    message:
      'kubernetes:traefik.io/v1alpha1:Middleware "mlflow-auth" does not depend on the Helm release installing its CRD (chart traefik or traefik-crds). Pass { dependsOn: [<that helm.v3.Release or helm.v4.Chart>] } in its resource options.',
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

describe("custom-resources-after-crds: the release that installs the custom resource's group", () => {
  /** The fixture with the PrometheusRule "slo" waiting only for `dependencies`. */
  const ruleAfter = (...dependencies: PolicyTarget[]) => {
    const stack = kubernetesStack();
    stack.push(...dependencies.filter((d) => !stack.includes(d)));
    stack.find((t) => t.name === "slo")!.dependencies = dependencies.map((d) => d.urn);
    return stack;
  };
  const release = (name: string, chart: string, type = "kubernetes:helm.sh/v3:Release") =>
    target(type, name, { name, namespace: "monitoring", chart, version: "1.0.0" });

  it.each([
    ["prometheus-operator-crds", release("crds", "prometheus-operator-crds")],
    ["a repository alias", release("kps", "prometheus-community/kube-prometheus-stack")],
    ["an OCI reference", release("kps", "oci://ghcr.io/prometheus-community/charts/kube-prometheus-stack")],
    ["a chart archive URL", release("kps", "https://example.com/charts/kube-prometheus-stack-75.15.1.tgz")],
    ["a local chart directory", release("kps", "./charts/kube-prometheus-stack/")],
    ["a helm.sh/v4 Chart", release("kps", "kube-prometheus-stack", "kubernetes:helm.sh/v4:Chart")],
  ])("raises nothing for a PrometheusRule after %s", async (_name, installer) => {
    expect(await evaluatePolicies([policies.customResourcesAfterCrds], ruleAfter(installer))).toEqual([]);
  });

  it("reports a PrometheusRule after a chart whose name only contains the installer's", async () => {
    const found = await evaluatePolicies(
      [policies.customResourcesAfterCrds],
      ruleAfter(release("kps-extras", "kube-prometheus-stack-extras")),
    );
    expect(found.map((v) => v.message)).toEqual([NOT_AFTER_PROMETHEUS_OPERATOR]);
  });

  it("reads acme.cert-manager.io as cert-manager's", async () => {
    const stack = kubernetesStack();
    const order = target("kubernetes:acme.cert-manager.io/v1:Order", "order", {
      apiVersion: "acme.cert-manager.io/v1",
      kind: "Order",
      metadata: { name: "order", namespace: "plinth" },
    });
    stack.push(order);
    const run = () => evaluatePolicies([policies.customResourcesAfterCrds], stack);
    order.dependencies = [RELEASE("kube-prometheus-stack")];
    expect((await run()).map((v) => v.message)).toEqual([
      'kubernetes:acme.cert-manager.io/v1:Order "order" does not depend on the Helm release installing its CRD (chart cert-manager). Pass { dependsOn: [<that helm.v3.Release or helm.v4.Chart>] } in its resource options.',
    ]);
    order.dependencies = [RELEASE("cert-manager")];
    expect(await run()).toEqual([]);
  });

  it("accepts any chart for a configured group it has no installer for, and still requires one", async () => {
    const stack = kubernetesStack();
    const widget = target("kubernetes:widgets.example.com/v1:Widget", "widget", {
      metadata: { name: "widget", namespace: "plinth" },
    });
    stack.push(widget);
    const config = { "custom-resources-after-crds": { crdGroups: ["widgets.example.com"] } };
    const run = () => evaluatePolicies([policies.customResourcesAfterCrds], stack, config);
    expect((await run()).map((v) => v.message)).toEqual([
      'kubernetes:widgets.example.com/v1:Widget "widget" does not depend on the Helm release installing its CRD. Pass { dependsOn: [<that helm.v3.Release or helm.v4.Chart>] } in its resource options.',
    ]);
    widget.dependencies = [RELEASE("ingress-nginx")];
    expect(await run()).toEqual([]);
  });

  it("still exempts a custom resource that says its CRD is the cluster's, whatever it depends on", async () => {
    const stack = ruleAfter(release("ingress", "ingress-nginx"));
    const rule = stack.find((t) => t.name === "slo")!;
    rule.props = {
      ...rule.props,
      metadata: { name: "slo", annotations: { [CRDS_FROM_CLUSTER_ANNOTATION]: "cluster" } },
    };
    expect(await evaluatePolicies([policies.customResourcesAfterCrds], stack)).toEqual([]);
  });
});

describe("custom-resources-after-crds: custom resources a Chart renders", () => {
  /** The fixture's PrometheusRule "slo" rendered by `chart` (its parent, through `between`), with no dependsOn. */
  const renderedBy = (chart: PolicyTarget, ...between: PolicyTarget[]) => {
    const stack = kubernetesStack();
    const rule = stack.find((t) => t.name === "slo")!;
    rule.dependencies = [];
    const chain = [chart, ...between];
    chain.forEach((link, i) => {
      if (i > 0) link.parent = chain[i - 1]!.urn;
    });
    rule.parent = chain[chain.length - 1]!.urn;
    stack.push(...chain);
    return stack;
  };
  const chart = (name: string, chartName: string, type = "kubernetes:helm.sh/v4:Chart") =>
    target(type, name, { name, namespace: "monitoring", chart: chartName, version: "1.0.0" });
  const run = (stack: PolicyTarget[]) => evaluatePolicies([policies.customResourcesAfterCrds], stack);

  it.each([
    ["a helm.sh/v4 Chart", chart("kps", "kube-prometheus-stack")],
    ["a helm.sh/v3 Chart", chart("kps", "kube-prometheus-stack", "kubernetes:helm.sh/v3:Chart")],
    ["a prometheus-operator-crds Chart", chart("crds", "prometheus-operator-crds")],
  ])("raises nothing for one whose parent is %s installing its CRDs", async (_name, installer) => {
    expect(await run(renderedBy(installer))).toEqual([]);
  });

  it("raises nothing for one whose grandparent is the Chart installing its CRDs", async () => {
    const group = target("kubernetes:yaml/v2:ConfigGroup", "kps-crs", {});
    expect(await run(renderedBy(chart("kps", "kube-prometheus-stack"), group))).toEqual([]);
  });

  it("reports one rendered by a Chart that does not install its group (ingress-nginx's ServiceMonitor)", async () => {
    expect((await run(renderedBy(chart("ingress", "ingress-nginx")))).map((v) => v.message)).toEqual([
      NOT_AFTER_PROMETHEUS_OPERATOR,
    ]);
  });

  it("reports one rendered by a Chart that does not install its group, even if that Chart waits for the installer", async () => {
    // A Chart's dependsOn is not passed to the objects it renders (they get only their parent).
    const ingress = chart("ingress", "ingress-nginx");
    ingress.dependencies = [RELEASE("kube-prometheus-stack")];
    expect((await run(renderedBy(ingress))).map((v) => v.message)).toEqual([NOT_AFTER_PROMETHEUS_OPERATOR]);
  });

  it("reports one whose parent is a helm.sh/v3 Release (a parent orders nothing)", async () => {
    const installer = chart("kps", "kube-prometheus-stack", "kubernetes:helm.sh/v3:Release");
    expect((await run(renderedBy(installer))).map((v) => v.message)).toEqual([NOT_AFTER_PROMETHEUS_OPERATOR]);
  });

  it("accepts one rendered by a Chart that does not install its group but that depends on the installer itself", async () => {
    const stack = renderedBy(chart("ingress", "ingress-nginx"));
    stack.find((t) => t.name === "slo")!.dependencies = [RELEASE("kube-prometheus-stack")];
    expect(await run(stack)).toEqual([]);
  });
});
