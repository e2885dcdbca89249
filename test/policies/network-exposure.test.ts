import * as policies from "../../policies/network-exposure.js";
import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../../policies/runner/evaluate.js";
import { describePolicy, STACK_FIXTURES } from "./cases.js";
import { setPath, target } from "./fixtures/target.js";

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

// The controller's chart may ask for one LoadBalancer, its controller's; none of its other Services.
describePolicy(policies.onlyIngressControllerLoadBalancer, [
  {
    change: "the controller chart's metrics Service as a LoadBalancer",
    stack: "kubernetes",
    resource: "Release:ingress-nginx",
    path: ["values", "controller", "metrics"],
    value: { enabled: true, service: { type: "LoadBalancer" } },
    message:
      'Helm release "ingress-nginx" (chart ingress-nginx) asks for a LoadBalancer Service. Set values.controller.metrics.service.type to "ClusterIP".',
  },
  {
    change: "the controller chart's default backend as a NodePort",
    stack: "kubernetes",
    resource: "Release:ingress-nginx",
    path: ["values", "defaultBackend"],
    value: { enabled: true, service: { type: "NodePort" } },
    message:
      'Helm release "ingress-nginx" (chart ingress-nginx) asks for a NodePort Service. Set values.defaultBackend.service.type to "ClusterIP".',
  },
  {
    change: "the controller's own Service as a NodePort",
    stack: "kubernetes",
    resource: "Release:ingress-nginx",
    path: ["values", "controller", "service", "type"],
    value: "NodePort",
    message:
      'Helm release "ingress-nginx" (chart ingress-nginx) asks for a NodePort Service. Set values.controller.service.type to "ClusterIP".',
  },
]);

describe("only-ingress-controller-load-balancer: the controller chart however its chart input is spelled", () => {
  it.each([
    "oci://ghcr.io/kubernetes/charts/ingress-nginx",
    "ingress-nginx/ingress-nginx",
    "https://github.com/kubernetes/ingress-nginx/releases/download/helm-chart-4.13.3/ingress-nginx-4.13.3.tgz",
  ])("raises nothing for %s with its controller as the LoadBalancer", async (chart) => {
    const stack = STACK_FIXTURES.kubernetes();
    stack.find((t) => t.name === "ingress-nginx" && t.type.endsWith("Release"))!.props.chart = chart;
    expect(await evaluatePolicies([policies.onlyIngressControllerLoadBalancer], stack, {})).toEqual([]);
  });
});

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
      'NetworkPolicy "inference" spec.ingress[0].from[0] admits every pod in every namespace (a namespaceSelector that matches any namespace). Set spec.ingress[0].from[0].namespaceSelector.matchLabels to the allowed namespace ("kubernetes.io/metadata.name": <name>) and a podSelector for the allowed pods.',
  },
  {
    change: "an empty namespaceSelector with an empty podSelector (empty lists spelled out)",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from", 0],
    value: { namespaceSelector: { matchLabels: {}, matchExpressions: [] }, podSelector: {} },
    message:
      'NetworkPolicy "inference" spec.ingress[0].from[0] admits every pod in every namespace (a namespaceSelector that matches any namespace and a podSelector that matches any pod). Set spec.ingress[0].from[0].namespaceSelector.matchLabels to the allowed namespace ("kubernetes.io/metadata.name": <name>) and a podSelector for the allowed pods.',
  },
]);

const EVERY_NAMESPACE = (where: string, pods: boolean) =>
  `NetworkPolicy "inference" ${where} admits every pod in every namespace (a namespaceSelector that matches any namespace${pods ? " and a podSelector that matches any pod" : ""}). Set ${where}.namespaceSelector.matchLabels to the allowed namespace ("kubernetes.io/metadata.name": <name>) and a podSelector for the allowed pods.`;

