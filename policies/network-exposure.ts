/**
 * Network exposure: what is reachable from outside the cluster (Service types, host ports, external
 * IPs) and inside it (a NetworkPolicy for every workload, no allow-all ingress rules).
 */
import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import {
  admitsEveryNamespace,
  EVERY_CONTAINER,
  PATCH_JUDGED_ON_WHAT_IT_SETS,
  POD_RESOURCES,
  POD_SPECS_NOT_READ,
  isWorkloadType,
  containersOf,
  describeContainer,
  namespaceOf,
  objectName,
  podOf,
  selects,
  validatePods,
} from "./lib/kubernetes.js";
import {
  TRAEFIK_ENTRY_POINTS,
  TRAEFIK_NAMESPACE,
  TRAEFIK_POD_LABELS,
} from "../components/gateway/traefik.js";
import { familiesAdmittingThePublic } from "./lib/addresses.js";
import { chartObjectsChecked, HELM_CHART_TYPES, helmChartOf, isHelmChart } from "./lib/helm-charts.js";
import type { LabelSelector } from "./lib/kubernetes.js";
import { configOf, literal } from "./lib/policy.js";
import type { PlinthPolicy, PlinthResourcePolicy, PlinthStackPolicy } from "./lib/policy.js";
import { leaves } from "./lib/values.js";

const NSA_CISA_NETWORK = "NSA/CISA Kubernetes Hardening Guidance (network separation and hardening)";

export const serviceNoNodePort: PlinthResourcePolicy = {
  name: "service-no-nodeport",
  description: "Services must not be of type NodePort.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "A port opened on every node's address, bypassing the ingress controller's TLS, authentication and rate limits.",
    answers: [NSA_CISA_NETWORK, "anti-pattern: NodePort as a shortcut to expose a service"],
    covers: "core/v1 Service (any Service resource of that type): spec.type must not be NodePort.",
    limits:
      "A LoadBalancer Service opens node ports too; which Service may be one is only-ingress-controller-load-balancer's. A ServicePatch is not read, nor a Service type a Helm release's values ask for (only-ingress-controller-load-balancer reads those).",
    charts: chartObjectsChecked("Services"),
    chartReach: "objects",
  },
  validateResource: validateResourceOfType(k8s.core.v1.Service, (service, args, report) => {
    if (service.spec?.type === "NodePort") {
      report(
        `Service "${objectName(args.props, args.name)}" is a NodePort. Set spec.type to "ClusterIP" and route through the Ingress.`,
      );
    }
  }),
};

export const serviceNoExternalIps: PlinthResourcePolicy = {
  name: "service-no-external-ips",
  description: "Services must not set spec.externalIPs.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Intercepting traffic for arbitrary IPs cluster-wide by claiming them as a Service's external IPs (CVE-2020-8554).",
    answers: ["Kubernetes security advisory CVE-2020-8554 (man-in-the-middle via externalIPs)"],
    covers: "core/v1 Service: spec.externalIPs must be absent or empty.",
    limits:
      "A ServicePatch is not read. The cluster-wide defence (the DenyServiceExternalIPs admission plugin) is not something the pack can see.",
    charts: chartObjectsChecked("Services"),
    chartReach: "objects",
  },
  validateResource: validateResourceOfType(k8s.core.v1.Service, (service, args, report) => {
    if ((service.spec?.externalIPs ?? []).length > 0) {
      report(
        `Service "${objectName(args.props, args.name)}" claims externalIPs ${literal(service.spec?.externalIPs)}. Remove spec.externalIPs.`,
      );
    }
  }),
};

