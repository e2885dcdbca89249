/**
 * MLflow storage on GCP: a GCS bucket with uniform bucket-level access, public access prevention
 * and versioning, and a Cloud SQL PostgreSQL instance on private IP only (private services access
 * peering), TLS required, with backups and point-in-time recovery. Only the MLflow server reaches
 * the bucket (a Google service account bound by GKE Workload Identity, no keys); every client reads
 * and writes artifacts through the server's artifact proxy.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { stackScopedName, workloadIdentityMember, type GcpClusterContext } from "../cluster/index.js";
import {
  DATABASE_NAME,
  DATABASE_USER,
  postgresUri,
  type ManagedStorageOptions,
  type MlflowStorage,
} from "./types.js";

export interface GcpStorageOptions extends ManagedStorageOptions {
  readonly cluster: GcpClusterContext;
  readonly tier: string;
}

function database(name: string, options: GcpStorageOptions, parent: pulumi.Resource) {
  const { project, region, network } = options.cluster;
  const peeringRange = new gcp.compute.GlobalAddress(
    `${name}-db-peering`,
    { project, network, purpose: "VPC_PEERING", addressType: "INTERNAL", prefixLength: 16 },
    { parent },
  );
  // One peering operation per network at a time: this one waits for (and on destroy goes before)
  // GKE's control-plane peering. ABANDON: Cloud SQL holds the connection for days after its
  // instance is deleted, so deleting it fails ("Producer services ... are still using this
  // connection"); the peering then goes with the network.
  const peering = new gcp.servicenetworking.Connection(
    `${name}-db-peering`,
    {
      network,
      service: "servicenetworking.googleapis.com",
      reservedPeeringRanges: [peeringRange.name],
      deletionPolicy: "ABANDON",
    },
    { parent, dependsOn: [...options.cluster.peerings] },
  );
  const instance = new gcp.sql.DatabaseInstance(
    `${name}-db`,
    {
      project,
      region,
      databaseVersion: "POSTGRES_17",
      deletionProtection: options.protect,
      settings: {
        tier: options.tier,
        edition: "ENTERPRISE",
        availabilityType: options.protect ? "REGIONAL" : "ZONAL",
        diskSize: options.database.storageGb,
        diskType: "PD_SSD",
        diskAutoresize: true,
        deletionProtectionEnabled: options.protect,
        ipConfiguration: { ipv4Enabled: false, privateNetwork: network, sslMode: "ENCRYPTED_ONLY" },
        backupConfiguration: {
          enabled: true,
          pointInTimeRecoveryEnabled: true,
          // Explicit, and below retainedBackups (the schema checks it): the API refuses otherwise.
          transactionLogRetentionDays: options.database.transactionLogRetentionDays,
          backupRetentionSettings: {
            retainedBackups: options.database.backupRetentionDays,
            retentionUnit: "COUNT",
          },
        },
        databaseFlags: [{ name: "log_min_duration_statement", value: "1000" }],
      },
    },
    { parent, protect: options.protect, dependsOn: [peering] },
  );
  // ABANDON: PostgreSQL refuses to drop a role that owns objects (MLflow's tables) and a database
  // with open connections, so deleting them through the API blocks `pulumi destroy`; both go with
  // the instance, and with deletion protection (production) the instance itself is kept.
  new gcp.sql.Database(
    `${name}-db`,
    { project, instance: instance.name, name: DATABASE_NAME, deletionPolicy: "ABANDON" },
    { parent },
  );
  new gcp.sql.User(
    `${name}-db`,
    {
      project,
      instance: instance.name,
      name: DATABASE_USER,
      password: options.password.result,
      deletionPolicy: "ABANDON",
    },
    { parent },
  );
  return instance;
}

/** Google service account ids are 6-30 characters: long names keep a prefix and a stable hash. */
export function serviceAccountId(text: string): string {
  return stackScopedName([text], 30);
}

export function gcpStorage(name: string, options: GcpStorageOptions, parent: pulumi.Resource): MlflowStorage {
  const { project, region, workloadPool } = options.cluster;
  const bucket = new gcp.storage.Bucket(
    `${name}-artifacts`,
    {
      project,
      // Bucket names are global; the stack scope keeps staging and production apart in one project.
      name: stackScopedName([project, options.cluster.scope, name, "artifacts"], 63),
      location: region.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      versioning: { enabled: true },
      forceDestroy: false,
    },
    { parent, protect: options.protect },
  );
  const db = database(name, options, parent);

  const role = "server";
  const account = new gcp.serviceaccount.Account(
    `${name}-${role}`,
    {
      project,
      accountId: serviceAccountId(`${options.cluster.scope}-${name}-${role}`),
      displayName: `${options.namespace}/${options.serverServiceAccount} (MLflow artifacts)`,
    },
    { parent },
  );
  new gcp.storage.BucketIAMMember(
    `${name}-${role}`,
    {
      bucket: bucket.name,
      role: "roles/storage.objectAdmin",
      member: pulumi.interpolate`serviceAccount:${account.email}`,
    },
    { parent },
  );
  new gcp.serviceaccount.IAMMember(
    `${name}-${role}-workload-identity`,
    {
      serviceAccountId: account.name,
      role: "roles/iam.workloadIdentityUser",
      member: workloadIdentityMember(workloadPool, options.namespace, options.serverServiceAccount),
    },
    { parent },
  );
  return {
    backendStoreUri: postgresUri(options.password.result, db.privateIpAddress, true),
    artifactBucket: pulumi.interpolate`gs://${bucket.name}/artifacts`,
    serverAnnotations: account.email.apply((email): Record<string, string> => ({
      "iam.gke.io/gcp-service-account": email,
    })),
    readiness: [db],
  };
}