// "Everything", however it is spelled: selectors that match a namespace or pod nobody has named,
// and address blocks that only add up to every address.
describePolicy(policies.networkPolicyNoAllowAllIngress, [
  {
    change: "a namespaceSelector Exists on the name label every namespace carries",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from", 0],
    value: {
      namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "Exists" }] },
    },
    message: EVERY_NAMESPACE("spec.ingress[0].from[0]", false),
  },
  {
    change: "a namespaceSelector NotIn one namespace",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from", 0],
    value: {
      namespaceSelector: {
        matchExpressions: [
          { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] },
        ],
      },
    },
    message: EVERY_NAMESPACE("spec.ingress[0].from[0]", false),
  },
  {
    change: "a namespaceSelector DoesNotExist on a label, with a podSelector NotIn",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from", 0],
    value: {
      namespaceSelector: { matchExpressions: [{ key: "quarantined", operator: "DoesNotExist" }] },
      podSelector: { matchExpressions: [{ key: "app", operator: "NotIn", values: ["attacker"] }] },
    },
    message: EVERY_NAMESPACE("spec.ingress[0].from[0]", true),
  },
  {
    change: "two /1 blocks that together are every IPv4 address",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from"],
    value: [{ ipBlock: { cidr: "0.0.0.0/1" } }, { ipBlock: { cidr: "128.0.0.0/1" } }],
    message:
      'NetworkPolicy "inference" spec.ingress[0] admits every public IPv4 address through its ipBlocks together (0.0.0.0/1, 128.0.0.0/1). Replace them with narrower CIDRs or pod/namespace selectors.',
  },
  {
    change: "two /1 halves with the private ranges cut out (the whole internet still)",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from"],
    value: [
      { ipBlock: { cidr: "0.0.0.0/1", except: ["10.0.0.0/8", "100.64.0.0/10"] } },
      { ipBlock: { cidr: "128.0.0.0/1", except: ["172.16.0.0/12", "192.168.0.0/16"] } },
    ],
    message:
      'NetworkPolicy "inference" spec.ingress[0] admits every public IPv4 address through its ipBlocks together (0.0.0.0/1, 128.0.0.0/1). Replace them with narrower CIDRs or pod/namespace selectors.',
  },
  {
    change: "IPv6 halves, unaligned base addresses and all",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from"],
    value: [{ ipBlock: { cidr: "::1/1" } }, { ipBlock: { cidr: "8000::/1" } }],
    message:
      'NetworkPolicy "inference" spec.ingress[0] admits every public IPv6 address through its ipBlocks together (::1/1, 8000::/1). Replace them with narrower CIDRs or pod/namespace selectors.',
  },
  {
    change: "four /2 blocks in scrambled order, one with a hole another fills",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from"],
    value: [
      { ipBlock: { cidr: "192.0.0.0/2" } },
      { ipBlock: { cidr: "0.0.0.0/2", except: ["10.0.0.0/8"] } },
      { ipBlock: { cidr: "10.0.0.0/8" } },
      { ipBlock: { cidr: "128.0.0.0/2" } },
      { ipBlock: { cidr: "64.0.0.0/2" } },
    ],
    message:
      'NetworkPolicy "inference" spec.ingress[0] admits every public IPv4 address through its ipBlocks together (192.0.0.0/2, 0.0.0.0/2, 10.0.0.0/8, 128.0.0.0/2, 64.0.0.0/2). Replace them with narrower CIDRs or pod/namespace selectors.',
  },
]);

const PUBLIC_REFUSED = (family: string, blocks: string) =>
  `NetworkPolicy "inference" spec.ingress[0] admits every public ${family} address through its ipBlocks together (${blocks}). Replace them with narrower CIDRs or pod/namespace selectors.`;

// The internet without the addresses nobody on it has: multicast, reserved, "this network", and
// in IPv6 everything outside global unicast.
describePolicy(policies.networkPolicyNoAllowAllIngress, [
  {
    change: "every global-unicast IPv6 address (2000::/3)",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from"],
    value: [{ ipBlock: { cidr: "2000::/3" } }],
    message: PUBLIC_REFUSED("IPv6", "2000::/3"),
  },
  {
    change: "every unicast IPv4 address, multicast and reserved left out",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from"],
    value: [
      { ipBlock: { cidr: "0.0.0.0/1" } },
      { ipBlock: { cidr: "128.0.0.0/2" } },
      { ipBlock: { cidr: "192.0.0.0/3" } },
    ],
    message: PUBLIC_REFUSED("IPv4", "0.0.0.0/1, 128.0.0.0/2, 192.0.0.0/3"),
  },
  {
    change: "the halving ladder from 1.0.0.0/8 to 128.0.0.0/1 (all but 0.0.0.0/8)",
    stack: "kubernetes",
    resource: "NetworkPolicy:inference",
    path: ["spec", "ingress", 0, "from"],
    value: [
      "1.0.0.0/8",
      "2.0.0.0/7",
      "4.0.0.0/6",
      "8.0.0.0/5",
      "16.0.0.0/4",
      "32.0.0.0/3",
      "64.0.0.0/2",
      "128.0.0.0/1",
    ].map((cidr) => ({ ipBlock: { cidr } })),
    message: PUBLIC_REFUSED(
      "IPv4",
      "1.0.0.0/8, 2.0.0.0/7, 4.0.0.0/6, 8.0.0.0/5, 16.0.0.0/4, 32.0.0.0/3, 64.0.0.0/2, 128.0.0.0/1",
    ),
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
    [
      "namespaces In a list",
      {
        namespaceSelector: {
          matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["monitoring"] }],
        },
      },
    ],
    [
      "namespaces carrying a team label",
      { namespaceSelector: { matchExpressions: [{ key: "team", operator: "Exists" }] } },
    ],
  ])("raises nothing for %s", async (_name, peer) => {
    const stack = STACK_FIXTURES.kubernetes();
    const policy = stack.find((t) => t.name === "inference" && t.type.endsWith("NetworkPolicy"))!;
    setPath(policy.props, ["spec", "ingress", 0, "from", 0], peer);
    expect(await evaluatePolicies([policies.networkPolicyNoAllowAllIngress], stack, {})).toEqual([]);
  });
});

