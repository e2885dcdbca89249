import * as policies from "../../policies/network-exposure.js";
import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../../policies/runner/evaluate.js";
import { describePolicy, STACK_FIXTURES } from "./cases.js";
import { setPath } from "./fixtures/target.js";

describePolicy(policies.serviceNoNodePort, [
  {
    change: "a NodePort Service",
    stack: "kubernetes",
    resource: "Service:inference",
    path: ["spec", "type"],
    value: "NodePort",
    message: 'Service "inference" is a NodePort. Set spec.type to "ClusterIP" and route through the Ingress.',
  },
]);

describePolicy(policies.serviceNoExternalIps, [
  {
    change: "externalIPs on a Service",
    stack: "kubernetes",
    resource: "Service:inference",
    path: ["spec", "externalIPs"],
    value: ["198.51.100.7"],
    message: 'Service "inference" claims externalIPs ["198.51.100.7"]. Remove spec.externalIPs.',
  },
]);

describePolicy(policies.containerNoHostPorts, [
  {
    change: "a hostPort",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: ["spec", "template", "spec", "containers", 0, "ports", 0, "hostPort"],
    value: 8080,
    message:
      'Deployment "inference" container "server" binds host port 8080. Remove spec.template.spec.containers[0].ports[0].hostPort.',
  },
]);

describePolicy(policies.onlyIngressControllerLoadBalancer, [
  {
    change: "a LoadBalancer Service that is not the controller's",
    stack: "kubernetes",
    resource: "Service:inference",
    path: ["spec", "type"],
    value: "LoadBalancer",
    message:
      'Service "inference" is a LoadBalancer but is not the ingress controller\'s. Set spec.type to "ClusterIP" and expose it through an Ingress.',
  },
  {
    change: "a LoadBalancer Service missing the controller's component label",
    stack: "kubernetes",
    resource: "Service:ingress-nginx-controller",
    path: ["metadata", "labels", "app.kubernetes.io/component"],
    value: "admission-webhook",
    message:
      'Service "ingress-nginx-controller" is a LoadBalancer but is not the ingress controller\'s. Set spec.type to "ClusterIP" and expose it through an Ingress.',
  },
  {
    change: "a chart's values asking for a LoadBalancer",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "prometheus", "service", "type"],
    value: "LoadBalancer",
    message:
      'Helm release "kube-prometheus-stack" (chart kube-prometheus-stack) asks for a LoadBalancer Service. Set values.prometheus.service.type to "ClusterIP".',
  },
  {
    change: "a chart's values asking for a NodePort under serviceType",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "grafana", "serviceType"],
    value: "NodePort",
    message:
      'Helm release "kube-prometheus-stack" (chart kube-prometheus-stack) asks for a NodePort Service. Set values.grafana.serviceType to "ClusterIP".',
  },
  {
    change: "a chart's values asking for a LoadBalancer under service.kind",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "prometheus", "service"],
    value: { kind: "LoadBalancer", port: 9090 },
    message:
      'Helm release "kube-prometheus-stack" (chart kube-prometheus-stack) asks for a LoadBalancer Service. Set values.prometheus.service.kind to "ClusterIP".',
  },
]);

describe("only-ingress-controller-load-balancer: helm.sh/v4 Charts", () => {
  it("reads a v4 Chart's values as a v3 Release's", async () => {
    const stack = STACK_FIXTURES.kubernetes();
    const release = stack.find((t) => t.name === "kube-prometheus-stack")!;
    release.type = "kubernetes:helm.sh/v4:Chart";
    expect(await evaluatePolicies([policies.onlyIngressControllerLoadBalancer], stack, {})).toEqual([]);
    setPath(release.props, ["values", "grafana", "service"], { type: "LoadBalancer" });
    const found = await evaluatePolicies([policies.onlyIngressControllerLoadBalancer], stack, {});
    expect(found.map((v) => v.message)).toEqual([
      'Helm chart "kube-prometheus-stack" (chart kube-prometheus-stack) asks for a LoadBalancer Service. Set values.grafana.service.type to "ClusterIP".',
    ]);
  });
});

