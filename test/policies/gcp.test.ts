import * as policies from "../../policies/gcp.js";
import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../../policies/runner/evaluate.js";
import { describePolicy, STACK_FIXTURES } from "./cases.js";
import { setPath, target } from "./fixtures/target.js";

const BUCKET = 'GCS bucket "plinth-artifacts"';
const DB = 'Cloud SQL instance "plinth-mlflow"';
const GKE = 'GKE cluster "plinth-gke"';

describePolicy(policies.gcsUniformAccess, [
  {
    change: "object ACLs allowed",
    stack: "gcp",
    resource: "Bucket:artifacts",
    path: ["uniformBucketLevelAccess"],
    value: false,
    message: `${BUCKET} allows object ACLs. Set uniformBucketLevelAccess to true.`,
  },
]);

describePolicy(policies.gcsPublicAccessPrevention, [
  {
    change: "public access prevention inherited",
    stack: "gcp",
    resource: "Bucket:artifacts",
    path: ["publicAccessPrevention"],
    value: "inherited",
    message: `${BUCKET} does not prevent public access. Set publicAccessPrevention to "enforced".`,
  },
]);

describePolicy(policies.cloudSqlPrivateIp, [
  {
    change: "a public IPv4 address",
    stack: "gcp",
    resource: "DatabaseInstance:mlflow-db",
    path: ["settings", "ipConfiguration", "ipv4Enabled"],
    value: true,
    message: `${DB} has a public IPv4 address. Set settings.ipConfiguration.ipv4Enabled to false.`,
  },
  {
    change: "no private network",
    stack: "gcp",
    resource: "DatabaseInstance:mlflow-db",
    path: ["settings", "ipConfiguration", "privateNetwork"],
    value: undefined,
    message: `${DB} has no private IP. Set settings.ipConfiguration.privateNetwork to the VPC's self link.`,
  },
]);

describePolicy(policies.cloudSqlBackups, [
  {
    change: "backups off",
    stack: "gcp",
    resource: "DatabaseInstance:mlflow-db",
    path: ["settings", "backupConfiguration", "enabled"],
    value: false,
    message: `${DB} takes no automated backups. Set settings.backupConfiguration.enabled to true.`,
  },
  {
    change: "no point-in-time recovery",
    stack: "gcp",
    resource: "DatabaseInstance:mlflow-db",
    path: ["settings", "backupConfiguration", "pointInTimeRecoveryEnabled"],
    value: undefined,
    message: `${DB} has no point-in-time recovery. Set settings.backupConfiguration.pointInTimeRecoveryEnabled to true.`,
  },
  {
    change: "MySQL without its binary log (its point-in-time recovery)",
    stack: "gcp",
    resource: "DatabaseInstance:mlflow-db",
    path: ["databaseVersion"],
    value: "MYSQL_8_0",
    message: `${DB} has no point-in-time recovery. Set settings.backupConfiguration.binaryLogEnabled to true.`,
  },
]);

describe("cloudsql-backups: point-in-time recovery per engine", () => {
  it("raises nothing for MySQL with its binary log on", async () => {
    const stack = STACK_FIXTURES.gcp();
    const db = stack.find((t) => t.name === "mlflow-db" && t.type.endsWith("DatabaseInstance"))!;
    setPath(db.props, ["databaseVersion"], "MYSQL_8_0");
    setPath(db.props, ["settings", "backupConfiguration", "pointInTimeRecoveryEnabled"], undefined);
    setPath(db.props, ["settings", "backupConfiguration", "binaryLogEnabled"], true);
    expect(await evaluatePolicies([policies.cloudSqlBackups], stack, {})).toEqual([]);
  });
});

describe("GKE Autopilot", () => {
  it("has Workload Identity, Shielded Nodes and Dataplane V2 whatever the fields say", async () => {
    const stack = STACK_FIXTURES.gcp();
    const cluster = stack.find((t) => t.name === "gke" && t.type.endsWith("Cluster"))!;
    for (const field of [
      "workloadIdentityConfig",
      "enableShieldedNodes",
      "datapathProvider",
      "networkPolicy",
    ])
      setPath(cluster.props, [field], undefined);
    const checks = [policies.gkeWorkloadIdentity, policies.gkeShieldedNodes, policies.gkeNetworkPolicy];
    expect((await evaluatePolicies(checks, stack, {})).map((v) => v.policy).sort()).toEqual(
      ["gke-network-policy-enforced", "gke-shielded-nodes", "gke-workload-identity"].sort(),
    );
    setPath(cluster.props, ["enableAutopilot"], true);
    expect(await evaluatePolicies(checks, stack, {})).toEqual([]);
  });
});