const EDGE_REFUSED = (where: string, cidr = "0.0.0.0/0") =>
  `NetworkPolicy "controller" ${where} admits ${cidr}. Replace the ipBlock with a narrower CIDR or a pod/namespace selector.`;

// The ingress controller's 80 and 443 take the internet (the load balancer keeps client
// addresses); nothing else may, however close it comes to that shape.
describePolicy(policies.networkPolicyNoAllowAllIngress, [
  {
    change: "the internet on the controller's webhook port",
    stack: "kubernetes",
    resource: "NetworkPolicy:ingress-nginx-controller",
    path: ["spec", "ingress", 1, "from", 0, "ipBlock", "cidr"],
    value: "0.0.0.0/0",
    message: EDGE_REFUSED("spec.ingress[1].from[0]"),
  },
  {
    change: "the internet on the controller with no ports listed (every port)",
    stack: "kubernetes",
    resource: "NetworkPolicy:ingress-nginx-controller",
    path: ["spec", "ingress", 0, "ports"],
    value: undefined,
    message: EDGE_REFUSED("spec.ingress[0].from[0]"),
  },
  {
    change: "the internet on a named port (which the pack cannot resolve)",
    stack: "kubernetes",
    resource: "NetworkPolicy:ingress-nginx-controller",
    path: ["spec", "ingress", 0, "ports", 1, "port"],
    value: "https",
    message: EDGE_REFUSED("spec.ingress[0].from[0]"),
  },
  {
    change: "the internet on a port range starting at 443",
    stack: "kubernetes",
    resource: "NetworkPolicy:ingress-nginx-controller",
    path: ["spec", "ingress", 0, "ports", 1, "endPort"],
    value: 10254,
    message: EDGE_REFUSED("spec.ingress[0].from[0]"),
  },
  {
    change: "the internet on every ingress-nginx pod (no component label: the admission jobs too)",
    stack: "kubernetes",
    resource: "NetworkPolicy:ingress-nginx-controller",
    path: ["spec", "podSelector", "matchLabels"],
    value: { "app.kubernetes.io/name": "ingress-nginx" },
    message: EDGE_REFUSED("spec.ingress[0].from[0]"),
  },
  {
    change: "the internet on pods labelled as the controller in another namespace",
    stack: "kubernetes",
    resource: "NetworkPolicy:ingress-nginx-controller",
    path: ["metadata", "namespace"],
    value: "plinth",
    message: EDGE_REFUSED("spec.ingress[0].from[0]"),
  },
  {
    change: "port 80 to the internet when the pack config lists only 443",
    stack: "kubernetes",
    resource: "NetworkPolicy:ingress-nginx-controller",
    path: ["metadata", "labels"],
    value: {},
    config: {
      publicEdge: {
        namespace: "ingress-nginx",
        podLabels: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" },
        ports: [443],
      },
    },
    message: EDGE_REFUSED("spec.ingress[0].from[0]"),
  },
]);