export const containerNoHostPorts: PlinthResourcePolicy = {
  name: "container-no-host-ports",
  description: "Containers must not bind host ports.",
  enforcementLevel: "mandatory",
  severity: "medium",
  metadata: {
    protectsAgainst:
      "Pods reachable on the node's address outside Services, NetworkPolicies and the ingress path.",
    answers: ['Kubernetes Pod Security Standards, profile "baseline"', NSA_CISA_NETWORK],
    covers: `${EVERY_CONTAINER}: ports[].hostPort must be unset or 0.`,
    limits: `A pod on the host network binds node ports without any hostPort: that is pod-no-host-namespaces's. ${PATCH_JUDGED_ON_WHAT_IT_SETS}`,
    charts: chartObjectsChecked("pods"),
    chartReach: "objects",
  },
  validateResource: validatePods((pod, _args, report) => {
    for (const view of containersOf(pod)) {
      (view.container.ports ?? []).forEach((port, i) => {
        if (port.hostPort !== undefined && port.hostPort !== 0) {
          report(
            `${describeContainer(pod, view)} binds host port ${port.hostPort}. Remove ${view.path}.ports[${i}].hostPort.`,
          );
        }
      });
    }
  }),
};

/** ingress-nginx's chart labels its controller's pods and its Service with these. */
const INGRESS_CONTROLLER_LABELS = {
  "app.kubernetes.io/name": "ingress-nginx",
  "app.kubernetes.io/component": "controller",
};

const loadBalancerConfig = {
  properties: {
    ingressControllerLabels: {
      type: "object" as const,
      description:
        "Labels that mark the ingress controller's Service, the only one allowed to be a LoadBalancer.",
      default: INGRESS_CONTROLLER_LABELS,
    },
    ingressControllerChart: {
      type: "string" as const,
      description:
        "Helm chart of the ingress controller (its bare name, however the chart input spells it): the only chart whose values may ask for a LoadBalancer, at ingressControllerServiceValue only.",
      default: "ingress-nginx",
    },
    ingressControllerServiceValue: {
      type: "string" as const,
      description:
        "The values path of the controller's own Service type in that chart; every other Service type in its values (metrics, default backend, internal) must stay ClusterIP.",
      default: "controller.service.type",
    },
    gatewayControllerLabels: {
      type: "object" as const,
      description:
        "Labels that mark the Gateway path's controller Service (Traefik's), the other Service allowed to be a LoadBalancer.",
      default: { ...TRAEFIK_POD_LABELS },
    },
    gatewayControllerChart: {
      type: "string" as const,
      description:
        "Helm chart of the Gateway path's controller (its bare name): its values may ask for a LoadBalancer at gatewayControllerServiceValue only.",
      default: "traefik",
    },
    gatewayControllerServiceValue: {
      type: "string" as const,
      description: "The values path of the Gateway controller's own Service type in that chart.",
      default: "service.type",
    },
  },
};

interface EdgeControllerConfig {
  ingressControllerLabels: Record<string, string>;
  ingressControllerChart: string;
  ingressControllerServiceValue: string;
  gatewayControllerLabels: Record<string, string>;
  gatewayControllerChart: string;
  gatewayControllerServiceValue: string;
}

const EXPOSING_SERVICE_TYPES = new Set(["LoadBalancer", "NodePort"]);

