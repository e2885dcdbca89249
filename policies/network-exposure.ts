/**
 * Network exposure: what is reachable from outside the cluster (Service types, host ports, external
 * IPs) and inside it (a NetworkPolicy for every workload, no allow-all ingress rules).
 */
import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import {
  isWorkloadType,
  containersOf,
  describeContainer,
  namespaceOf,
  objectName,
  podOf,
  selects,
  validatePods,
} from "./lib/kubernetes.js";
import { helmChartOf, isHelmChart } from "./lib/helm-charts.js";
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

const loadBalancerConfig = {
  properties: {
    ingressControllerLabels: {
      type: "object" as const,
      description:
        "Labels that mark the ingress controller's Service, the only one allowed to be a LoadBalancer.",
      default: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" },
    },
    ingressControllerChart: {
      type: "string" as const,
      description:
        "Helm chart of the ingress controller: the only chart whose values may ask for a LoadBalancer.",
      default: "ingress-nginx",
    },
  },
};

const EXPOSING_SERVICE_TYPES = new Set(["LoadBalancer", "NodePort"]);

export const onlyIngressControllerLoadBalancer: PlinthStackPolicy = {
  name: "only-ingress-controller-load-balancer",
  description:
    "The ingress controller's Service is the only LoadBalancer, whether written directly or by a Helm chart's values.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: loadBalancerConfig,
  metadata: {
    protectsAgainst:
      "A second public entry point (a Grafana, MLflow or Prometheus Service exposed directly) with no TLS and no oauth2-proxy in front.",
    answers: [NSA_CISA_NETWORK, "anti-pattern: one load balancer per service"],
    configured: "ingressControllerLabels, ingressControllerChart",
  },
  validateStack: (args, report) => {
    const config = configOf<{
      ingressControllerLabels: Record<string, string>;
      ingressControllerChart: string;
    }>(loadBalancerConfig, args);
    const isController = (labels: Record<string, string>) =>
      Object.entries(config.ingressControllerLabels).every(([key, value]) => labels[key] === value);
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
        if (chart.chart === config.ingressControllerChart) continue;
        // Whatever the key (type, serviceType, service.kind, ...): no other setting takes these values.
        for (const leaf of leaves(chart.values)) {
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

/** A label selector that selects everything: present, with no label and no expression. */
function selectsEverything(selector: LabelSelector | undefined): boolean {
  if (!selector) return false;
  return (
    Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0
  );
}

export const networkPolicyNoAllowAllIngress: PlinthResourcePolicy = {
  name: "networkpolicy-no-allow-all-ingress",
  description: "NetworkPolicy ingress rules must name their peers; no rule may admit every source.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "A NetworkPolicy that exists but admits everything (an ingress rule without `from`, or 0.0.0.0/0), giving false assurance.",
    answers: [NSA_CISA_NETWORK, "anti-pattern: allow-all NetworkPolicy"],
  },
  validateResource: validateResourceOfType(k8s.networking.v1.NetworkPolicy, (policy, args, report) => {
    const name = objectName(args.props, args.name);
    (policy.spec?.ingress ?? []).forEach((rule, i) => {
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
        } else if (
          selectsEverything(peer.namespaceSelector) &&
          (!peer.podSelector || selectsEverything(peer.podSelector))
        ) {
          // An empty namespaceSelector selects every namespace; alone (or with an empty
          // podSelector) it admits every pod of the cluster.
          report(
            `NetworkPolicy "${name}" ${where} admits every pod in every namespace (an empty namespaceSelector${peer.podSelector ? " and an empty podSelector" : ""}). Set ${where}.namespaceSelector.matchLabels to the allowed namespace ("kubernetes.io/metadata.name": <name>) and a podSelector for the allowed pods.`,
          );
        }
      });
    });
  }),
};

export const networkExposurePolicies: PlinthPolicy[] = [
  serviceNoNodePort,
  serviceNoExternalIps,
  containerNoHostPorts,
  onlyIngressControllerLoadBalancer,
  networkPolicyForEveryWorkload,
  networkPolicyNoAllowAllIngress,
];
