import * as policies from "../../policies/network-exposure.js";
import { describePolicy } from "./cases.js";

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
]);

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
]);