describe("networkpolicy-no-allow-all-ingress: blocks that leave a hole", () => {
  it.each([
    [
      "two /1 halves with a public hole",
      [{ ipBlock: { cidr: "0.0.0.0/1", except: ["8.8.8.0/24"] } }, { ipBlock: { cidr: "128.0.0.0/1" } }],
    ],
    [
      "every private range together",
      [
        { ipBlock: { cidr: "10.0.0.0/8" } },
        { ipBlock: { cidr: "172.16.0.0/12" } },
        { ipBlock: { cidr: "192.168.0.0/16" } },
      ],
    ],
    [
      "three of four /2 quarters",
      [
        { ipBlock: { cidr: "0.0.0.0/2" } },
        { ipBlock: { cidr: "64.0.0.0/2" } },
        { ipBlock: { cidr: "192.0.0.0/2" } },
      ],
    ],
  ])("raises nothing for %s", async (_name, from) => {
    const stack = STACK_FIXTURES.kubernetes();
    const policy = stack.find((t) => t.name === "inference" && t.type.endsWith("NetworkPolicy"))!;
    setPath(policy.props, ["spec", "ingress", 0, "from"], from);
    expect(await evaluatePolicies([policies.networkPolicyNoAllowAllIngress], stack, {})).toEqual([]);
  });
});

describe("networkpolicy-no-allow-all-ingress: a pack config that would exempt a whole namespace", () => {
  it("grants no exemption for empty edge labels", async () => {
    const stack = STACK_FIXTURES.kubernetes();
    const found = await evaluatePolicies([policies.networkPolicyNoAllowAllIngress], stack, {
      [policies.networkPolicyNoAllowAllIngress.name]: {
        publicEdge: { namespace: "ingress-nginx", podLabels: {}, ports: [80, 443] },
      },
    });
    expect(found.map((v) => v.message)).toEqual([EDGE_REFUSED("spec.ingress[0].from[0]")]);
  });
});

