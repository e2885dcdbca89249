/**
 * Mlflow: the MLflow tracking server and model registry. The server is plain Kubernetes objects
 * (Deployment, Service, ServiceAccount, PDB, NetworkPolicy, protected Ingress); its backend store
 * is managed PostgreSQL (RDS or Cloud SQL) and its artifacts a private bucket only the server
 * reaches (workload identity), or, on an `existing` cluster, an in-cluster PostgreSQL and a volume.
 * Artifacts are always proxied by the server, so clients hold no storage identity.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { AwsClusterContext, GcpClusterContext } from "../cluster/index.js";
import type { Edge } from "../shared/edge.js";
import { selectorLabels, standardLabels } from "../shared/labels.js";
import { podSecurityNamespace } from "../shared/namespace.js";
import { ingressOnlyFrom, type Peer } from "../shared/network-policy.js";
import {
  hardenedContainer,
  hardenedPodSpec,
  httpProbes,
  scratchVolume,
  type Resources,
} from "../shared/workload.js";
import { awsStorage } from "./aws.js";
import { gcpStorage } from "./gcp.js";
import { inClusterStorage } from "./in-cluster.js";
import { BACKEND_STORE_URI_ENV, clusterHosts, mlflowServerArgs } from "./server-args.js";
import { MLFLOW_SERVER_ENV } from "./server-env.js";
import type { DatabaseOptions, MlflowStorage } from "./types.js";
import { clusterService } from "../shared/service.js";

export type MlflowBackend =
  | { readonly cloud: "aws"; readonly cluster: AwsClusterContext; readonly instanceClass: string }
  | { readonly cloud: "gcp"; readonly cluster: GcpClusterContext; readonly tier: string }
  | {
      readonly cloud: "existing";
      readonly postgresImage: string;
      /** StorageClass of the database and artifact volumes. @default the cluster's default class */
      readonly storageClass?: string;
      /**
       * StorageClass of the artifact volume alone: it is ReadWriteMany with more than one replica,
       * which block-storage classes cannot bind (name EFS, Filestore, NFS, CephFS...).
       * @default storageClass
       */
      readonly artifactStorageClass?: string;
    };

export interface MlflowArgs {
  readonly provider: k8s.Provider;
  /** MLflow image pinned by digest. */
  readonly image: string;
  /** Where the database and artifacts live. */
  readonly backend: MlflowBackend;
  readonly database: DatabaseOptions;
  readonly resources: Resources;
  /** Protect the database and bucket from deletion (production). */
  readonly protect: boolean;
  /** The UI is published at mlflow.<domain>, behind oauth2-proxy. */
  readonly domain: string;
  /** Publishes the UI, behind oauth2-proxy. */
  readonly edge: Edge;
  /**
   * The identity-provider groups the UI is for: MLflow has no roles of its own (anyone who reaches
   * it can move a registry alias), so a stack names its admin groups. @default every allowed group
   */
  readonly allowedGroups?: readonly string[];
  /** In-cluster clients of the tracking API and its artifact proxy (the inference service, the training job). */
  readonly clients: readonly Peer[];
  /**
   * Server replicas. With artifacts on a volume (`existing`), more than one needs a ReadWriteMany
   * storage class; one replica uses ReadWriteOnce and the Recreate strategy. @default 2
   */
  readonly replicas?: number;
  /** @default "mlflow" */
  readonly namespace?: string;
}

const PORT = 5000;
const ARTIFACT_VOLUME_PATH = "/mlflow/artifacts";

export class Mlflow extends pulumi.ComponentResource {
  /** In-cluster URL of the tracking server and registry. */
  public readonly trackingUri: string;
  public readonly backendStoreUri: pulumi.Output<string>;

