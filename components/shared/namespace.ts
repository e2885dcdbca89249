/**
 * Namespaces with Pod Security Admission labels: plinth's own namespaces enforce `restricted`;
 * third-party charts that need host access (node-exporter) get exactly the level they need.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export type PodSecurityLevel = "restricted" | "baseline" | "privileged";

export function podSecurityNamespace(
  name: string,
  namespace: string,
  level: PodSecurityLevel,
  opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Namespace {
  return new k8s.core.v1.Namespace(
    name,
    {
      metadata: {
        name: namespace,
        labels: {
          "app.kubernetes.io/part-of": "plinth",
          "app.kubernetes.io/managed-by": "pulumi",
          "pod-security.kubernetes.io/enforce": level,
          "pod-security.kubernetes.io/audit": "restricted",
          "pod-security.kubernetes.io/warn": "restricted",
        },
      },
    },
    opts,
  );
}
