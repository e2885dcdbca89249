/**
 * GCP: the MLflow artifact bucket (GCS), its Postgres (Cloud SQL), the rate-limit store
 * (Memorystore), the GKE cluster and service account keys.
 */
import * as gcp from "@pulumi/gcp";
import { validateResourceOfType } from "@pulumi/policy";
import { deletionProtectionConfig } from "./aws.js";
import { CLOUD_RESOURCES_ONLY } from "./lib/helm-charts.js";
import { configOf } from "./lib/policy.js";
import type { PlinthPolicy, PlinthResourcePolicy } from "./lib/policy.js";

const CIS_GCP = "CIS Google Cloud Platform Foundation Benchmark";
const CIS_GKE = "CIS Google Kubernetes Engine (GKE) Benchmark";
/** For the catalog: the resources the Cloud SQL and GKE rules read, and what the GKE rules do not. */
const CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance";
const GKE_CLUSTER = "gcp:container/cluster:Cluster";
const GKE_NODE_POOLS_NOT_READ =
  "Node pools are read neither in the cluster's nodePools nor as gcp:container/nodePool:NodePool resources.";

export const gcsUniformAccess: PlinthResourcePolicy = {
  name: "gcs-uniform-bucket-level-access",
  description: "GCS buckets use uniform bucket-level access (IAM only, no object ACLs).",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst: "Individual objects made public or shared through ACLs that IAM reviews never see.",
    answers: [`${CIS_GCP} (Cloud Storage: uniform bucket-level access)`],
    covers: "gcp:storage/bucket:Bucket: uniformBucketLevelAccess must be true.",
    limits:
      "An organisation policy that enforces uniform access is not seen, so a bucket that relies on it is reported. ACL resources (gcp:storage/bucketACL, objectACL) are not read.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(gcp.storage.Bucket, (bucket, args, report) => {
    if (bucket.uniformBucketLevelAccess !== true)
      report(
        `GCS bucket "${bucket.name ?? args.name}" allows object ACLs. Set uniformBucketLevelAccess to true.`,
      );
  }),
};

export const gcsPublicAccessPrevention: PlinthResourcePolicy = {
  name: "gcs-public-access-prevention",
  description: "GCS buckets enforce public access prevention.",
  enforcementLevel: "mandatory",
  severity: "critical",
  metadata: {
    protectsAgainst:
      "An allUsers / allAuthenticatedUsers grant, added later by anyone, publishing model artifacts or data.",
    answers: [`${CIS_GCP} (Cloud Storage: buckets not anonymously or publicly accessible)`],
    covers:
      'gcp:storage/bucket:Bucket: publicAccessPrevention must be "enforced"; "inherited" (the default, which follows the organisation policy) is reported.',
    limits:
      "Bucket IAM bindings (allUsers, allAuthenticatedUsers) are not read: the rule relies on enforced prevention refusing them. An organisation policy that enforces prevention is not seen.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(gcp.storage.Bucket, (bucket, args, report) => {
    if (bucket.publicAccessPrevention !== "enforced") {
      report(
        `GCS bucket "${bucket.name ?? args.name}" does not prevent public access. Set publicAccessPrevention to "enforced".`,
      );
    }
  }),
};

function sqlLabel(props: { name?: string }, name: string): string {
  return `Cloud SQL instance "${props.name ?? name}"`;
}

export const cloudSqlPrivateIp: PlinthResourcePolicy = {
  name: "cloudsql-private-ip",
  description: "Cloud SQL instances have a private IP on the VPC and no public IPv4 address.",
  enforcementLevel: "mandatory",
  severity: "critical",
  metadata: {
    protectsAgainst: "The database answering on a public address, one weak password away from the internet.",
    answers: [`${CIS_GCP} (Cloud SQL: no public IPs)`],
    covers: `${CLOUD_SQL}, read replicas included: settings.ipConfiguration.ipv4Enabled must be false (unset counts as true, as the API defaults it) and settings.ipConfiguration.privateNetwork must be set.`,
    limits:
      "An instance reached only through Private Service Connect (pscConfig) has no privateNetwork and is reported. authorizedNetworks and the SSL mode are not judged.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(gcp.sql.DatabaseInstance, (db, args, report) => {
    const ip = db.settings?.ipConfiguration;
    if (ip?.ipv4Enabled !== false)
      report(
        `${sqlLabel(db, args.name)} has a public IPv4 address. Set settings.ipConfiguration.ipv4Enabled to false.`,
      );
    if (!ip?.privateNetwork)
      report(
        `${sqlLabel(db, args.name)} has no private IP. Set settings.ipConfiguration.privateNetwork to the VPC's self link.`,
      );
  }),
};