export const onlyIngressControllerLoadBalancer: PlinthStackPolicy = {
  name: "only-ingress-controller-load-balancer",
  description:
    "The edge controller's Service (ingress-nginx on the Ingress path, Traefik on the Gateway path) is the only LoadBalancer, whether written directly or by a Helm chart's values.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: loadBalancerConfig,
  metadata: {
    protectsAgainst:
      "A second public entry point (a Grafana, MLflow or Prometheus Service exposed directly) with no TLS and no oauth2-proxy in front.",
    answers: [NSA_CISA_NETWORK, "anti-pattern: one load balancer per service"],
    configured:
      "ingressControllerLabels, ingressControllerChart, ingressControllerServiceValue (ingress-nginx by default); gatewayControllerLabels, gatewayControllerChart, gatewayControllerServiceValue (Traefik by default)",
    covers:
      "core/v1 Service of type LoadBalancer, judged by metadata.labels against either configured controller's labels (non-empty, every pair present); and the values of every Helm chart installation, where any value at any depth equal to LoadBalancer or NodePort is reported, whatever its key (type, serviceType, service.kind...), except LoadBalancer at a configured controller's Service path of that controller's chart (matched by bare chart name: repository alias, OCI reference or archive alike).",
    limits:
      "The controller is recognised by labels and a chart name, which anyone writing the stack can set; both edges' controllers are accepted in every stack, whichever edge it runs. A ServicePatch is not read; values inside YAML strings, valueYamlFiles or a chart's defaults are not read.",
    charts:
      "helm.sh/v3 Release: its values are read (a LoadBalancer or NodePort anywhere in them), not the Services it renders. helm.sh/v3 and v4 Chart: its values, and each Service it renders.",
    chartReach: "inputs-and-objects",
  },
  validateStack: (args, report) => {
    const config = configOf<EdgeControllerConfig>(loadBalancerConfig, args);
    const carries = (wanted: Record<string, string>, labels: Record<string, string>) =>
      Object.keys(wanted).length > 0 && Object.entries(wanted).every(([key, value]) => labels[key] === value);
    const isController = (labels: Record<string, string>) =>
      carries(config.ingressControllerLabels, labels) || carries(config.gatewayControllerLabels, labels);
    const controllerServiceValue: Record<string, string> = {
      [config.gatewayControllerChart]: config.gatewayControllerServiceValue,
      [config.ingressControllerChart]: config.ingressControllerServiceValue,
    };
    for (const resource of args.resources) {
      if (resource.type === "kubernetes:core/v1:Service" && resource.props.spec?.type === "LoadBalancer") {
        if (!isController(resource.props.metadata?.labels ?? {})) {
          report(
            `Service "${objectName(resource.props, resource.name)}" is a LoadBalancer but is not the ingress controller's. Set spec.type to "ClusterIP" and expose it through an Ingress.`,
            resource.urn,
          );
        }
      }
      if (isHelmChart(resource.type)) {
        const chart = helmChartOf(resource.type, resource.props, resource.name);
        // The controller's own Service may be the LoadBalancer; its chart's other Services may not.
        const controllerService = Object.hasOwn(controllerServiceValue, chart.name)
          ? controllerServiceValue[chart.name]
          : undefined;
        // Whatever the key (type, serviceType, service.kind, ...): no other setting takes these values.
        for (const leaf of leaves(chart.values)) {
          if (leaf.path === controllerService && leaf.value === "LoadBalancer") continue;
          if (EXPOSING_SERVICE_TYPES.has(String(leaf.value))) {
            report(
              `${chart.label} (chart ${chart.chart}) asks for a ${leaf.value} Service. Set values.${leaf.path} to "ClusterIP".`,
              resource.urn,
            );
          }
        }
      }
    }
  },
};

/** A NetworkPolicy without policyTypes restricts ingress (the API defaults it to ["Ingress"]). */
function restrictsIngress(policyTypes: string[] | undefined): boolean {
  return policyTypes === undefined || policyTypes.includes("Ingress");
}

export const networkPolicyForEveryWorkload: PlinthStackPolicy = {
  name: "networkpolicy-for-every-workload",
  description: "Every workload's pods are selected by at least one NetworkPolicy restricting their ingress.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Flat pod networking: any compromised pod reaching the inference API, MLflow or the database directly, bypassing the ingress and oauth2-proxy.",
    answers: [NSA_CISA_NETWORK, 'CIS Kubernetes Benchmark, "Policies" section (network policies)'],
    covers: `${POD_RESOURCES}, except patches (the patched object's owner writes its policies): the pod template's labels must be selected, in the workload's namespace, by a networking.k8s.io/v1 NetworkPolicy whose podSelector matches them (matchLabels and In, NotIn, Exists, DoesNotExist) and whose policyTypes include Ingress or are unset.`,
    limits: `What the selecting policy admits is networkpolicy-no-allow-all-ingress's. NetworkPolicies that exist only in the cluster are not seen, so a workload they cover is reported. ${POD_SPECS_NOT_READ}`,
    charts: `${chartObjectsChecked("workloads")} The namespaces a Release installs into are networkpolicy-deny-by-default-in-chart-namespaces's.`,
    chartReach: "objects",
  },
  validateStack: (args, report) => {
    const policies = args.resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    for (const resource of args.resources) {
      if (!isWorkloadType(resource.type)) continue;
      const pod = podOf(resource.type, resource.props, resource.name);
      // A patch changes a workload managed elsewhere: its NetworkPolicies are that owner's.
      if (!pod || pod.patch) continue;
      const covered = policies.some(
        (policy) =>
          restrictsIngress(policy.props.spec?.policyTypes) &&
          namespaceOf(policy.props) === pod.namespace &&
          selects(policy.props.spec?.podSelector as LabelSelector, pod.labels),
      );
      if (!covered) {
        report(
          `${pod.kind} "${pod.name}" is selected by no NetworkPolicy. Add a NetworkPolicy in namespace "${pod.namespace}" with spec.podSelector.matchLabels ${literal(pod.labels)} and ingress rules naming the allowed peers.`,
          resource.urn,
        );
      }
    }
  },
};

