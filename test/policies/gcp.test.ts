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

describe("cloudsql-backups: read replicas", () => {
  // Cloud SQL neither backs up a read replica nor lets it keep transaction logs: its primary does.
  const replica = (settings: Record<string, unknown>) => {
    const stack = STACK_FIXTURES.gcp();
    const db = stack.find((t) => t.name === "mlflow-db" && t.type.endsWith("DatabaseInstance"))!;
    setPath(db.props, ["masterInstanceName"], "plinth-mlflow-primary");
    setPath(db.props, ["settings", "backupConfiguration"], settings.backupConfiguration);
    return stack;
  };

  it.each([
    ["a replica with no backupConfiguration", { backupConfiguration: undefined }],
    ["a replica with backups off", { backupConfiguration: { enabled: false } }],
  ])("raises nothing for %s", async (_name, settings) => {
    expect(await evaluatePolicies([policies.cloudSqlBackups], replica(settings), {})).toEqual([]);
  });

  it("still reports a primary (no masterInstanceName) without backups", async () => {
    const stack = replica({ backupConfiguration: undefined });
    const db = stack.find((t) => t.name === "mlflow-db" && t.type.endsWith("DatabaseInstance"))!;
    setPath(db.props, ["masterInstanceName"], "");
    const found = await evaluatePolicies([policies.cloudSqlBackups], stack, {});
    expect(found.map((v) => v.message)).toEqual([
      `${DB} takes no automated backups. Set settings.backupConfiguration.enabled to true.`,
      `${DB} has no point-in-time recovery. Set settings.backupConfiguration.pointInTimeRecoveryEnabled to true.`,
    ]);
  });

  it("still judges a replica's IP addresses and deletion protection", async () => {
    const stack = replica({ backupConfiguration: undefined });
    const db = stack.find((t) => t.name === "mlflow-db" && t.type.endsWith("DatabaseInstance"))!;
    setPath(db.props, ["settings", "ipConfiguration", "ipv4Enabled"], true);
    setPath(db.props, ["settings", "deletionProtectionEnabled"], false);
    const found = await evaluatePolicies(
      [policies.cloudSqlPrivateIp, policies.cloudSqlDeletionProtection],
      stack,
      {},
    );
    expect(found.map((v) => v.message)).toEqual([
      `${DB} has a public IPv4 address. Set settings.ipConfiguration.ipv4Enabled to false.`,
      `${DB} can be deleted through the Cloud SQL API. Set settings.deletionProtectionEnabled to true.`,
    ]);
  });
});

describe("GKE Autopilot", () => {
  it("has Workload Identity, Shielded Nodes and Dataplane V2 whatever the fields say", async () => {
    const stack = STACK_FIXTURES.gcp();
    const cluster = stack.find((t) => t.name === "gke" && t.type.endsWith("Cluster"))!;
    for (const field of ["workloadIdentityConfig", "datapathProvider", "networkPolicy"])
      setPath(cluster.props, [field], undefined);
    setPath(cluster.props, ["enableShieldedNodes"], false);
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
describe("gke-shielded-nodes: the provider's default", () => {
  it("raises nothing for enableShieldedNodes unset (the provider defaults it to true)", async () => {
    const stack = STACK_FIXTURES.gcp();
    const cluster = stack.find((t) => t.name === "gke" && t.type.endsWith("Cluster"))!;
    setPath(cluster.props, ["enableShieldedNodes"], undefined);
    expect(await evaluatePolicies([policies.gkeShieldedNodes], stack, {})).toEqual([]);
  });
});

const NO_NETWORK_POLICY =
  'does not enforce NetworkPolicies. Set datapathProvider to "ADVANCED_DATAPATH" (or networkPolicy.enabled to true and addonsConfig.networkPolicyConfig.disabled to false).';
const ADDON_OFF =
  'enables networkPolicy but not the network-policy add-on it needs, so NetworkPolicies are not enforced. Set addonsConfig.networkPolicyConfig.disabled to false (or datapathProvider to "ADVANCED_DATAPATH").';

describePolicy(policies.gkeNetworkPolicy, [
  gke("the legacy datapath without the add-on", ["datapathProvider"], "LEGACY_DATAPATH", NO_NETWORK_POLICY),
]);

describe("gke-network-policy-enforced without Dataplane V2: the network-policy add-on", () => {
  /** The fixture cluster on the legacy datapath, with `fields` set. */
  const legacy = (fields: Record<string, unknown>) => {
    const stack = STACK_FIXTURES.gcp();
    const cluster = stack.find((t) => t.name === "gke" && t.type.endsWith("Cluster"))!;
    setPath(cluster.props, ["datapathProvider"], undefined);
    for (const [field, value] of Object.entries(fields)) setPath(cluster.props, [field], value);
    return stack;
  };
  const messages = async (fields: Record<string, unknown>) =>
    (await evaluatePolicies([policies.gkeNetworkPolicy], legacy(fields), {})).map((v) => v.message);

  it.each([
    [
      "networkPolicy enabled with the add-on disabled",
      { networkPolicy: { enabled: true }, addonsConfig: { networkPolicyConfig: { disabled: true } } },
      ADDON_OFF,
    ],
    [
      "networkPolicy enabled with the add-on left at its default (disabled)",
      { networkPolicy: { enabled: true, provider: "CALICO" } },
      ADDON_OFF,
    ],
    [
      "networkPolicy enabled with addonsConfig but no networkPolicyConfig",
      { networkPolicy: { enabled: true }, addonsConfig: { httpLoadBalancing: { disabled: false } } },
      ADDON_OFF,
    ],
    [
      "the add-on on without networkPolicy enabled (nothing happens)",
      { addonsConfig: { networkPolicyConfig: { disabled: false } } },
      NO_NETWORK_POLICY,
    ],
    [
      "the add-on on with networkPolicy disabled",
      { networkPolicy: { enabled: false }, addonsConfig: { networkPolicyConfig: { disabled: false } } },
      NO_NETWORK_POLICY,
    ],
  ])("reports %s", async (_name, fields, message) => {
    expect(await messages(fields)).toEqual([`${GKE} ${message}`]);
  });

  it.each([
    [
      "networkPolicy enabled with the add-on on",
      { networkPolicy: { enabled: true }, addonsConfig: { networkPolicyConfig: { disabled: false } } },
    ],
    [
      "Dataplane V2, whatever the add-on says",
      { datapathProvider: "ADVANCED_DATAPATH", addonsConfig: { networkPolicyConfig: { disabled: true } } },
    ],
    ["Autopilot", { enableAutopilot: true }],
  ])("raises nothing for %s", async (_name, fields) => {
    expect(await messages(fields)).toEqual([]);
  });
});
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