/** A Cloud SQL read replica: an instance that names the primary it replicates. */
function isReadReplica(db: { masterInstanceName?: unknown }): boolean {
  return typeof db.masterInstanceName === "string" && db.masterInstanceName !== "";
}

export const cloudSqlBackups: PlinthResourcePolicy = {
  name: "cloudsql-backups",
  description: "Cloud SQL instances take automated backups with point-in-time recovery.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Losing the model registry to a bad migration or deletion with no point-in-time recovery.",
    answers: [`${CIS_GCP} (Cloud SQL: automated backups)`],
    covers: `${CLOUD_SQL} that is not a read replica (masterInstanceName unset or empty): settings.backupConfiguration.enabled must be true, and binaryLogEnabled (databaseVersion MYSQL_*) or else pointInTimeRecoveryEnabled (PostgreSQL, SQL Server) must be true.`,
    limits:
      "Read replicas (masterInstanceName set) are exempt, as Cloud SQL backs up only their primary; the primary is judged only when it is declared in the stack, and an instance counts as a replica on masterInstanceName alone. Retention (backupRetentionSettings, transactionLogRetentionDays) and backup location are not judged.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(gcp.sql.DatabaseInstance, (db, args, report) => {
    // A read replica has no backups or transaction logs of its own: its primary's protect it.
    if (isReadReplica(db)) return;
    const backup = db.settings?.backupConfiguration;
    if (backup?.enabled !== true)
      report(
        `${sqlLabel(db, args.name)} takes no automated backups. Set settings.backupConfiguration.enabled to true.`,
      );
    // MySQL recovers to a point in time from its binary log; PostgreSQL and SQL Server from their
    // transaction logs, switched on by pointInTimeRecoveryEnabled.
    const mysql = String(db.databaseVersion ?? "")
      .toUpperCase()
      .startsWith("MYSQL");
    const field = mysql ? "binaryLogEnabled" : "pointInTimeRecoveryEnabled";
    if (backup?.[field] !== true) {
      report(
        `${sqlLabel(db, args.name)} has no point-in-time recovery. Set settings.backupConfiguration.${field} to true.`,
      );
    }
  }),
};

export const cloudSqlDeletionProtection: PlinthResourcePolicy = {
  name: "cloudsql-deletion-protection",
  description: "Cloud SQL instances have deletion protection (required in production via pack config).",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: deletionProtectionConfig,
  metadata: {
    protectsAgainst: "A refactor or `pulumi destroy` deleting the production database and its backups.",
    answers: [
      "Google Cloud documentation: prevent accidental deletion of Cloud SQL instances",
      "anti-pattern: deletable production databases",
    ],
    configured: "required: true by default, false in policies/config/staging.json",
    covers: `${CLOUD_SQL}, read replicas included, when required is true: deletionProtection (Pulumi's guard) must not be false, and settings.deletionProtectionEnabled (the Cloud SQL API's) must be true.`,
    limits:
      "Whether backups survive the instance (settings.retainBackupsOnDelete, finalBackupConfig) is not judged, and a stack whose pack config sets required to false is not checked at all.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(gcp.sql.DatabaseInstance, (db, args, report) => {
    if (!configOf<{ required: boolean }>(deletionProtectionConfig, args).required) return;
    if (db.deletionProtection === false)
      report(`${sqlLabel(db, args.name)} can be deleted by Pulumi. Set deletionProtection to true.`);
    if (db.settings?.deletionProtectionEnabled !== true) {
      report(
        `${sqlLabel(db, args.name)} can be deleted through the Cloud SQL API. Set settings.deletionProtectionEnabled to true.`,
      );
    }
  }),
};

/** For the catalog: the Memorystore resource the cache rules read, and what they do not. */
const MEMORYSTORE = "gcp:redis/instance:Instance";
const MEMORYSTORE_NOT_READ =
  "Memorystore for Redis Cluster (gcp:redis/cluster:Cluster), Memorystore for Valkey (gcp:memorystore/instance:Instance) and Memcached are not read.";

function memorystoreLabel(props: { name?: string }, name: string): string {
  return `Memorystore instance "${props.name ?? name}"`;
}