describe("networkpolicy-no-allow-all-ingress: the public edge", () => {
  it.each([
    ["a rule without from on 443", { ports: [{ port: 443 }] }],
    [
      "an empty namespaceSelector on 80 and 443",
      { from: [{ namespaceSelector: {} }], ports: [{ port: 80 }, { port: 443 }] },
    ],
    [
      "::/0 on 443 with the protocol spelled out",
      { from: [{ ipBlock: { cidr: "::/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
    ],
  ])("raises nothing for %s on the controller's pods", async (_name, rule) => {
    const stack = STACK_FIXTURES.kubernetes();
    const edge = stack.find(
      (t) => t.name === "ingress-nginx-controller" && t.type.endsWith("NetworkPolicy"),
    )!;
    setPath(edge.props, ["spec", "ingress", 0], rule);
    expect(await evaluatePolicies([policies.networkPolicyNoAllowAllIngress], stack, {})).toEqual([]);
  });
});

const NOT_ISOLATED = (label: string, chart: string, namespace: string) =>
  `${label} (chart ${chart}) installs into namespace "${namespace}", where no NetworkPolicy denies ingress to every pod. Add a NetworkPolicy in "${namespace}" with spec.podSelector {}, policyTypes ["Ingress"] and no ingress rules, then one per pod the chart runs admitting only its clients.`;

describePolicy(policies.networkPolicyDenyByDefaultInChartNamespaces, [
  {
    change: "a chart namespace without its deny-by-default policy",
    stack: "kubernetes",
    remove: "NetworkPolicy:monitoring-deny-ingress",
    reportedOn: "Release:kube-prometheus-stack",
    message: NOT_ISOLATED('Helm release "kube-prometheus-stack"', "kube-prometheus-stack", "monitoring"),
  },
  {
    change: "a policy selecting only some pods of the namespace",
    stack: "kubernetes",
    resource: "NetworkPolicy:cert-manager-deny-ingress",
    path: ["spec", "podSelector", "matchLabels"],
    value: { "app.kubernetes.io/name": "webhook" },
    reportedOn: "Release:cert-manager",
    message: NOT_ISOLATED('Helm release "cert-manager"', "cert-manager", "cert-manager"),
  },
  {
    change: "a policy that selects every pod for egress only",
    stack: "kubernetes",
    resource: "NetworkPolicy:cert-manager-deny-ingress",
    path: ["spec", "policyTypes"],
    value: ["Egress"],
    reportedOn: "Release:cert-manager",
    message: NOT_ISOLATED('Helm release "cert-manager"', "cert-manager", "cert-manager"),
  },
  {
    change: "a release with no namespace (the provider's, default)",
    stack: "kubernetes",
    resource: "Release:ingress-nginx",
    path: ["namespace"],
    value: undefined,
    message: NOT_ISOLATED('Helm release "ingress-nginx"', "ingress-nginx", "default"),
  },
  {
    change: "a release whose deny policy sits in another namespace",
    stack: "kubernetes",
    resource: "NetworkPolicy:ingress-nginx-deny-ingress",
    path: ["metadata", "namespace"],
    value: "plinth",
    reportedOn: "Release:ingress-nginx",
    message: NOT_ISOLATED('Helm release "ingress-nginx"', "ingress-nginx", "ingress-nginx"),
  },
  {
    change: "a helm.sh/v4 Chart into a namespace no policy isolates",
    stack: "kubernetes",
    add: target("kubernetes:helm.sh/v4:Chart", "redis", {
      chart: "oci://registry-1.docker.io/bitnamicharts/redis",
      version: "20.6.1",
      namespace: "cache",
    }),
    message: NOT_ISOLATED('Helm chart "redis"', "oci://registry-1.docker.io/bitnamicharts/redis", "cache"),
  },
]);

describe("networkpolicy-deny-by-default-in-chart-namespaces: what counts as a default deny", () => {
  const run = async (spec: Record<string, unknown>) => {
    const stack = STACK_FIXTURES.kubernetes();
    setPath(stack.find((t) => t.name === "monitoring-deny-ingress")!.props, ["spec"], spec);
    return (await evaluatePolicies([policies.networkPolicyDenyByDefaultInChartNamespaces], stack, {})).map(
      (v) => v.message,
    );
  };
  it("accepts an empty selector spelled out, with empty rule and expression lists", async () => {
    expect(await run({ podSelector: { matchLabels: {}, matchExpressions: [] }, ingress: [] })).toEqual([]);
  });
  it("refuses a namespace-wide policy that admits someone to every pod", async () => {
    expect(
      await run({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }] }),
    ).toEqual([NOT_ISOLATED('Helm release "kube-prometheus-stack"', "kube-prometheus-stack", "monitoring")]);
  });
});

// The Gateway path: Traefik's own Service is the other LoadBalancer, and its pods take the internet
// on the ports its entry points listen on (8000, 8443), nothing else.
describePolicy(policies.onlyIngressControllerLoadBalancer, [
  {
    change: "Traefik's metrics Service as a LoadBalancer",
    stack: "gateway",
    resource: "Release:traefik",
    path: ["values", "metrics"],
    value: { prometheus: { service: { enabled: true, type: "LoadBalancer" } } },
    message:
      'Helm release "traefik" (chart traefik) asks for a LoadBalancer Service. Set values.metrics.prometheus.service.type to "ClusterIP".',
  },
]);

const TRAEFIK_REFUSED = (where: string) =>
  `NetworkPolicy "proxy" ${where} admits 0.0.0.0/0. Replace the ipBlock with a narrower CIDR or a pod/namespace selector.`;

describe("the Gateway path's edge under a pack config naming another controller", () => {
  it("reports Traefik's Service and chart values as any other's", async () => {
    const stack = STACK_FIXTURES.gateway();
    stack.push(
      target("kubernetes:core/v1:Service", "traefik-extra", {
        metadata: {
          name: "traefik-extra",
          namespace: "traefik",
          labels: { "app.kubernetes.io/name": "traefik" },
        },
        spec: { type: "LoadBalancer" },
      }),
    );
    const found = await evaluatePolicies([policies.onlyIngressControllerLoadBalancer], stack, {
      [policies.onlyIngressControllerLoadBalancer.name]: {
        gatewayControllerLabels: { "app.kubernetes.io/name": "envoy" },
        gatewayControllerChart: "envoy",
      },
    });
    expect(found.map((v) => v.message)).toEqual([
      'Helm release "traefik" (chart traefik) asks for a LoadBalancer Service. Set values.service.type to "ClusterIP".',
      'Service "traefik-extra" is a LoadBalancer but is not the ingress controller\'s. Set spec.type to "ClusterIP" and expose it through an Ingress.',
    ]);
  });
});

describe("networkpolicy-no-allow-all-ingress: Traefik's entry points", () => {
  it("exempts only the entry points' ports: its dashboard port opened to the internet is reported", async () => {
    const stack = STACK_FIXTURES.gateway();
    setPath(
      stack.find((t) => t.name === "traefik-proxy")!.props,
      ["spec", "ingress", 0, "ports", 1, "port"],
      9000,
    );
    const found = await evaluatePolicies([policies.networkPolicyNoAllowAllIngress], stack, {});
    expect(found.map((v) => v.message)).toEqual([
      TRAEFIK_REFUSED("spec.ingress[0].from[0]"),
      'NetworkPolicy "proxy" spec.ingress[0].from[1] admits every pod in every namespace (a namespaceSelector that matches any namespace). Set spec.ingress[0].from[1].namespaceSelector.matchLabels to the allowed namespace ("kubernetes.io/metadata.name": <name>) and a podSelector for the allowed pods.',
    ]);
  });
});
