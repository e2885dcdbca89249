/** What each MLflow storage backend (aws, gcp, in-cluster) hands to the MLflow server. */
import type * as pulumi from "@pulumi/pulumi";

/** A ServiceAccount that needs the artifact store, and whether it may write (training) or only read (serving). */
export interface ArtifactAccess {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly write: boolean;
}

export interface DatabaseOptions {
  readonly storageGb: number;
  readonly backupRetentionDays: number;
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