/** No podSelector, or one matching a pod with no labels at all, admits every pod of the namespaces. */
function admitsEveryPod(selector: LabelSelector | undefined): boolean {
  return selector === undefined || selects(selector, {});
}

/** A label selector that selects everything: present, with no label and no expression. */
function selectsEverything(selector: LabelSelector | undefined): boolean {
  if (!selector) return false;
  return (
    Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0
  );
}

/** The internet-facing pods: the only ones a rule may open to every source, and only on these ports. */
interface PublicEdge {
  namespace: string;
  podLabels: Record<string, string>;
  ports: number[];
}

/** The edge's pod schema: a namespace, non-empty pod labels, and public ports among `ports`. */
function edgeSchema(description: string, ports: readonly number[], fallback: PublicEdge) {
  return {
    type: "object" as const,
    description,
    properties: {
      namespace: { type: "string" as const, minLength: 1 },
      podLabels: {
        type: "object" as const,
        minProperties: 1,
        additionalProperties: { type: "string" as const },
      },
      ports: { type: "array" as const, minItems: 1, items: { enum: [...ports] } },
    },
    required: ["namespace", "podLabels", "ports"],
    additionalProperties: false,
    default: fallback,
  };
}

/** Traefik's pods listen on its entry points' ports (the Service publishes them as 80 and 443). */
const TRAEFIK_PORTS = [TRAEFIK_ENTRY_POINTS.web.port, TRAEFIK_ENTRY_POINTS.websecure.port];

const allowAllConfig = {
  properties: {
    publicEdge: edgeSchema(
      "The ingress controller's pods (namespace and labels) and public ports: a rule on those pods whose ports are all public may admit every source (the load balancer preserves client addresses). Labels must not be empty; the ports are HTTP's and HTTPS's only.",
      [80, 443],
      { namespace: "ingress-nginx", podLabels: INGRESS_CONTROLLER_LABELS, ports: [80, 443] },
    ),
    gatewayEdge: edgeSchema(
      `The Gateway path's controller pods (Traefik's namespace and labels) and the ports its entry points listen on (${TRAEFIK_PORTS.join(" and ")}), exempt as publicEdge is. Labels must not be empty; the ports are the entry points' only.`,
      TRAEFIK_PORTS,
      { namespace: TRAEFIK_NAMESPACE, podLabels: { ...TRAEFIK_POD_LABELS }, ports: TRAEFIK_PORTS },
    ),
  },
};

type IngressRule = { ports?: { port?: number | string; endPort?: number }[] };

/**
 * Whether `rule` only opens the public edge's public ports: the policy selects nothing but pods
 * carrying the controller's labels in its namespace, and every port is a listed number (no named
 * port, no range, no rule without ports, which would open every port).
 */
function opensOnlyPublicEdge(
  namespace: string,
  podSelector: LabelSelector | undefined,
  rule: IngressRule,
  edge: PublicEdge,
): boolean {
  // Empty labels would exempt every pod of the namespace: the schema refuses them, and so does this.
  if (namespace !== edge.namespace || Object.keys(edge.podLabels).length === 0) return false;
  const labels = podSelector?.matchLabels ?? {};
  if (!Object.entries(edge.podLabels).every(([key, value]) => labels[key] === value)) return false;
  const ports = rule.ports ?? [];
  return (
    ports.length > 0 &&
    ports.every((p) => typeof p.port === "number" && p.endPort === undefined && edge.ports.includes(p.port))
  );
}

