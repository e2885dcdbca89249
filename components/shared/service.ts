/**
 * The in-cluster Service in front of a workload's pods: ClusterIP (never a node port or a load
 * balancer; only the ingress controller's chart publishes one), one named TCP port mapped to the
 * container port of the same name.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export interface ClusterServiceArgs {
  readonly name: string;
  readonly namespace: pulumi.Input<string>;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  /** The port's name, also the container port it targets, and its number on the Service. */
  readonly port: { readonly name: string; readonly number: number };
}

export function clusterService(
  resourceName: string,
  args: ClusterServiceArgs,
  opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Service {
  return new k8s.core.v1.Service(
    resourceName,
    {
      metadata: { name: args.name, namespace: args.namespace, labels: args.labels },
      spec: {
        type: "ClusterIP",
        selector: args.selector,
        ports: [
          { name: args.port.name, port: args.port.number, targetPort: args.port.name, protocol: "TCP" },
        ],
      },
    },
    opts,
  );
}