export const memorystoreAuth: PlinthResourcePolicy = {
  name: "memorystore-auth",
  description: "Memorystore for Redis instances require clients to authenticate (Redis AUTH).",
  enforcementLevel: "mandatory",
  severity: "critical",
  metadata: {
    protectsAgainst:
      "Any pod or VM on the VPC reading, resetting or flooding the shared counters (lifting every client's rate limit) with no credential at all.",
    answers: [
      "Google Cloud documentation: Memorystore for Redis AUTH",
      "anti-pattern: Redis without a password",
    ],
    covers: `${MEMORYSTORE}: authEnabled must be true (unset is false, as the API defaults it).`,
    limits: `Who reads the AUTH string (the instance's authString output) is not judged, nor the network the instance is authorized on. ${MEMORYSTORE_NOT_READ}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(gcp.redis.Instance, (instance, args, report) => {
    if (instance.authEnabled !== true)
      report(
        `${memorystoreLabel(instance, args.name)} admits clients without a credential. Set authEnabled to true.`,
      );
  }),
};

export const memorystoreTransitEncryption: PlinthResourcePolicy = {
  name: "memorystore-transit-encryption",
  description: "Memorystore for Redis instances accept TLS connections only.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst: "The AUTH string and the cache's contents read off the VPC in plaintext.",
    answers: [
      "Google Cloud documentation: Memorystore for Redis in-transit encryption",
      "anti-pattern: plaintext Redis inside a VPC",
    ],
    covers: `${MEMORYSTORE}: transitEncryptionMode must be "SERVER_AUTHENTICATION" (unset is "DISABLED", as the API defaults it).`,
    limits: `Whether clients verify the server against the instance's serverCaCerts is not seen. Encryption at rest is Google's default and a customer-managed key (customerManagedKey) is not required. ${MEMORYSTORE_NOT_READ}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(gcp.redis.Instance, (instance, args, report) => {
    if (instance.transitEncryptionMode !== "SERVER_AUTHENTICATION")
      report(
        `${memorystoreLabel(instance, args.name)} accepts plaintext connections. Set transitEncryptionMode to "SERVER_AUTHENTICATION".`,
      );
  }),
};

/** Every GKE cluster check: the field to read, the fix, and what the finding says. */
/**
 * An Autopilot cluster: GKE always runs it with Workload Identity, Shielded GKE Nodes and Dataplane
 * V2 (NetworkPolicy enforcement), whatever those fields say.
 */
function autopilot(cluster: Record<string, unknown>): boolean {
  return cluster.enableAutopilot === true;
}

function gkePolicy(
  name: string,
  description: string,
  severity: PlinthResourcePolicy["severity"],
  metadata: PlinthResourcePolicy["metadata"],
  check: (cluster: gcp.container.ClusterArgs & Record<string, unknown>) => string | undefined,
): PlinthResourcePolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    severity,
    metadata,
    validateResource: validateResourceOfType(gcp.container.Cluster, (cluster, args, report) => {
      const finding = check(cluster as gcp.container.ClusterArgs & Record<string, unknown>);
      if (finding) report(`GKE cluster "${cluster.name ?? args.name}" ${finding}`);
    }),
  };
}

