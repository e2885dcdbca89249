/**
 * What both edges install the same way: a pinned chart in a namespace of its own whose pods admit
 * only the chart's own rules, and the ACME ClusterIssuer (cert-manager) that signs every host's
 * certificate, whose HTTP-01 solver is the one thing that differs between the Gateway and Ingress.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { pinnedRelease, type PinnedChart } from "./helm.js";
import { podSecurityNamespace } from "./namespace.js";
import { chartNamespacePolicies, type ChartPods } from "./network-policy.js";

/** A pinned chart in its own namespace, whose pods admit only `chart.pods`' rules; installed after `after`. */
export function chartInOwnNamespace(
  name: string,
  namespace: string,
  podSecurity: "baseline" | "restricted",
  labels: Record<string, string>,
  child: pulumi.CustomResourceOptions,
  chart: { pin: PinnedChart; values: Record<string, unknown>; pods: ChartPods[] },
  after: readonly pulumi.Resource[] = [],
): pulumi.Resource {
  const created = podSecurityNamespace(`${name}-ns`, namespace, podSecurity, child);
  chartNamespacePolicies(name, namespace, chart.pods, labels, { ...child, dependsOn: [created] });
  return pinnedRelease(name, chart.pin, namespace, chart.values, {
    ...child,
    dependsOn: [created, ...after],
  });
}

/** A cluster's own cert-manager, reused by either edge; its `clusterIssuer` is used as it is. */
export interface CertManagerReuse {
  readonly clusterIssuer?: string;
}

export interface AcmeIssuerArgs {
  readonly acme: { readonly email: string; readonly server: string };
  /** cert-manager is the cluster's own: the issuer then takes a name no one else uses. */
  readonly certManagerReused: boolean;
  /** The HTTP-01 solver: through an Ingress class or a Gateway listener. */
  readonly http01: Record<string, unknown>;
  readonly labels: Record<string, string>;
}

/** The ACME ClusterIssuer plinth writes (Let's Encrypt); its name. */
export function acmeClusterIssuer(
  name: string,
  args: AcmeIssuerArgs,
  opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: "cert-manager.io/v1",
      kind: "ClusterIssuer",
      // On a cluster with its own cert-manager, "letsencrypt" may well exist already: plinth's own
      // issuer then gets a name no one else uses, so it never adopts or deletes theirs.
      metadata: { name: args.certManagerReused ? "plinth-letsencrypt" : "letsencrypt", labels: args.labels },
      spec: {
        acme: {
          email: args.acme.email,
          server: args.acme.server,
          privateKeySecretRef: { name: "letsencrypt-account-key" },
          solvers: [{ http01: args.http01 }],
        },
      },
    },
    opts,
  ).metadata.name;
}
