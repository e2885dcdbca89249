/**
 * IAM Roles for Service Accounts: an IAM role that exactly one Kubernetes ServiceAccount may
 * assume through the cluster's OIDC provider. Pods get short-lived credentials; no static keys.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** What AWS-side components need from the cluster. */
export interface AwsClusterContext {
  readonly region: string;
  readonly vpcId: pulumi.Output<string>;
  readonly vpcCidr: string;
  readonly privateSubnetIds: pulumi.Output<string>[];
  /**
   * The security group EKS creates for the cluster, on every managed node (and so on every pod: the
   * VPC CNI gives pods the node's groups). Data stores in the VPC admit the cluster by it.
   */
  readonly clusterSecurityGroupId: pulumi.Output<string>;
  readonly oidcProviderArn: pulumi.Output<string>;
  /** https://oidc.eks.<region>.amazonaws.com/id/<id> */
  readonly oidcIssuer: pulumi.Output<string>;
}

/** The trust policy that lets only `system:serviceaccount:<namespace>:<serviceAccount>` assume the role. */
export function irsaTrustPolicy(
  providerArn: string,
  issuer: string,
  namespace: string,
  serviceAccount: string,
): string {
  const host = issuer.replace(/^https:\/\//, "");
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${host}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
            [`${host}:aud`]: "sts.amazonaws.com",
          },
        },
      },
    ],
  });
}

export function irsaRole(
  name: string,
  cluster: AwsClusterContext,
  namespace: string,
  serviceAccount: string,
  parent: pulumi.Resource,
): aws.iam.Role {
  const assumeRolePolicy = pulumi
    .all([cluster.oidcProviderArn, cluster.oidcIssuer])
    .apply(([arn, issuer]) => irsaTrustPolicy(arn, issuer, namespace, serviceAccount));
  return new aws.iam.Role(name, { assumeRolePolicy }, { parent });
}
