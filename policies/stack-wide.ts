/**
 * Stack-wide invariants: rules about the resource graph rather than one resource's fields — stateful
 * resources protected from deletion (production), custom resources ordered after their CRDs.
 */
import { CRDS_FROM_CLUSTER_ANNOTATION } from "../components/shared/labels.js";
import type { PolicyResource } from "@pulumi/policy";
import { isHelmChart } from "./lib/helm-charts.js";
import { configOf } from "./lib/policy.js";
import type { PlinthPolicy, PlinthStackPolicy } from "./lib/policy.js";

const protectConfig = {
  properties: {
    required: {
      type: "boolean" as const,
      default: true,
      description: "Require `protect`; false only for disposable (staging) stacks.",
    },
    statefulTypes: {
      type: "array" as const,
      items: { type: "string" as const },
      description: "Resource types that hold data which cannot be recreated.",
      default: [
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:kms/key:Key",
        "aws:ebs/volume:Volume",
        "aws:efs/fileSystem:FileSystem",
        "gcp:sql/databaseInstance:DatabaseInstance",
        "gcp:storage/bucket:Bucket",
        "gcp:kms/cryptoKey:CryptoKey",
        "gcp:compute/disk:Disk",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:core/v1:PersistentVolumeClaim",
      ],
    },
  },
};

export const statefulResourcesProtected: PlinthStackPolicy = {
  name: "stateful-resources-protected",
  description:
    "Databases, buckets, encryption keys and volumes carry Pulumi's `protect` option (required in production via pack config).",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: protectConfig,
  metadata: {
    protectsAgainst:
      "A rename, a refactor that changes a URN, or `pulumi destroy` deleting the model registry, artifacts or the key that decrypts them.",
    answers: [
      "Pulumi documentation: the protect resource option",
      "anti-pattern: deletable production data stores",
    ],
    configured: "required (true by default, false in policies/config/staging.json), statefulTypes",
  },
  validateStack: (args, report) => {
    const { required, statefulTypes } = configOf<{ required: boolean; statefulTypes: string[] }>(
      protectConfig,
      args,
    );
    if (!required) return;
    for (const resource of args.resources) {
      if (statefulTypes.includes(resource.type) && !resource.opts.protect) {
        report(
          `${resource.type} "${resource.name}" is not protected. Pass { protect: true } in its resource options (the plinth:protect stack setting).`,
          resource.urn,
        );
      }
    }
  },
};

const crdConfig = {
  properties: {
    crdGroups: {
      type: "array" as const,
      items: { type: "string" as const },
      description: "API groups whose CRDs are installed by a Helm release in the same stack.",
      default: ["cert-manager.io", "monitoring.coreos.com"],
    },
  },
};

/** Every resource `resource` waits for, directly or through its dependencies. */
function dependencyClosure(resource: PolicyResource): Set<PolicyResource> {
  const seen = new Set<PolicyResource>();
  const pending = [...resource.dependencies];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    pending.push(...next.dependencies);
  }
  return seen;
}

export const customResourcesAfterCrds: PlinthStackPolicy = {
  name: "custom-resources-after-crds",
  description:
    "Custom resources (ClusterIssuer, ServiceMonitor, PrometheusRule, ...) depend on the Helm release that installs their CRDs.",
  enforcementLevel: "mandatory",
  severity: "low",
  configSchema: crdConfig,
  metadata: {
    protectsAgainst:
      "A first `pulumi up` on a fresh cluster failing (or a ClusterIssuer never being created) because the CRD did not exist yet.",
    answers: ["anti-pattern: custom resources racing their CRDs"],
    configured: `crdGroups (default cert-manager.io, monitoring.coreos.com); a resource annotated ${CRDS_FROM_CLUSTER_ANNOTATION}: cluster (plinth writes it when plinth:existingCluster reuses the cluster's operator) is exempt`,
  },
  validateStack: (args, report) => {
    const { crdGroups } = configOf<{ crdGroups: string[] }>(crdConfig, args);
    for (const resource of args.resources) {
      const group = /^kubernetes:([^/]+)\//.exec(resource.type)?.[1];
      if (!group || !crdGroups.includes(group)) continue;
      const annotations = (resource.props as { metadata?: { annotations?: Record<string, unknown> } })
        .metadata?.annotations;
      if (annotations?.[CRDS_FROM_CLUSTER_ANNOTATION] === "cluster") continue;
      // A helm.sh/v4 Chart (or v3 Chart) orders what depends on it after all of its objects, its
      // CRDs included, as a v3 Release does.
      const afterRelease = [...dependencyClosure(resource)].some((d) => isHelmChart(d.type));
      if (!afterRelease) {
        report(
          `${resource.type} "${resource.name}" does not depend on the Helm release installing its CRD. Pass { dependsOn: [<that helm.v3.Release or helm.v4.Chart>] } in its resource options.`,
          resource.urn,
        );
      }
    }
  },
};

export const stackWidePolicies: PlinthPolicy[] = [statefulResourcesProtected, customResourcesAfterCrds];
