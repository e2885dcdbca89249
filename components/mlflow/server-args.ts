/**
 * The `mlflow server` command line every MLflow server plinth starts uses: the cluster's
 * Deployment, the local stack and the tests' server, so what the tests run is what the cluster runs.
 *
 * Artifacts are always proxied (`--serve-artifacts`): run artifact URIs are `mlflow-artifacts:/...`
 * whatever the destination (a volume, `s3://bucket/...`, `gs://bucket/...`), so only the server
 * holds the bucket identity and every client (the inference service, the training job, a data
 * scientist's MlflowClient) reads and writes through the tracking API.
 *
 * The backend-store URI holds the database password: it is never an argument (the kubelet would
 * expand `$(VAR)` into argv, readable in /proc); MLflow reads it from {@link BACKEND_STORE_URI_ENV}.
 *
 * Since MLflow 3.5 the server answers 403 ("Invalid Host header") to every Host it was not told
 * of, except localhost and private IPs (DNS-rebinding protection), and refuses cross-origin
 * writes: a server in a cluster must list the names its clients use ({@link clusterHosts}).
 */

/** The environment variable `mlflow server` reads its `--backend-store-uri` from. */
export const BACKEND_STORE_URI_ENV = "MLFLOW_BACKEND_STORE_URI";

export interface MlflowServerOptions<Destination> {
  readonly host: string;
  readonly port: number;
  /** gunicorn/uvicorn workers. */
  readonly workers: number;
  /** Where the proxied artifacts live: a folder, `s3://bucket/prefix` or `gs://bucket/prefix`. */
  readonly artifactsDestination: Destination;
  /**
   * The Host headers the server answers, with the port when clients send one (MLflow matches it).
   * @default MLflow's: localhost and private IP addresses
   */
  readonly allowedHosts?: readonly string[];
  /** Origins whose browser requests the server accepts. @default MLflow's: localhost origins */
  readonly corsAllowedOrigins?: readonly string[];
}

/** How a server in a cluster is reached: its Service inside the cluster, its Ingress host outside. */
export interface ClusterAddress {
  readonly service: string;
  readonly namespace: string;
  readonly port: number;
  /** The Ingress host, e.g. mlflow.ml.example.com (served over https on 443). */
  readonly publicHost: string;
}

/** The `allowedHosts` and `corsAllowedOrigins` of a server in a cluster. */
export function clusterHosts(
  address: ClusterAddress,
): Required<Pick<MlflowServerOptions<never>, "allowedHosts" | "corsAllowedOrigins">> {
  const { service, namespace, port, publicHost } = address;
  return {
    // Every form of the Service's DNS name a client may use (the tracking URI plinth hands out is
    // the first), each with the port, as clients send it.
    allowedHosts: [
      `${service}.${namespace}.svc.cluster.local:${port}`,
      `${service}.${namespace}.svc:${port}`,
      `${service}.${namespace}:${port}`,
      publicHost,
    ],
    corsAllowedOrigins: [`https://${publicHost}`],
  };
}

/** The arguments after `mlflow server`. `Destination` is a string or a Pulumi output of one. */
export function mlflowServerArgs<Destination>(
  options: MlflowServerOptions<Destination>,
): (string | Destination)[] {
  return [
    `--host=${options.host}`,
    `--port=${options.port}`,
    `--workers=${options.workers}`,
    "--serve-artifacts",
    "--artifacts-destination",
    options.artifactsDestination,
    ...(options.allowedHosts ? [`--allowed-hosts=${options.allowedHosts.join(",")}`] : []),
    ...(options.corsAllowedOrigins ? [`--cors-allowed-origins=${options.corsAllowedOrigins.join(",")}`] : []),
  ];
}
