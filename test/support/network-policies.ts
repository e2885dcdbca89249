/**
 * What a set of rendered NetworkPolicies lets through, by the API's semantics: a pod selected by
 * no Ingress policy of its namespace admits everything; a selected pod admits a connection when
 * some selecting policy has a rule whose ports and peers both match. Written independently of the
 * components (it reads the rendered objects only), and strict: a selector shape it does not model
 * throws rather than guessing, so a test can never pass on a misread.
 *
 * Where ipBlocks apply differs by CNI: Calico and the AWS VPC CNI match a pod's address against
 * them ("ipblock-matches-pods"); Cilium (GKE Dataplane V2) never does, since its CIDR rules skip
 * traffic between endpoints it manages ("cilium").
 */
import type { KubernetesObject } from "../../infra/render/objects.js";
import { at } from "./stack.js";

type Labels = Readonly<Record<string, string>>;

/** A pod that takes connections, on one port. */
export interface Destination {
  readonly namespace: string;
  readonly podLabels: Labels;
  readonly port: number;
}

/** Where a connection comes from: a pod (with its address, when ipBlocks must be judged) or an address outside the pod network. */
export type Semantics = "ipblock-matches-pods" | "cilium";

export type Origin =
  { readonly namespace: string; readonly podLabels: Labels; readonly ip?: string } | { readonly ip: string };

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: unknown[];
}
interface PolicyPeer {
  namespaceSelector?: Selector;
  podSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyRule {
  from?: PolicyPeer[];
  ports?: { port?: number | string; endPort?: number; protocol?: string }[];
}

function matches(selector: Selector, labels: Labels): boolean {
  if ((selector.matchExpressions ?? []).length > 0) {
    throw new Error(
      `network-policies oracle: matchExpressions are not modelled (${JSON.stringify(selector)})`,
    );
  }
  return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

function toInt(ip: string): number {
  const octets = ip.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new Error(`network-policies oracle: not an IPv4 address: ${ip}`);
  }
  return octets.reduce((value, octet) => value * 256 + octet, 0);
}

export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const prefix = Number(bits);
  if (cidr.includes(":")) return false; // IPv6 blocks never hold an IPv4 address
  const size = 2 ** (32 - prefix);
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base!) / size);
}

function peerAdmits(
  peer: PolicyPeer,
  policyNamespace: string,
  origin: Origin,
  semantics: Semantics,
): boolean {
  if (peer.ipBlock) {
    if (origin.ip === undefined || ("namespace" in origin && semantics === "cilium")) return false;
    return (
      inCidr(origin.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(origin.ip!, c))
    );
  }
  if (!("namespace" in origin)) return false; // selectors name pods, never outside addresses
  const namespaceOk =
    peer.namespaceSelector === undefined
      ? origin.namespace === policyNamespace
      : matches(peer.namespaceSelector, { "kubernetes.io/metadata.name": origin.namespace });
  return namespaceOk && (peer.podSelector === undefined || matches(peer.podSelector, origin.podLabels));
}

function portAdmits(rule: PolicyRule, port: number): boolean {
  if (rule.ports === undefined || rule.ports.length === 0) return true;
  return rule.ports.some((p) => {
    if ((p.protocol ?? "TCP") !== "TCP") return false;
    if (p.port === undefined) return true;
    if (typeof p.port === "string")
      throw new Error(`network-policies oracle: named port ${p.port} not modelled`);
    return p.endPort === undefined ? p.port === port : p.port <= port && port <= p.endPort;
  });
}

/** The Ingress NetworkPolicies of `destination`'s namespace that select its pods. */
export function policiesSelecting(manifests: KubernetesObject[], destination: Omit<Destination, "port">) {
  return manifests.filter(
    (o) =>
      o.kind === "NetworkPolicy" &&
      o.metadata.namespace === destination.namespace &&
      ((at(o, "spec.policyTypes") as string[] | undefined) ?? ["Ingress"]).includes("Ingress") &&
      matches((at(o, "spec.podSelector") as Selector | undefined) ?? {}, destination.podLabels),
  );
}

/** Whether the policies let `origin` open a TCP connection to `destination`. */
export function admits(
  manifests: KubernetesObject[],
  origin: Origin,
  destination: Destination,
  semantics: Semantics = "ipblock-matches-pods",
): boolean {
  const selecting = policiesSelecting(manifests, destination);
  if (selecting.length === 0) return true; // not isolated
  return selecting.some((policy) =>
    ((at(policy, "spec.ingress") as PolicyRule[] | undefined) ?? []).some(
      (rule) =>
        portAdmits(rule, destination.port) &&
        (rule.from === undefined ||
          rule.from.length === 0 ||
          rule.from.some((peer) => peerAdmits(peer, policy.metadata.namespace!, origin, semantics))),
    ),
  );
}
