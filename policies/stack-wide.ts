/**
 * Stack-wide invariants: rules about the resource graph rather than one resource's fields — stateful
 * resources protected from deletion (production), custom resources (cert-manager's, the Prometheus
 * operator's, the Gateway API's and Traefik's) ordered after their CRDs.
 */
import { CRDS_FROM_CLUSTER_ANNOTATION } from "../components/shared/labels.js";
import type { PolicyResource } from "@pulumi/policy";
import { bareChartName, chartObjectsChecked, isHelmChart } from "./lib/helm-charts.js";
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
    covers: `Stack-wide, when required is true: every resource whose type is exactly one of statefulTypes (by default ${protectConfig.properties.statefulTypes.default.join(", ")}) must carry Pulumi's protect option.`,
    limits:
      "Types are matched exactly: other versions (apps/v1beta2 StatefulSet), PersistentVolumes, data stores missing from statefulTypes (DynamoDB, BigQuery, Filestore) and the PersistentVolumeClaims a StatefulSet's volumeClaimTemplates create in the cluster are not judged. protect stops only Pulumi: deletion through the cloud console, a cloud API or kubectl is not prevented (RDS and Cloud SQL have deletion-protection rules of their own).",
    charts: `${chartObjectsChecked("StatefulSets and PersistentVolumeClaims")} A helm.sh/v3 Release is not itself a stateful type.`,
    chartReach: "objects",
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

/**
 * The Helm charts that install each API group's CRDs, by chart name: a custom resource of one of these
 * groups must come after an installation of one of its charts. A group in crdGroups that is missing
 * here accepts any chart installation.
 */
export const CRD_INSTALLING_CHARTS: Readonly<Record<string, readonly string[]>> = {
  "cert-manager.io": ["cert-manager"],
  "acme.cert-manager.io": ["cert-manager"],
  "monitoring.coreos.com": ["kube-prometheus-stack", "prometheus-operator-crds"],
  // The Gateway path: Traefik's chart installs its Middleware CRDs and the Gateway API's (standard
  // channel) before the Gateway, its routes and middlewares can be created.
  "gateway.networking.k8s.io": ["traefik", "traefik-crds"],
  "traefik.io": ["traefik", "traefik-crds"],
};

/** For the catalog: {@link CRD_INSTALLING_CHARTS}, as a sentence. */
const CRD_CHARTS_FOR_CATALOG = Object.entries(CRD_INSTALLING_CHARTS)
  .map(([group, charts]) => `${group}: ${charts.join(" or ")}`)
  .join("; ");

const crdConfig = {
  properties: {
    crdGroups: {
      type: "array" as const,
      items: { type: "string" as const },
      description: "API groups whose CRDs are installed by a Helm release in the same stack.",
      default: Object.keys(CRD_INSTALLING_CHARTS),
    },
  },
};

/** Whether chart installation `installer` installs `group`'s CRDs: one of its charts, or any chart for a group not in the table. */
function installsCrdsOf(installer: PolicyResource, group: string): boolean {
  if (!isHelmChart(installer.type)) return false;
  const charts = CRD_INSTALLING_CHARTS[group];
  return charts === undefined || charts.includes(bareChartName(installer.props.chart));
}

/** A helm.sh/v3 or v4 Chart (not a Release): it registers the objects it renders as its children. */
function isChartComponent(type: string): boolean {
  return isHelmChart(type) && type.endsWith(":Chart");
}

/** `resource`'s parent, its parent's parent, and so on. */
function ancestors(resource: PolicyResource): PolicyResource[] {
  const found: PolicyResource[] = [];
  for (let next = resource.parent; next && !found.includes(next); next = next.parent) found.push(next);
  return found;
}

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
    "Custom resources (ClusterIssuer, ServiceMonitor, PrometheusRule, Gateway, HTTPRoute, Middleware, ...) depend on the Helm release that installs their CRDs.",
  enforcementLevel: "mandatory",
  severity: "low",
  configSchema: crdConfig,
  metadata: {
    protectsAgainst:
      "A first `pulumi up` on a fresh cluster failing (or a ClusterIssuer never being created) because the CRD did not exist yet.",
    answers: ["anti-pattern: custom resources racing their CRDs"],
    configured: `crdGroups (default ${crdConfig.properties.crdGroups.default.join(", ")}); a resource annotated ${CRDS_FROM_CLUSTER_ANNOTATION}: cluster (plinth writes it when plinth:existingCluster reuses the cluster's operator) is exempt`,
    covers: `Stack-wide: every Kubernetes resource (\`kubernetes:<group>/...\`) whose API group is in crdGroups, patches included, must have an installation (helm.sh Release or Chart) of a chart that installs that group's CRDs among its direct or indirect dependencies, or such a helm.sh/v3 or v4 Chart among its ancestors (parent, parent's parent, ...), unless annotated ${CRDS_FROM_CLUSTER_ANNOTATION}: cluster. The charts per group: ${CRD_CHARTS_FOR_CATALOG}; a chart is named by its chart input's last path component, less a .tgz archive's version.`,
    limits:
      "A group in crdGroups with no entry in that table accepts any Helm chart installation. The installation's values are not read, so one that turns its CRDs off (cert-manager with crds.enabled false, its default; skipCrds) still counts, and CRDs applied as CustomResourceDefinition resources (from YAML, not a chart) do not count. An ancestor's own dependencies are not followed, since a Chart does not pass its dependsOn to the objects it renders.",
    charts:
      "helm.sh/v3 Release: the custom resources it renders are applied by Helm and not seen; the Release counts as an installation to depend on. helm.sh/v3 and v4 Chart: each custom resource it renders is checked like any other, and passes when the Chart (its parent or another ancestor) installs that group's CRDs, as a Chart orders its own objects; the Chart counts as an installation to depend on.",
    chartReach: "objects",
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
      const afterInstaller = [...dependencyClosure(resource)].some((d) => installsCrdsOf(d, group));
      // A Chart applies its own CRDs before the custom resources it renders (its children).
      const renderedByInstaller = ancestors(resource).some(
        (a) => isChartComponent(a.type) && installsCrdsOf(a, group),
      );
      if (!afterInstaller && !renderedByInstaller) {
        const charts = CRD_INSTALLING_CHARTS[group];
        const which = charts ? ` (chart ${charts.join(" or ")})` : "";
        report(
          `${resource.type} "${resource.name}" does not depend on the Helm release installing its CRD${which}. Pass { dependsOn: [<that helm.v3.Release or helm.v4.Chart>] } in its resource options.`,
          resource.urn,
        );
      }
    }
  },
};

export const stackWidePolicies: PlinthPolicy[] = [statefulResourcesProtected, customResourcesAfterCrds];
