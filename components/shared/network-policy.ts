/**
 * NetworkPolicies: each plinth workload admits traffic only from the peers named here, port by
 * port; everything else is denied because the policy selects the pods for Ingress. A namespace
 * holding a third-party chart also gets a policy denying ingress to every pod in it, so a pod the
 * chart adds in a later version is isolated until a rule here admits someone to it.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** Pods in another namespace, by namespace name and pod labels. */
export interface Peer {
  readonly namespace: string;
  readonly podLabels: Record<string, string>;
}

/** Addresses outside the pod network, by CIDR: the internet, or where the API server calls webhooks from. */
export interface CidrPeer {
  readonly cidr: string;
}

/** Every pod of the cluster, in any namespace. */
export interface EveryPod {
  readonly everyPod: true;
}

export type Source = Peer | CidrPeer | EveryPod;

export interface PortRule {
  readonly port: number;
  readonly from: readonly Source[];
}

/**
 * Whether a metrics port is opened to `scrapers` at all: the one test behind both its rule
 * (scrapeRule) and its PodMonitor (edge.ts scrapedBy), so neither exists without the other.
 */
export function admitsScrapers(scrapers: readonly Peer[] | undefined): scrapers is readonly Peer[] {
  return (scrapers ?? []).length > 0;
}

/**
 * A metrics port's rule: `scrapers` (Prometheus) alone, or no rule at all when there are none (a
 * rule with an empty `from` would admit everyone).
 */
export function scrapeRule(port: number, scrapers: readonly Peer[] = []): PortRule[] {
  return admitsScrapers(scrapers) ? [{ port, from: scrapers }] : [];
}

/**
 * Every client of a public port: any IPv4 address, and any pod. Both are needed: under Cilium
 * (GKE Dataplane V2) an ipBlock never matches a pod, and in-cluster clients of a public host (cert-
 * manager's HTTP-01 self-check) reach the controller from their pod address when the dataplane
 * short-circuits the load balancer's IP. Only the edge controller's public ports admit them.
 */
export const ANYONE: readonly Source[] = [{ cidr: "0.0.0.0/0" }, { everyPod: true }];

export function peerSelector(peer: Source) {
  if ("cidr" in peer) return { ipBlock: { cidr: peer.cidr } };
  if ("everyPod" in peer) return { namespaceSelector: {} };
  return {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": peer.namespace } },
    podSelector: { matchLabels: peer.podLabels },
  };
}

/** A policy on `podLabels` pods in `namespace` admitting only `rules`; egress is left open (DNS, registry, cloud APIs). */
export function ingressOnlyFrom(
  name: string,
  namespace: pulumi.Input<string>,
  podLabels: Record<string, string>,
  labels: Record<string, string>,
  rules: readonly PortRule[],
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy {
  return new k8s.networking.v1.NetworkPolicy(
    name,
    {
      metadata: { name, namespace, labels },
      spec: {
        podSelector: { matchLabels: podLabels },
        policyTypes: ["Ingress"],
        ingress: rules.map((rule) => ({
          from: rule.from.map(peerSelector),
          ports: [{ protocol: "TCP", port: rule.port }],
        })),
      },
    },
    opts,
  );
}

/** Pods a chart runs that take connections: who may reach which port. */
export interface ChartPods {
  /** Names the pods' NetworkPolicy: `<prefix>-<name>-netpol`. */
  readonly name: string;
  readonly podLabels: Record<string, string>;
  readonly rules: readonly PortRule[];
}

/**
 * A chart's namespace: one policy denying ingress to every pod in it (node-exporter and other
 * hostNetwork pods are outside NetworkPolicy altogether), then one per pod kind in `pods`
 * admitting only its rules.
 */
export function chartNamespacePolicies(
  prefix: string,
  namespace: string,
  pods: readonly ChartPods[],
  labels: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy[] {
  const denyName = `${prefix}-deny-ingress-netpol`;
  const deny = new k8s.networking.v1.NetworkPolicy(
    denyName,
    {
      metadata: { name: denyName, namespace, labels },
      spec: { podSelector: {}, policyTypes: ["Ingress"] },
    },
    opts,
  );
  return [
    deny,
    ...pods.map((pod) =>
      ingressOnlyFrom(`${prefix}-${pod.name}-netpol`, namespace, pod.podLabels, labels, pod.rules, opts),
    ),
  ];
}