export const networkPolicyNoAllowAllIngress: PlinthResourcePolicy = {
  name: "networkpolicy-no-allow-all-ingress",
  description:
    "NetworkPolicy ingress rules must name their peers; no rule may admit every source, except on the edge controller's public ports (ingress-nginx's or Traefik's).",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: allowAllConfig,
  metadata: {
    protectsAgainst:
      "A NetworkPolicy that exists but admits everything (an ingress rule without `from`, or 0.0.0.0/0), giving false assurance.",
    answers: [NSA_CISA_NETWORK, "anti-pattern: allow-all NetworkPolicy"],
    configured: "publicEdge (ingress-nginx's pods by default), gatewayEdge (Traefik's pods by default)",
    covers:
      "networking.k8s.io/v1 NetworkPolicy spec.ingress rules: a rule without from (or with an empty one); an ipBlock of any /0, IPv4 or IPv6, whatever its base address; a rule's ipBlocks that together, their except holes taken out, cover every public IPv4 or IPv6 address (0.0.0.0/1 plus 128.0.0.0/1; what they leave out may only be addresses no internet client has: private, CGNAT, loopback, link-local, multicast and reserved IPv4 ranges, IPv6 outside 2000::/3); a peer whose namespaceSelector matches a namespace carrying only its name label (empty, NotIn, Exists on kubernetes.io/metadata.name, DoesNotExist on another label) with no podSelector or one that matches an unlabelled pod. Exempt: a rule on a configured edge, publicEdge or gatewayEdge (its namespace, podSelector.matchLabels carrying the controller's non-empty labels), whose ports are all that edge's listed numeric ports, which the config schema limits to 80 and 443 for publicEdge and to Traefik's entry-point ports for gatewayEdge.",
    limits:
      "Egress rules are not judged. Each rule is judged alone: two rules, or two policies selecting the same pods, each admitting half the address space pass, as does a rule admitting most but not all of the internet. A namespaceSelector on a label every namespace of one cluster happens to carry is taken as narrow. A NetworkPolicyPatch and CNI-specific policy kinds (CiliumNetworkPolicy, Calico NetworkPolicy) are not read.",
    charts: chartObjectsChecked("NetworkPolicies"),
    chartReach: "objects",
  },
  validateResource: validateResourceOfType(k8s.networking.v1.NetworkPolicy, (policy, args, report) => {
    const name = objectName(args.props, args.name);
    const { publicEdge, gatewayEdge } = configOf<{ publicEdge: PublicEdge; gatewayEdge: PublicEdge }>(
      allowAllConfig,
      args,
    );
    (policy.spec?.ingress ?? []).forEach((rule, i) => {
      const podSelector = policy.spec?.podSelector as LabelSelector;
      if (
        [publicEdge, gatewayEdge].some((edge) =>
          opensOnlyPublicEdge(namespaceOf(args.props), podSelector, rule, edge),
        )
      )
        return;
      if (!rule.from || rule.from.length === 0) {
        report(
          `NetworkPolicy "${name}" spec.ingress[${i}] admits every source. Set spec.ingress[${i}].from to the allowed podSelector/namespaceSelector peers.`,
        );
      }
      (rule.from ?? []).forEach((peer, j) => {
        const where = `spec.ingress[${i}].from[${j}]`;
        // Any /0 is every address, whatever its base address says.
        if (peer.ipBlock && peer.ipBlock.cidr.trim().endsWith("/0")) {
          report(
            `NetworkPolicy "${name}" ${where} admits ${peer.ipBlock.cidr}. Replace the ipBlock with a narrower CIDR or a pod/namespace selector.`,
          );
        } else if (admitsEveryNamespace(peer.namespaceSelector) && admitsEveryPod(peer.podSelector)) {
          report(
            `NetworkPolicy "${name}" ${where} admits every pod in every namespace (a namespaceSelector that matches any namespace${peer.podSelector ? " and a podSelector that matches any pod" : ""}). Set ${where}.namespaceSelector.matchLabels to the allowed namespace ("kubernetes.io/metadata.name": <name>) and a podSelector for the allowed pods.`,
          );
        }
      });
      // Blocks that each look narrow can still add up to the whole internet (0.0.0.0/1 +
      // 128.0.0.0/1, with or without the private ranges cut out).
      const blocks = (rule.from ?? []).flatMap((peer) => (peer.ipBlock ? [peer.ipBlock] : []));
      if (blocks.some((block) => block.cidr.trim().endsWith("/0"))) return;
      for (const family of familiesAdmittingThePublic(blocks)) {
        report(
          `NetworkPolicy "${name}" spec.ingress[${i}] admits every public ${family === "ipv4" ? "IPv4" : "IPv6"} address through its ipBlocks together (${blocks.map((b) => b.cidr).join(", ")}). Replace them with narrower CIDRs or pod/namespace selectors.`,
        );
      }
    });
  }),
};

