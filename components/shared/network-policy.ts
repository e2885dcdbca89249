/**
 * NetworkPolicies: each plinth workload admits traffic only from the peers named here, port by
 * port; everything else is denied because the policy selects the pods for Ingress.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** Pods in another namespace, by namespace name and pod labels. */
export interface Peer {
  readonly namespace: string;
  readonly podLabels: Record<string, string>;
}

export interface PortRule {
  readonly port: number;
  readonly from: readonly Peer[];
}

export function peerSelector(peer: Peer) {
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