describePolicy(policies.cloudSqlDeletionProtection, [
  {
    change: "Pulumi-level deletion protection off",
    stack: "gcp",
    resource: "DatabaseInstance:mlflow-db",
    path: ["deletionProtection"],
    value: false,
    message: `${DB} can be deleted by Pulumi. Set deletionProtection to true.`,
  },
  {
    change: "API-level deletion protection off",
    stack: "gcp",
    resource: "DatabaseInstance:mlflow-db",
    path: ["settings", "deletionProtectionEnabled"],
    value: false,
    message: `${DB} can be deleted through the Cloud SQL API. Set settings.deletionProtectionEnabled to true.`,
  },
]);

const gke = (change: string, path: string[], value: unknown, message: string) => ({
  change,
  stack: "gcp" as const,
  resource: "Cluster:gke",
  path,
  value,
  message: `${GKE} ${message}`,
});

describePolicy(policies.gkePrivateNodes, [
  gke(
    "public nodes",
    ["privateClusterConfig", "enablePrivateNodes"],
    false,
    "has nodes with public IPs. Set privateClusterConfig.enablePrivateNodes to true.",
  ),
]);
describePolicy(policies.gkeWorkloadIdentity, [
  gke(
    "no workload pool",
    ["workloadIdentityConfig"],
    undefined,
    'has no Workload Identity. Set workloadIdentityConfig.workloadPool to "<project>.svc.id.goog".',
  ),
]);
describePolicy(policies.gkeShieldedNodes, [
  gke(
    "shielded nodes off",
    ["enableShieldedNodes"],
    false,
    "does not require Shielded Nodes. Set enableShieldedNodes to true.",
  ),
]);
describePolicy(policies.gkeNetworkPolicy, [
  gke(
    "the legacy datapath without the add-on",
    ["datapathProvider"],
    "LEGACY_DATAPATH",
    'does not enforce NetworkPolicies. Set datapathProvider to "ADVANCED_DATAPATH" (or networkPolicy.enabled to true).',
  ),
]);
describePolicy(policies.gkeNoLegacyAbac, [
  gke("legacy ABAC", ["enableLegacyAbac"], true, "enables legacy ABAC. Set enableLegacyAbac to false."),
]);
describePolicy(policies.gkeNoBasicAuth, [
  gke(
    "a legacy client certificate",
    ["masterAuth", "clientCertificateConfig", "issueClientCertificate"],
    true,
    "issues a legacy client certificate. Set masterAuth.clientCertificateConfig.issueClientCertificate to false.",
  ),
  gke(
    "basic auth",
    ["masterAuth", "username"],
    "admin",
    "uses basic authentication. Remove masterAuth.username and masterAuth.password.",
  ),
]);
describePolicy(policies.gkeMasterAuthorizedNetworks, [
  gke(
    "no authorised networks",
    ["masterAuthorizedNetworksConfig"],
    undefined,
    "admits any network to its control plane. Set masterAuthorizedNetworksConfig.cidrBlocks to the office and CI ranges.",
  ),
  gke(
    "the internet as an authorised network",
    ["masterAuthorizedNetworksConfig", "cidrBlocks", "0", "cidrBlock"],
    "0.0.0.0/0",
    "admits 0.0.0.0/0 to its control plane. Remove it from masterAuthorizedNetworksConfig.cidrBlocks.",
  ),
  gke(
    "a /0 with another base address",
    ["masterAuthorizedNetworksConfig", "cidrBlocks", "0", "cidrBlock"],
    "10.0.0.0/0",
    "admits 10.0.0.0/0 to its control plane. Remove it from masterAuthorizedNetworksConfig.cidrBlocks.",
  ),
  gke(
    "every Google Cloud public address",
    ["masterAuthorizedNetworksConfig", "gcpPublicCidrsAccessEnabled"],
    true,
    "admits every Google Cloud public IP address to its control plane. Set masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled to false.",
  ),
]);

describePolicy(policies.gcpNoServiceAccountKeys, [
  {
    change: "a service-account key",
    stack: "gcp",
    add: target("gcp:serviceaccount/key:Key", "mlflow-key", {
      serviceAccountId: "mlflow@plinth.iam.gserviceaccount.com",
    }),
    message:
      'Service-account key "mlflow-key" for "mlflow@plinth.iam.gserviceaccount.com" is a static credential. Remove it and bind the workload\'s Kubernetes ServiceAccount through Workload Identity (roles/iam.workloadIdentityUser).',
  },
]);
