/**
 * Kubeconfigs for managed clusters. They hold no credential: kubectl (and the Kubernetes provider)
 * obtain short-lived tokens through the cloud's CLI plugin, so only the endpoint and CA are embedded.
 * They are still exported as secrets, as every kubeconfig is.
 */
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";

function kubeconfig(cluster: string, server: string, caData: string, user: Record<string, unknown>): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster, cluster: { server, "certificate-authority-data": caData } }],
    users: [{ name: cluster, user }],
    contexts: [{ name: cluster, context: { cluster, user: cluster } }],
    "current-context": cluster,
  });
}

export function eksKubeconfig(
  clusterName: pulumi.Input<string>,
  endpoint: pulumi.Input<string>,
  caData: pulumi.Input<string>,
  region: string,
): pulumi.Output<string> {
  const text = pulumi.all([clusterName, endpoint, caData]).apply(([name, server, ca]) =>
    kubeconfig(name, server, ca, {
      exec: {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command: "aws",
        args: ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"],
      },
    }),
  );
  return pulumi.secret(text);
}

export function gkeKubeconfig(
  clusterName: pulumi.Input<string>,
  endpoint: pulumi.Input<string>,
  caData: pulumi.Input<string>,
): pulumi.Output<string> {
  const text = pulumi.all([clusterName, endpoint, caData]).apply(([name, host, ca]) =>
    kubeconfig(name, `https://${host}`, ca, {
      exec: {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command: "gke-gcloud-auth-plugin",
        provideClusterInfo: true,
        installHint: "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
      },
    }),
  );
  return pulumi.secret(text);
}
