/**
 * MLflow storage on GCP: a GCS bucket with uniform bucket-level access, public access prevention
 * and versioning, and a Cloud SQL PostgreSQL instance on private IP only (private services access
 * peering), TLS required, with backups and point-in-time recovery. Pods reach the bucket through
 * GKE Workload Identity (a Google service account per Kubernetes ServiceAccount); no keys.
 */
import { createHash } from "node:crypto";
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { workloadIdentityMember, type GcpClusterContext } from "../cluster/index.js";
import {
  DATABASE_NAME,
  DATABASE_USER,
  postgresUri,
  workloadIdentities,
  type IdentityFactory,
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
  const peering = new gcp.servicenetworking.Connection(
    `${name}-db-peering`,
    { network, service: "servicenetworking.googleapis.com", reservedPeeringRanges: [peeringRange.name] },
    { parent },
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
  new gcp.sql.Database(`${name}-db`, { project, instance: instance.name, name: DATABASE_NAME }, { parent });
  new gcp.sql.User(
    `${name}-db`,
    { project, instance: instance.name, name: DATABASE_USER, password: options.password.result },
    { parent },
  );
  return instance;
}

/** Google service account ids are 6-30 characters: long names keep a prefix and a stable hash. */
export function serviceAccountId(text: string): string {
  if (text.length <= 30) return text;
  return `${text.slice(0, 23).replace(/-+$/, "")}-${createHash("sha256").update(text).digest("hex").slice(0, 6)}`;
}

export function gcpStorage(name: string, options: GcpStorageOptions, parent: pulumi.Resource): MlflowStorage {
  const { project, region, workloadPool } = options.cluster;
  const bucket = new gcp.storage.Bucket(
    `${name}-artifacts`,
    {
      project,
      name: `${project}-${name}-artifacts`,
      location: region.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      versioning: { enabled: true },
      forceDestroy: false,
    },
    { parent, protect: options.protect },
  );
  const db = database(name, options, parent);

  const identityFor: IdentityFactory = (role, namespace, serviceAccount, write) => {
    const account = new gcp.serviceaccount.Account(
      `${name}-${role}`,
      {
        project,
        accountId: serviceAccountId(`${name}-${role}`),
        displayName: `${namespace}/${serviceAccount} (MLflow artifacts)`,
      },
      { parent },
    );
    new gcp.storage.BucketIAMMember(
      `${name}-${role}`,
      {
        bucket: bucket.name,
        role: write ? "roles/storage.objectAdmin" : "roles/storage.objectViewer",
        member: pulumi.interpolate`serviceAccount:${account.email}`,
      },
      { parent },
    );
    new gcp.serviceaccount.IAMMember(
      `${name}-${role}-workload-identity`,
      {
        serviceAccountId: account.name,
        role: "roles/iam.workloadIdentityUser",
        member: workloadIdentityMember(workloadPool, namespace, serviceAccount),
      },
      { parent },
    );
    return account.email.apply((email): Record<string, string> => ({
      "iam.gke.io/gcp-service-account": email,
    }));
  };
  return {
    backendStoreUri: postgresUri(options.password.result, db.privateIpAddress, true),
    artifactRoot: pulumi.interpolate`gs://${bucket.name}/artifacts`,
    ...workloadIdentities(options, identityFor),
    readiness: [db],
  };
}
