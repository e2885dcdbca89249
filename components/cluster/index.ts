/**
 * Cluster: the Kubernetes cluster plinth runs on and the explicit Kubernetes provider every other
 * component uses. `aws` builds a VPC and EKS, `gcp` a VPC and private GKE, `existing` takes a
 * kubeconfig from config. The kubeconfig output is always a secret. `storageClass` names the class
 * plinth's volumes are provisioned from: on EKS one this component creates (gp3, encrypted, the
 * cluster's default: EKS has had no default class since 1.30), on GKE its built-in `standard-rwo`.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { awsCluster, EBS_STORAGE_CLASS, type AwsClusterOptions } from "./aws.js";
import { gcpCluster, type GcpClusterContext, type GcpClusterOptions } from "./gcp.js";
import type { AwsClusterContext } from "./irsa.js";
import type { Peer, Source } from "../shared/network-policy.js";

export type { AwsClusterContext } from "./irsa.js";
export type { GcpClusterContext } from "./gcp.js";
export { workloadIdentityMember } from "./gcp.js";
export { stackScopedName } from "./physical-names.js";
export { irsaRole, irsaTrustPolicy } from "./irsa.js";
export {
  EBS_STORAGE_CLASS,
  EKS_ACCESS_POLICIES,
  eksAccessPolicyArn,
  type ClusterAccess,
  type ClusterAccessPolicy,
} from "./aws.js";

/**
 * Where the API server of a cluster plinth did not build may call admission webhooks from, by
 * address: the private ranges, which hold kubeadm control-plane nodes. Where the CNI applies
 * ipBlocks to pods (Calico, the VPC CNI) they hold the pods too. Narrow it with
 * existingCluster.apiServerCidrs.
 */
export const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] as const;

/**
 * Hosted control planes (GKE, AKS) call in-cluster webhooks through konnectivity: the connection
 * reaches the webhook pod from a konnectivity-agent pod in kube-system, which an ipBlock cannot
 * name under Cilium (GKE Dataplane V2). GKE labels those pods `k8s-app`, AKS `app`.
 */
const KONNECTIVITY_AGENTS: Record<"gke" | "aks", Peer> = {
  gke: { namespace: "kube-system", podLabels: { "k8s-app": "konnectivity-agent" } },
  aks: { namespace: "kube-system", podLabels: { app: "konnectivity-agent" } },
};

/** GKE's built-in default StorageClass (pd-balanced through the Compute Engine PD CSI driver). */
export const GKE_STORAGE_CLASS = "standard-rwo";

export type ClusterArgs =
  | {
      /** Build a VPC and an EKS cluster. */
      readonly cloud: "aws";
      readonly aws: AwsClusterOptions;
      /** Protect the stateful pieces (the secrets KMS key) from deletion. */
      readonly protect: boolean;
    }
  | {
      /** Build a VPC and a private GKE cluster. */
      readonly cloud: "gcp";
      readonly gcp: GcpClusterOptions;
      /** Protect the cluster (GKE deletion protection and Pulumi protect). */
      readonly protect: boolean;
    }
  | {
      /** Use a cluster that already exists. */
      readonly cloud: "existing";
      /** Its kubeconfig, as a secret. */
      readonly kubeconfig: pulumi.Input<string>;
      /** StorageClass of plinth's volumes. @default undefined (the cluster's default class) */
      readonly storageClass?: string;
      /** Where its API server calls admission webhooks from. @default PRIVATE_RANGES */
      readonly apiServerCidrs?: readonly string[];
    };

export class Cluster extends pulumi.ComponentResource {
  /** The provider every Kubernetes resource of the stack is created with. */
  public readonly provider: k8s.Provider;
  /** Secret kubeconfig for operators (`pulumi stack output --show-secrets kubeconfig`). */
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly cloud: ClusterArgs["cloud"];
  /** VPC, subnets and IRSA OIDC provider; set only for aws. */
  public readonly aws?: AwsClusterContext;
  /** Project, network and Workload Identity pool; set only for gcp. */
  public readonly gcp?: GcpClusterContext;
  /**
   * The StorageClass every PersistentVolumeClaim of plinth names; undefined leaves the claim to the
   * cluster's default class (an existing cluster with no class configured).
   */
  public readonly storageClass: pulumi.Output<string> | undefined;
  /**
   * Where the API server calls admission webhooks from, which the webhooks' NetworkPolicies admit:
   * on EKS the VPC (the control plane's network interfaces sit in its subnets, beside the nodes and
   * the pods, so every pod is admitted too), on GKE the control plane's /28 and the konnectivity
   * agents, on an existing cluster its configured CIDRs (else the private ranges) and the
   * konnectivity agents of GKE and AKS.
   */
  public readonly apiServerSources: readonly Source[];

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("plinth:cluster:Cluster", name, {}, opts);
    this.cloud = args.cloud;
    this.apiServerSources = apiServerSources(args);
    let readiness: pulumi.Resource[] = [];
    if (args.cloud === "aws") {
      const built = awsCluster(name, args.aws, args.protect, this);
      this.kubeconfig = built.kubeconfig;
      this.aws = built.context;
      readiness = built.readiness;
    } else if (args.cloud === "gcp") {
      const built = gcpCluster(name, args.gcp, args.protect, this);
      this.kubeconfig = built.kubeconfig;
      this.gcp = built.context;
      readiness = built.readiness;
    } else {
      this.kubeconfig = pulumi.secret(args.kubeconfig);
    }
    // The provider waits for the nodes: Helm releases and workloads need somewhere to run.
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig: this.kubeconfig, enableServerSideApply: true, deleteUnreachable: false },
      { parent: this, dependsOn: readiness },
    );
    if (args.cloud === "aws") {
      // EKS has marked no StorageClass default since 1.30 (and its gp2 class uses the in-tree
      // driver): a claim without a class stays Pending. This one is the default for everyone's
      // claims, and plinth's name it explicitly.
      const storageClass = new k8s.storage.v1.StorageClass(
        `${name}-storage-class`,
        {
          metadata: {
            name: EBS_STORAGE_CLASS,
            annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
          },
          provisioner: "ebs.csi.aws.com",
          parameters: { type: "gp3", encrypted: "true", "csi.storage.k8s.io/fstype": "ext4" },
          volumeBindingMode: "WaitForFirstConsumer",
          allowVolumeExpansion: true,
          reclaimPolicy: "Delete",
        },
        { parent: this, provider: this.provider },
      );
      this.storageClass = storageClass.metadata.name;
    } else if (args.cloud === "gcp") {
      this.storageClass = pulumi.output(GKE_STORAGE_CLASS);
    } else {
      this.storageClass = args.storageClass === undefined ? undefined : pulumi.output(args.storageClass);
    }
    this.registerOutputs({ kubeconfig: this.kubeconfig, provider: this.provider });
  }
}

function apiServerSources(args: ClusterArgs): readonly Source[] {
  switch (args.cloud) {
    case "aws":
      return [{ cidr: args.aws.vpcCidr }];
    case "gcp":
      return [{ cidr: args.gcp.masterCidr }, KONNECTIVITY_AGENTS.gke];
    case "existing":
      return [
        ...(args.apiServerCidrs ?? PRIVATE_RANGES).map((cidr) => ({ cidr })),
        KONNECTIVITY_AGENTS.gke,
        KONNECTIVITY_AGENTS.aks,
      ];
  }
}