export const gkePrivateNodes = gkePolicy(
  "gke-private-nodes",
  "GKE nodes have private IPs only.",
  "high",
  {
    protectsAgainst: "Nodes (kubelet, NodePorts, SSH) reachable from the internet.",
    answers: [`${CIS_GKE} (private nodes)`, "NSA/CISA Kubernetes Hardening Guidance (network separation)"],
    covers: `${GKE_CLUSTER}: privateClusterConfig.enablePrivateNodes must be true, Autopilot clusters included.`,
    limits: `A node pool's networkConfig.enablePrivateNodes is not read, so a pool that turns public IPs back on passes. ${GKE_NODE_POOLS_NOT_READ}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  (c) => {
    const config = c.privateClusterConfig as { enablePrivateNodes?: boolean } | undefined;
    return config?.enablePrivateNodes === true
      ? undefined
      : "has nodes with public IPs. Set privateClusterConfig.enablePrivateNodes to true.";
  },
);

export const gkeWorkloadIdentity = gkePolicy(
  "gke-workload-identity",
  "GKE clusters enable Workload Identity.",
  "high",
  {
    protectsAgainst:
      "Pods using the node's service account (and its broad scopes) or static keys instead of a per-workload identity.",
    answers: [`${CIS_GKE} (Workload Identity)`, "anti-pattern: service-account keys mounted into pods"],
    covers: `${GKE_CLUSTER}: workloadIdentityConfig.workloadPool must be set, unless enableAutopilot is true.`,
    limits: `A node pool's nodeConfig.workloadMetadataConfig.mode is not read, so a pool that exposes the node's metadata server (GCE_METADATA) passes. ${GKE_NODE_POOLS_NOT_READ}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  (c) => {
    const config = c.workloadIdentityConfig as { workloadPool?: string } | undefined;
    return config?.workloadPool || autopilot(c)
      ? undefined
      : 'has no Workload Identity. Set workloadIdentityConfig.workloadPool to "<project>.svc.id.goog".';
  },
);

export const gkeShieldedNodes = gkePolicy(
  "gke-shielded-nodes",
  "GKE clusters use Shielded GKE Nodes.",
  "medium",
  {
    protectsAgainst: "Boot-level rootkits and node impersonation to the control plane.",
    answers: [`${CIS_GKE} (Shielded GKE Nodes)`],
    covers: `${GKE_CLUSTER}: enableShieldedNodes must not be false, unless enableAutopilot is true; unset passes, as the provider defaults it to true.`,
    limits: `A node pool's shieldedInstanceConfig (secure boot, integrity monitoring) is not read. ${GKE_NODE_POOLS_NOT_READ}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  // The provider turns Shielded Nodes on unless told otherwise: only an explicit false turns them off.
  (c) =>
    c.enableShieldedNodes !== false || autopilot(c)
      ? undefined
      : "does not require Shielded Nodes. Set enableShieldedNodes to true.",
);

export const gkeNetworkPolicy = gkePolicy(
  "gke-network-policy-enforced",
  "GKE clusters enforce NetworkPolicies (Dataplane V2 or the network-policy add-on).",
  "high",
  {
    protectsAgainst:
      "NetworkPolicy objects silently ignored because the cluster has no enforcement, leaving pod networking flat.",
    answers: [`${CIS_GKE} (network policy enforcement)`],
    covers: `${GKE_CLUSTER}: datapathProvider must be ADVANCED_DATAPATH (Dataplane V2), or else networkPolicy.enabled must be true and addonsConfig.networkPolicyConfig.disabled must be false (the add-on is disabled when unset, as the provider defaults it), unless enableAutopilot is true.`,
    limits:
      "networkPolicy.provider is not judged (GKE's only provider is Calico), and the node pools' own state is not read. Whether NetworkPolicies exist is judged by the network-exposure rules.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  (c) => {
    if (c.datapathProvider === "ADVANCED_DATAPATH" || autopilot(c)) return undefined;
    // Without Dataplane V2, Calico enforces NetworkPolicies only when both the cluster's networkPolicy
    // and the master's network-policy add-on are on; the add-on is disabled unless disabled is false.
    const policy = c.networkPolicy as { enabled?: boolean } | undefined;
    const addons = c.addonsConfig as { networkPolicyConfig?: { disabled?: boolean } } | undefined;
    if (policy?.enabled !== true)
      return 'does not enforce NetworkPolicies. Set datapathProvider to "ADVANCED_DATAPATH" (or networkPolicy.enabled to true and addonsConfig.networkPolicyConfig.disabled to false).';
    if (addons?.networkPolicyConfig?.disabled !== false)
      return 'enables networkPolicy but not the network-policy add-on it needs, so NetworkPolicies are not enforced. Set addonsConfig.networkPolicyConfig.disabled to false (or datapathProvider to "ADVANCED_DATAPATH").';
    return undefined;
  },
);

export const gkeNoLegacyAbac = gkePolicy(
  "gke-no-legacy-abac",
  "GKE clusters do not enable legacy ABAC.",
  "high",
  {
    protectsAgainst: "Attribute-based authorisation granting broad, unaudited permissions that bypass RBAC.",
    answers: [`${CIS_GKE} (legacy authorization disabled)`],
    covers: `${GKE_CLUSTER}: enableLegacyAbac must not be true.`,
    limits: "RBAC itself is not judged: broad ClusterRoleBindings (cluster-admin to a large group) pass.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  (c) => (c.enableLegacyAbac === true ? "enables legacy ABAC. Set enableLegacyAbac to false." : undefined),
);

export const gkeNoBasicAuth = gkePolicy(
  "gke-no-basic-or-client-cert-auth",
  "GKE clusters use neither basic authentication nor legacy client certificates.",
  "high",
  {
    protectsAgainst:
      "Static, non-revocable control-plane credentials (a password or a client certificate) that outlive the people holding them.",
    answers: [`${CIS_GKE} (basic authentication and client certificates disabled)`],
    covers: `${GKE_CLUSTER}: masterAuth.username and masterAuth.password must be unset, and masterAuth.clientCertificateConfig.issueClientCertificate must not be true.`,
    limits:
      "Other static credentials for the API server (long-lived service-account token Secrets, kubeconfigs holding them) are not seen.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  (c) => {
    const auth = c.masterAuth as
      | {
          username?: string;
          password?: string;
          clientCertificateConfig?: { issueClientCertificate?: boolean };
        }
      | undefined;
    if (auth?.username || auth?.password)
      return "uses basic authentication. Remove masterAuth.username and masterAuth.password.";
    if (auth?.clientCertificateConfig?.issueClientCertificate === true) {
      return "issues a legacy client certificate. Set masterAuth.clientCertificateConfig.issueClientCertificate to false.";
    }
    return undefined;
  },
);

export const gkeMasterAuthorizedNetworks = gkePolicy(
  "gke-master-authorized-networks",
  "The GKE control plane admits only authorised networks, never 0.0.0.0/0.",
  "high",
  {
    protectsAgainst: "The Kubernetes API server reachable from the whole internet.",
    answers: [
      `${CIS_GKE} (control plane authorized networks)`,
      "NSA/CISA Kubernetes Hardening Guidance (control plane hardening)",
    ],
    covers: `${GKE_CLUSTER}: masterAuthorizedNetworksConfig must be set with at least one cidrBlocks entry, no entry may end in /0, and gcpPublicCidrsAccessEnabled must not be true.`,
    limits:
      "Only /0 counts as open: other wide ranges pass. The DNS-based control-plane endpoint (controlPlaneEndpointsConfig.dnsEndpointConfig.allowExternalTraffic), which authorised networks do not restrict, is not read.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  (c) => {
    const config = c.masterAuthorizedNetworksConfig as
      { cidrBlocks?: { cidrBlock: string }[]; gcpPublicCidrsAccessEnabled?: boolean } | undefined;
    const blocks = (config?.cidrBlocks ?? []).map((b) => b.cidrBlock);
    if (!config || blocks.length === 0)
      return "admits any network to its control plane. Set masterAuthorizedNetworksConfig.cidrBlocks to the office and CI ranges.";
    const open = blocks.find((block) => block.trim().endsWith("/0"));
    if (open)
      return `admits ${open} to its control plane. Remove it from masterAuthorizedNetworksConfig.cidrBlocks.`;
    // Every Google Cloud public address, any customer's VM or function included.
    if (config.gcpPublicCidrsAccessEnabled === true)
      return "admits every Google Cloud public IP address to its control plane. Set masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled to false.";
    return undefined;
  },
);

export const gcpNoServiceAccountKeys: PlinthResourcePolicy = {
  name: "gcp-no-service-account-keys",
  description: "No GCP service-account keys are created; workloads use Workload Identity.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Long-lived JSON keys that leak through config, logs or images and keep working until someone notices.",
    answers: [
      `${CIS_GCP} (IAM: no user-managed service account keys)`,
      "anti-pattern: static cloud keys in Kubernetes Secrets",
    ],
    covers: "gcp:serviceaccount/key:Key: every one in the stack is reported.",
    limits:
      "Storage HMAC keys (gcp:storage/hmacKey:HmacKey), API keys and keys created outside the stack are not seen. A key pasted into a ConfigMap, an env value or Helm values is the secrets and Helm rules' (GCP service-account key JSON).",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(gcp.serviceaccount.Key, (key, args, report) => {
    report(
      `Service-account key "${args.name}" for ${JSON.stringify(key.serviceAccountId)} is a static credential. Remove it and bind the workload's Kubernetes ServiceAccount through Workload Identity (roles/iam.workloadIdentityUser).`,
    );
  }),
};

export const gcpPolicies: PlinthPolicy[] = [
  gcsUniformAccess,
  gcsPublicAccessPrevention,
  cloudSqlPrivateIp,
  cloudSqlBackups,
  cloudSqlDeletionProtection,
  memorystoreAuth,
  memorystoreTransitEncryption,
  gkePrivateNodes,
  gkeWorkloadIdentity,
  gkeShieldedNodes,
  gkeNetworkPolicy,
  gkeNoLegacyAbac,
  gkeNoBasicAuth,
  gkeMasterAuthorizedNetworks,
  gcpNoServiceAccountKeys,
];