describePolicy(policies.networkPolicyForEveryWorkload, [
  {
    change: "a NetworkPolicy selecting other pods",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "podSelector", "matchLabels", "app.kubernetes.io/name"],
    value: "mlflow",
    reportedOn: "Deployment:inference",
    message:
      'Deployment "inference" is selected by no NetworkPolicy. Add a NetworkPolicy in namespace "plinth" with spec.podSelector.matchLabels {"app.kubernetes.io/name":"inference"} and ingress rules naming the allowed peers.',
  },
  {
    change: "a matchExpressions selector that no longer matches the CronJob",
    stack: "kubernetes",
    resource: "NetworkPolicy:drift-check",
    path: ["spec", "podSelector", "matchExpressions", 0, "operator"],
    value: "NotIn",
    reportedOn: "CronJob:drift-check",
    message:
      'CronJob "drift-check" is selected by no NetworkPolicy. Add a NetworkPolicy in namespace "plinth" with spec.podSelector.matchLabels {"app.kubernetes.io/name":"drift-check"} and ingress rules naming the allowed peers.',
  },
  {
    change: "a NetworkPolicy that only restricts egress",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "policyTypes"],
    value: ["Egress"],
    reportedOn: "Deployment:inference",
    message:
      'Deployment "inference" is selected by no NetworkPolicy. Add a NetworkPolicy in namespace "plinth" with spec.podSelector.matchLabels {"app.kubernetes.io/name":"inference"} and ingress rules naming the allowed peers.',
  },
  {
    change: "a NetworkPolicy in another namespace",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["metadata", "namespace"],
    value: "default",
    reportedOn: "Deployment:inference",
    message:
      'Deployment "inference" is selected by no NetworkPolicy. Add a NetworkPolicy in namespace "plinth" with spec.podSelector.matchLabels {"app.kubernetes.io/name":"inference"} and ingress rules naming the allowed peers.',
  },
]);

describePolicy(policies.networkPolicyNoAllowAllIngress, [
  {
    change: "an ingress rule without from",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from"],
    value: undefined,
    message:
      'NetworkPolicy "inference" spec.ingress[0] admits every source. Set spec.ingress[0].from to the allowed podSelector/namespaceSelector peers.',
  },
  {
    change: "an ipBlock of 0.0.0.0/0",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from", 0],
    value: { ipBlock: { cidr: "0.0.0.0/0" } },
    message:
      'NetworkPolicy "inference" spec.ingress[0].from[0] admits 0.0.0.0/0. Replace the ipBlock with a narrower CIDR or a pod/namespace selector.',
  },
  {
    change: "a /0 written with another base address",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from", 0],
    value: { ipBlock: { cidr: "10.0.0.0/0" } },
    message:
      'NetworkPolicy "inference" spec.ingress[0].from[0] admits 10.0.0.0/0. Replace the ipBlock with a narrower CIDR or a pod/namespace selector.',
  },
  {
    change: "an empty namespaceSelector alone",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from", 0],
    value: { namespaceSelector: {} },
    message:
      'NetworkPolicy "inference" spec.ingress[0].from[0] admits every pod in every namespace (an empty namespaceSelector). Set spec.ingress[0].from[0].namespaceSelector.matchLabels to the allowed namespace ("kubernetes.io/metadata.name": <name>) and a podSelector for the allowed pods.',
  },
  {
    change: "an empty namespaceSelector with an empty podSelector (empty lists spelled out)",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from", 0],
    value: { namespaceSelector: { matchLabels: {}, matchExpressions: [] }, podSelector: {} },
    message:
      'NetworkPolicy "inference" spec.ingress[0].from[0] admits every pod in every namespace (an empty namespaceSelector and an empty podSelector). Set spec.ingress[0].from[0].namespaceSelector.matchLabels to the allowed namespace ("kubernetes.io/metadata.name": <name>) and a podSelector for the allowed pods.',
  },
]);

describe("networkpolicy-no-allow-all-ingress: peers that name someone", () => {
  it.each([
    [
      "pods of any namespace carrying a label",
      { namespaceSelector: {}, podSelector: { matchLabels: { app: "prometheus" } } },
    ],
    [
      "every pod of a named namespace",
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
    ],
    ["pods of this namespace only", { podSelector: {} }],
    ["a /8", { ipBlock: { cidr: "10.0.0.0/8" } }],
  ])("raises nothing for %s", async (_name, peer) => {
    const stack = STACK_FIXTURES.kubernetes();
    const policy = stack.find((t) => t.name === "inference" && t.type.endsWith("NetworkPolicy"))!;
    setPath(policy.props, ["spec", "ingress", 0, "from", 0], peer);
    expect(await evaluatePolicies([policies.networkPolicyNoAllowAllIngress], stack, {})).toEqual([]);
  });
});
