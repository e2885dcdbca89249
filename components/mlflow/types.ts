/** What each MLflow storage backend (aws, gcp, in-cluster) hands to the MLflow server. */
import * as pulumi from "@pulumi/pulumi";
import type * as random from "@pulumi/random";

/** A ServiceAccount that needs the artifact store, and whether it may write (training) or only read (serving). */
export interface ArtifactAccess {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly write: boolean;
}

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
  /** Namespace and ServiceAccount of the MLflow server (read-write identity). */
  readonly namespace: string;
  readonly serverServiceAccount: string;
  readonly artifactAccess: readonly ArtifactAccess[];
}

export interface MlflowStorage {
  /** postgresql://... including the password: a secret. */
  readonly backendStoreUri: pulumi.Output<string>;
  /** s3://... or gs://... for direct artifact access; undefined when the server proxies a volume. */
  readonly artifactRoot?: pulumi.Output<string>;
  /** Annotations for the MLflow server's ServiceAccount (workload identity). */
  readonly serverAnnotations: pulumi.Output<Record<string, string>>;
  /** Annotations per ServiceAccount of `artifactAccess`, keyed `<namespace>/<name>`. */
  readonly accessAnnotations: Record<string, pulumi.Output<Record<string, string>>>;
  /** Resources the server must wait for (the database). */
  readonly readiness: pulumi.Resource[];
}

export const DATABASE_NAME = "mlflow";
export const DATABASE_USER = "mlflow";

export function accessKey(access: { namespace: string; serviceAccount: string }): string {
  return `${access.namespace}/${access.serviceAccount}`;
}

/** Creates the cloud identity of one ServiceAccount and returns the annotations that bind it. */
export type IdentityFactory = (
  role: string,
  namespace: string,
  serviceAccount: string,
  write: boolean,
) => pulumi.Output<Record<string, string>>;

/** Identities for the MLflow server (read-write) and every artifactAccess entry. */
export function workloadIdentities(
  options: { namespace: string; serverServiceAccount: string; artifactAccess: readonly ArtifactAccess[] },
  identityFor: IdentityFactory,
): Pick<MlflowStorage, "serverAnnotations" | "accessAnnotations"> {
  const accessAnnotations: Record<string, pulumi.Output<Record<string, string>>> = {};
  for (const access of options.artifactAccess) {
    accessAnnotations[accessKey(access)] = identityFor(
      access.serviceAccount,
      access.namespace,
      access.serviceAccount,
      access.write,
    );
  }
  return {
    serverAnnotations: identityFor("server", options.namespace, options.serverServiceAccount, true),
    accessAnnotations,
  };
}

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