export const networkPolicyDenyByDefaultInChartNamespaces: PlinthStackPolicy = {
  name: "networkpolicy-deny-by-default-in-chart-namespaces",
  description:
    "Every namespace a Helm chart installs into has a NetworkPolicy denying ingress to all its pods, so no pod the chart runs is reachable unless another policy admits someone to it.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Chart pods the pack cannot see (a helm.sh/v3 Release renders inside the provider) open to every pod of the cluster: any compromised pod silencing alerts through Alertmanager's API, reading Prometheus or calling a webhook.",
    answers: [NSA_CISA_NETWORK, "anti-pattern: third-party charts left on flat pod networking"],
    covers: `Every ${HELM_CHART_TYPES}, by its namespace input ("default" when unset): the stack must hold a networking.k8s.io/v1 NetworkPolicy in that namespace whose podSelector is empty (no matchLabels, no matchExpressions), whose policyTypes include Ingress or are unset, and which has no ingress rules.`,
    limits:
      "It proves the namespace is isolated, not that each pod of the chart admits only its clients: those rules are the components' (judged in test/infra/chart-network-policies.test.ts). A policy that exists only in the cluster is not seen. Pods on the host network (node-exporter) are outside NetworkPolicy. Objects a chart's templates place in other namespaces are not followed.",
    charts:
      "helm.sh/v3 Release and helm.sh/v3 and v4 Chart alike: the installation's namespace input and the stack's NetworkPolicies are read, not the pods the chart runs.",
    chartReach: "inputs",
  },
  validateStack: (args, report) => {
    const isolated = new Set(
      args.resources
        .filter(
          (r) =>
            r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy" &&
            restrictsIngress(r.props.spec?.policyTypes) &&
            selectsEverything(r.props.spec?.podSelector as LabelSelector | undefined) &&
            // Rules on a namespace-wide policy admit their peers to every pod: not a default deny.
            ((r.props.spec?.ingress as unknown[] | undefined) ?? []).length === 0,
        )
        .map((r) => namespaceOf(r.props)),
    );
    for (const resource of args.resources.filter((r) => isHelmChart(r.type))) {
      const chart = helmChartOf(resource.type, resource.props, resource.name);
      if (isolated.has(chart.namespace)) continue;
      report(
        `${chart.label} (chart ${chart.chart}) installs into namespace "${chart.namespace}", where no NetworkPolicy denies ingress to every pod. Add a NetworkPolicy in "${chart.namespace}" with spec.podSelector {}, policyTypes ["Ingress"] and no ingress rules, then one per pod the chart runs admitting only its clients.`,
        resource.urn,
      );
    }
  },
};

export const networkExposurePolicies: PlinthPolicy[] = [
  serviceNoNodePort,
  serviceNoExternalIps,
  containerNoHostPorts,
  onlyIngressControllerLoadBalancer,
  networkPolicyForEveryWorkload,
  networkPolicyNoAllowAllIngress,
  networkPolicyDenyByDefaultInChartNamespaces,
];