  constructor(name: string, args: MlflowArgs, opts?: pulumi.ComponentResourceOptions) {
    super("plinth:mlflow:Mlflow", name, {}, opts);
    const namespaceName = args.namespace ?? "mlflow";
    const app = name;
    const labels = standardLabels(app, "tracking-server");
    const selector = selectorLabels(app, "tracking-server");
    const serviceAccountName = app;
    const publicHost = `mlflow.${args.domain}`;
    const hosts = clusterHosts({ service: app, namespace: namespaceName, port: PORT, publicHost });
    // The Service's full DNS name: the first Host the server answers.
    this.trackingUri = `http://${hosts.allowedHosts[0]}`;

    const child = { parent: this, provider: args.provider };
    const namespace = podSecurityNamespace(`${name}-ns`, namespaceName, "restricted", child);
    const inNamespace = { ...child, dependsOn: [namespace] };
    const password = new random.RandomPassword(
      `${name}-db-password`,
      { length: 32, special: false },
      { parent: this },
    );

    const storage = this.storage(
      name,
      args,
      namespaceName,
      serviceAccountName,
      password,
      selector,
      inNamespace,
    );
    this.backendStoreUri = storage.backendStoreUri;

    const secret = new k8s.core.v1.Secret(
      `${name}-backend-store`,
      {
        metadata: { name: `${app}-backend-store`, namespace: namespaceName, labels },
        type: "Opaque",
        stringData: { uri: storage.backendStoreUri },
      },
      inNamespace,
    );
    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-service-account`,
      {
        metadata: {
          name: serviceAccountName,
          namespace: namespaceName,
          labels,
          annotations: storage.serverAnnotations,
        },
        automountServiceAccountToken: false,
      },
      inNamespace,
    );

    const tmp = scratchVolume("tmp", "/tmp", "1Gi");
    const artifactsOnVolume = storage.artifactBucket === undefined;
    const replicas = args.replicas ?? 2;
    // A volume shared by several replicas must be ReadWriteMany; a single writer recreates in place.
    const sharedVolume = artifactsOnVolume && replicas > 1;
    const volumes = [
      tmp.volume,
      ...(artifactsOnVolume
        ? [{ name: "artifacts", persistentVolumeClaim: { claimName: `${app}-artifacts` } }]
        : []),
    ];
    if (artifactsOnVolume) {
      new k8s.core.v1.PersistentVolumeClaim(
        `${name}-artifacts`,
        {
          metadata: { name: `${app}-artifacts`, namespace: namespaceName, labels },
          spec: {
            accessModes: [sharedVolume ? "ReadWriteMany" : "ReadWriteOnce"],
            ...(args.backend.cloud === "existing" &&
            (args.backend.artifactStorageClass ?? args.backend.storageClass)
              ? { storageClassName: args.backend.artifactStorageClass ?? args.backend.storageClass }
              : {}),
            resources: { requests: { storage: `${args.database.storageGb * 5}Gi` } },
          },
        },
        { ...inNamespace, protect: args.protect },
      );
    }
    const container = hardenedContainer({
      name: "mlflow",
      image: args.image,
      command: ["mlflow", "server"],
      args: mlflowServerArgs({
        host: "0.0.0.0",
        port: PORT,
        workers: 2,
        artifactsDestination: storage.artifactBucket ?? ARTIFACT_VOLUME_PATH,
        ...hosts,
      }),
      env: [
        {
          name: BACKEND_STORE_URI_ENV,
          valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "uri" } },
        },
        { name: "HOME", value: "/tmp" },
        ...Object.entries(MLFLOW_SERVER_ENV).map(([envName, value]) => ({ name: envName, value })),
      ],
      ports: [{ name: "http", containerPort: PORT }],
      resources: args.resources,
      probes: httpProbes("http", "/health", "/health"),
      volumeMounts: [
        tmp.mount,
        ...(artifactsOnVolume ? [{ name: "artifacts", mountPath: ARTIFACT_VOLUME_PATH }] : []),
      ],
    });
    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: { name: app, namespace: namespaceName, labels },
        spec: {
          replicas,
          selector: { matchLabels: selector },
          strategy:
            artifactsOnVolume && !sharedVolume
              ? { type: "Recreate" }
              : { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: { labels },
            spec: hardenedPodSpec({
              containers: [container],
              serviceAccountName: serviceAccount.metadata.name,
              volumes,
              spreadBy: selector,
            }),
          },
        },
      },
      { ...inNamespace, dependsOn: [namespace, ...storage.readiness] },
    );
    const service = clusterService(
      `${name}-service`,
      { name: app, namespace: namespaceName, labels, selector, port: { name: "http", number: PORT } },
      inNamespace,
    );
    if (replicas > 1) {
      new k8s.policy.v1.PodDisruptionBudget(
        `${name}-pdb`,
        {
          metadata: { name: app, namespace: namespaceName, labels },
          spec: { minAvailable: 1, selector: { matchLabels: selector } },
        },
        inNamespace,
      );
    }
    ingressOnlyFrom(
      `${name}-netpol`,
      namespaceName,
      selector,
      labels,
      [{ port: PORT, from: [args.edge.controllerPeer, ...args.clients] }],
      inNamespace,
    );
    args.edge.publish(
      `${name}-ingress`,
      {
        namespace: namespaceName,
        host: publicHost,
        paths: [{ path: "/", pathType: "Prefix" }],
        serviceName: service.metadata.name,
        servicePort: { name: "http", number: PORT },
        labels,
        tlsSecretName: `${app}-tls`,
        protect: args.allowedGroups ? { groups: args.allowedGroups } : {},
      },
      inNamespace,
    );
    this.registerOutputs({ trackingUri: this.trackingUri, backendStoreUri: this.backendStoreUri });
  }

  private storage(
    name: string,
    args: MlflowArgs,
    namespace: string,
    serverServiceAccount: string,
    password: random.RandomPassword,
    serverPodLabels: Record<string, string>,
    opts: pulumi.CustomResourceOptions,
  ): MlflowStorage {
    const common = {
      database: args.database,
      password,
      protect: args.protect,
      namespace,
      serverServiceAccount,
    };
    switch (args.backend.cloud) {
      case "aws":
        return awsStorage(
          name,
          { ...common, cluster: args.backend.cluster, instanceClass: args.backend.instanceClass },
          this,
        );
      case "gcp":
        return gcpStorage(name, { ...common, cluster: args.backend.cluster, tier: args.backend.tier }, this);
      case "existing":
        return inClusterStorage(name, {
          ...common,
          postgresImage: args.backend.postgresImage,
          ...(args.backend.storageClass ? { storageClass: args.backend.storageClass } : {}),
          serverPodLabels,
          opts,
        });
    }
  }
}
