/**
 * Moving a deployed stack from the Ingress path (`plinth:edge: ingress-nginx`) to the Gateway path
 * (the default) replaces the edge and nothing else (issue #23, docs/edge.md): the same stack file
 * rendered both ways differs only in the edge's own resources, the edge peer of the NetworkPolicies,
 * and cert-manager's Gateway API support and solver. No workload, Secret, volume or cloud resource
 * of plinth's is created, deleted or changed.
 */
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { renderStack } from "../../infra/render/index.js";
import type { Cloud, StackName } from "../../infra/render/types.js";
import { EDGE_PROXY_PEER, INGRESS_CONTROLLER_PEER, stackDiff } from "../support/stack.js";

/** What the move does to a stack: resources only before, only after, and both with other inputs. */
async function migration(stack: StackName, cloud: Cloud) {
  const [before, after] = await Promise.all([
    renderStack({ stack, cloud, config: { edge: "ingress-nginx" } }),
    renderStack({ stack, cloud }),
  ]);
  return stackDiff(before, after);
}

/** The edge's resources on each path (the component is named `ingress` on both: its children keep their names). */
const INGRESS_EDGE = [
  /^kubernetes:networking\.k8s\.io\/v1:Ingress::/,
  /^plinth:ingress-tls:IngressTls::ingress$/,
  /^kubernetes:helm\.sh\/v3:Release::ingress-nginx$/,
  /^kubernetes:core\/v1:Namespace::ingress-nginx-ns$/,
  /^kubernetes:networking\.k8s\.io\/v1:NetworkPolicy::ingress-nginx-/,
];
const GATEWAY_EDGE = [
  /^plinth:gateway:GatewayEdge::ingress$/,
  /^kubernetes:gateway\.networking\.k8s\.io\/v1:(Gateway|GatewayClass|HTTPRoute)::/,
  /^kubernetes:traefik\.io\/v1alpha1:Middleware::/,
  /^kubernetes:helm\.sh\/v3:Release::ingress-traefik$/,
  /^kubernetes:core\/v1:Namespace::ingress(-traefik)?-ns$/,
  /^kubernetes:networking\.k8s\.io\/v1:NetworkPolicy::ingress-(traefik-|acme-solver|deny-ingress)/,
  // The edge's monitoring, written by Monitoring beside the inference ServiceMonitor: Traefik's
  // PodMonitor and its alerts (none for ingress-nginx, whose metrics were never scraped).
  /^kubernetes:monitoring\.coreos\.com\/v1:(PodMonitor|PrometheusRule)::monitoring-edge-(pod-monitor|rules)$/,
];
const only = (keys: string[], patterns: RegExp[]) =>
  keys.filter((k) => !patterns.some((pattern) => pattern.test(k)));

/** `value` with every ingress-nginx peer replaced by Traefik's (whatever the key order). */
function swapPeer(value: unknown): unknown {
  if (isDeepStrictEqual(value, INGRESS_CONTROLLER_PEER)) return EDGE_PROXY_PEER;
  if (Array.isArray(value)) return value.map(swapPeer);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, swapPeer(v)]));
  }
  return value;
}

const CASES: [StackName, Cloud][] = [
  ["production", "aws"],
  ["staging", "gcp"],
  ["staging", "existing"],
];

describe.each(CASES)("%s on %s moving from ingress-nginx to the Gateway", (stack, cloud) => {
  it("deletes the ingress-nginx edge and its Ingresses, creates the Gateway edge, and touches nothing else", async () => {
    const { deleted, created, updated, was, is } = await migration(stack, cloud);
    expect(only(deleted, INGRESS_EDGE)).toEqual([]);
    expect(only(created, GATEWAY_EDGE)).toEqual([]);
    // Every route moves: one HTTPRoute for each Ingress, same name.
    const names = (keys: string[], type: string) =>
      keys.filter((k) => k.startsWith(`${type}::`)).map((k) => k.split("::")[1]);
    expect(names(created, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").sort()).toEqual(
      [...names(deleted, "kubernetes:networking.k8s.io/v1:Ingress"), "ingress-https-redirect"].sort(),
    );
    // Updated in place: cert-manager (Gateway API support), its issuer (the Gateway solver) and the
    // NetworkPolicies that admitted ingress-nginx's pods, which now admit Traefik's and nothing else.
    const policies = updated.filter((k) => k.startsWith("kubernetes:networking.k8s.io/v1:NetworkPolicy::"));
    expect(updated.filter((k) => !policies.includes(k))).toEqual([
      "kubernetes:cert-manager.io/v1:ClusterIssuer::ingress-issuer",
      "kubernetes:helm.sh/v3:Release::ingress-cert-manager",
    ]);
    expect(policies.length).toBeGreaterThanOrEqual(4);
    for (const policy of policies) {
      expect(swapPeer(was.get(policy)!.inputs), policy).toEqual(is.get(policy)!.inputs);
    }
  });

  it("keeps every workload, Secret, volume and cloud resource byte for byte", async () => {
    const { deleted, created, updated } = await migration(stack, cloud);
    const kept =
      /:(Deployment|StatefulSet|Secret|PersistentVolumeClaim|Service|HorizontalPodAutoscaler|PodDisruptionBudget|CronJob|ConfigMap)::|^(aws|gcp|random):/;
    expect([...deleted, ...created, ...updated].filter((k) => kept.test(k))).toEqual([]);
  });
});
