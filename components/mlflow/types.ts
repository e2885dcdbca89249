/** What each MLflow storage backend (aws, gcp, in-cluster) hands to the MLflow server. */
import * as pulumi from "@pulumi/pulumi";
import type * as random from "@pulumi/random";

export interface DatabaseOptions {
  readonly storageGb: number;
  readonly backupRetentionDays: number;
  /**
   * Cloud SQL only: days of transaction logs kept for point-in-time recovery; must be less than
   * `backupRetentionDays` (the backups retained). Ignored by RDS and the in-cluster database.
   */
  readonly transactionLogRetentionDays: number;
}

/** What every cloud backend (aws, gcp) needs besides its cluster context. */
export interface ManagedStorageOptions {
  readonly database: DatabaseOptions;
  readonly password: random.RandomPassword;
  /** Deletion protection on the database and `protect` on database and bucket. */
  readonly protect: boolean;
  /** Namespace and ServiceAccount of the MLflow server: the only identity with bucket access. */
  readonly namespace: string;
  readonly serverServiceAccount: string;
}

export interface MlflowStorage {
  /** postgresql://... including the password: a secret. */
  readonly backendStoreUri: pulumi.Output<string>;
  /**
   * s3://... or gs://... where the server keeps the artifacts it proxies; undefined: a volume.
   * Clients never see it: their artifact URIs are `mlflow-artifacts:/...`.
   */
  readonly artifactBucket?: pulumi.Output<string>;
  /** Annotations for the MLflow server's ServiceAccount (workload identity). */
  readonly serverAnnotations: pulumi.Output<Record<string, string>>;
  /** Resources the server must wait for (the database). */
  readonly readiness: pulumi.Resource[];
}

export const DATABASE_NAME = "mlflow";
export const DATABASE_USER = "mlflow";

/** The backend-store URI (it holds the password, so it is a secret); managed databases require TLS. */
export function postgresUri(
  password: pulumi.Input<string>,
  host: pulumi.Input<string>,
  requireTls: boolean,
): pulumi.Output<string> {
  const query = requireTls ? "?sslmode=require" : "";
  return pulumi.secret(
    pulumi.interpolate`postgresql://${DATABASE_USER}:${password}@${host}:5432/${DATABASE_NAME}${query}`,
  );
}
