/**
 * RateLimitStore: the Redis the inference replicas share their rate limits in (issue #24), so a
 * client's limit is the configured one however many pods serve it. A managed service where there
 * is a cloud (ElastiCache on aws, Memorystore on gcp), one hardened in-cluster Redis on an
 * `existing` cluster; TLS and AUTH everywhere. The clients get the `rediss://` URL (it holds the
 * password) from a Secret in their namespace and, where a private CA signed the server's
 * certificate, that CA from a ConfigMap or a Secret key: see {@link RateLimitStoreClient}.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AwsClusterContext, GcpClusterContext } from "../cluster/index.js";
import { standardLabels } from "../shared/labels.js";
import type { Peer } from "../shared/network-policy.js";
import { awsStore } from "./aws.js";
import { gcpStore } from "./gcp.js";
import { CA_KEY, inClusterStore } from "./in-cluster.js";
import type { StoreEndpoint } from "./types.js";

export { ELASTICACHE_ENGINE } from "./aws.js";
export { MEMORYSTORE_VERSION } from "./gcp.js";

export type RateLimitStoreBackend =
  | {
      readonly cloud: "aws";
      readonly cluster: AwsClusterContext;
      /** ElastiCache node type, e.g. cache.t4g.small. */
      readonly nodeType: string;
    }
  | {
      readonly cloud: "gcp";
      readonly cluster: GcpClusterContext;
      readonly memorySizeGb: number;
      /** What creates the VPC's private services access peering (MLflow's Cloud SQL). */
      readonly privateServiceAccess: pulumi.Input<pulumi.Resource>[];
    }
  | {
      readonly cloud: "existing";
      /** The official Redis image, pinned by digest. */
      readonly image: string;
      /** What installs cert-manager's CRDs (the IngressTls component); empty when the cluster's is reused. */
      readonly certManager: pulumi.Input<pulumi.Resource>[];
      /** The cluster's own cert-manager is reused (plinth:existingCluster.certManager). */
      readonly certManagerFromCluster: boolean;
    };

export interface RateLimitStoreArgs {
  readonly provider: k8s.Provider;
  readonly backend: RateLimitStoreBackend;
  /** Namespace (already created) of the clients: the URL Secret and CA are written there. */
  readonly namespace: string;
  /** The pods that use the store: the only ones the in-cluster Redis admits. */
  readonly clients: readonly Peer[];
  /** What the service does while Redis is unreachable. @default "per-pod" */
  readonly failureMode?: "per-pod" | "closed";
  /** High availability (managed: a replica in another zone, failover) and protection: production. */
  readonly protect: boolean;
}

/** What a client Deployment needs: the shape components/inference takes. */
export interface RateLimitStoreClient {
  /** Secret in the clients' namespace holding the `rediss://` URL (RATE_LIMIT_REDIS_URL). */
  readonly urlSecret: { readonly name: pulumi.Input<string>; readonly key: string };
  /** The CA bundle to trust (RATE_LIMIT_REDIS_CA_FILE), when the system's CAs do not. */
  readonly ca?: {
    readonly kind: "ConfigMap" | "Secret";
    readonly name: pulumi.Input<string>;
    readonly key: string;
  };
  readonly failureMode: "per-pod" | "closed";
}

export class RateLimitStore extends pulumi.ComponentResource {
  public readonly client: RateLimitStoreClient;

  constructor(name: string, args: RateLimitStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("plinth:rate-limit-store:RateLimitStore", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const labels = standardLabels(name, "rate-limit-store");
    const endpoint = this.endpoint(name, args, child);

    const urlSecret = new k8s.core.v1.Secret(
      `${name}-url`,
      {
        metadata: { name: `${name}-url`, namespace: args.namespace, labels },
        type: "Opaque",
        stringData: { url: endpoint.url },
      },
      child,
    );
    let ca: RateLimitStoreClient["ca"];
    if (endpoint.caPem) {
      // A CA certificate is public: a ConfigMap, as the cluster's own kube-root-ca.crt is.
      const configMap = new k8s.core.v1.ConfigMap(
        `${name}-ca`,
        {
          metadata: { name: `${name}-ca`, namespace: args.namespace, labels },
          data: { [CA_KEY]: endpoint.caPem },
        },
        child,
      );
      ca = { kind: "ConfigMap", name: configMap.metadata.name, key: CA_KEY };
    } else if (endpoint.caSecret) {
      ca = { kind: "Secret", ...endpoint.caSecret };
    }
    this.client = {
      urlSecret: { name: urlSecret.metadata.name, key: "url" },
      ...(ca ? { ca } : {}),
      failureMode: args.failureMode ?? "per-pod",
    };
    this.registerOutputs({});
  }

  private endpoint(
    name: string,
    args: RateLimitStoreArgs,
    child: pulumi.CustomResourceOptions,
  ): StoreEndpoint {
    const { backend } = args;
    switch (backend.cloud) {
      case "aws":
        return awsStore(
          name,
          { cluster: backend.cluster, nodeType: backend.nodeType, highlyAvailable: args.protect },
          this,
        );
      case "gcp":
        return gcpStore(
          name,
          {
            cluster: backend.cluster,
            memorySizeGb: backend.memorySizeGb,
            highlyAvailable: args.protect,
            privateServiceAccess: backend.privateServiceAccess,
          },
          this,
        );
      case "existing":
        return inClusterStore(name, {
          image: backend.image,
          namespace: args.namespace,
          clients: args.clients,
          protect: args.protect,
          certManager: backend.certManager,
          certManagerFromCluster: backend.certManagerFromCluster,
          opts: child,
        });
    }
  }
}
