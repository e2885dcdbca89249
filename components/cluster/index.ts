/**
 * Cluster: the Kubernetes cluster plinth runs on and the explicit Kubernetes provider every other
 * component uses. `aws` builds a VPC and EKS, `gcp` a VPC and private GKE, `existing` takes a
 * kubeconfig from config. The kubeconfig output is always a secret.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { awsCluster, type AwsClusterOptions } from "./aws.js";
import { gcpCluster, type GcpClusterContext, type GcpClusterOptions } from "./gcp.js";
import type { AwsClusterContext } from "./irsa.js";

export type { AwsClusterContext } from "./irsa.js";
export type { GcpClusterContext } from "./gcp.js";
export { workloadIdentityMember } from "./gcp.js";
export { irsaRole, irsaTrustPolicy } from "./irsa.js";

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

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("plinth:cluster:Cluster", name, {}, opts);
    this.cloud = args.cloud;
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
    this.registerOutputs({ kubeconfig: this.kubeconfig, provider: this.provider });
  }
}
