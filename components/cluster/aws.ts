/**
 * The AWS half of Cluster: a VPC with private and public subnets in every zone (one NAT gateway
 * per zone), and an EKS cluster whose secrets are envelope-encrypted with a KMS key, with all
 * control-plane log types on, a private endpoint (public only for an allowlist), managed nodes in
 * the private subnets, the IRSA OIDC provider, the VPC CNI with NetworkPolicy enforcement, the
 * EBS CSI driver (for PersistentVolumes; its IRSA role), metrics-server (the HPA's metrics API: EKS
 * ships none) and EKS access entries with their access policies for the operators config names.
 *
 * Physical names that must be unique in the account carry the stack (`plinth-staging-eks` and its
 * log group `/aws/eks/plinth-staging-eks/cluster`), so staging and production can share an
 * account: see `stackScopedName`. Everything else is auto-named by Pulumi (a random suffix).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { subnetCidr } from "./cidr.js";
import { stackScopedName } from "./physical-names.js";
import { eksKubeconfig } from "./kubeconfig.js";
import { irsaRole, type AwsClusterContext } from "./irsa.js";
import { EKS_ACCESS_POLICIES, type ClusterAccessPolicy } from "./eks-access-policies.js";

export { EKS_ACCESS_POLICIES, type ClusterAccessPolicy };

/** An IAM principal (role or user) given access to the cluster through an EKS access entry. */
export interface ClusterAccess {
  /** `arn:aws:iam::<account>:role/<name>` (or `user/<name>`). */
  readonly principalArn: string;
  /** The EKS access policy associated with the entry: without one, the entry grants nothing. */
  readonly policy: ClusterAccessPolicy;
  /**
   * Namespaces the policy applies in; cluster-wide when absent. `cluster-admin` and `admin-view`
   * are cluster-wide only.
   * @default undefined (the whole cluster)
   */
  readonly namespaces?: readonly string[];
}

/** The ARN of an EKS access policy (they live in the `aws` partition's `cluster-access-policy/` path). */
export function eksAccessPolicyArn(policy: ClusterAccessPolicy): string {
  return `arn:aws:eks::aws:cluster-access-policy/${EKS_ACCESS_POLICIES[policy].name}`;
}

/** The StorageClass the EBS CSI driver provisions plinth's volumes from (gp3, encrypted). */
export const EBS_STORAGE_CLASS = "gp3-encrypted";

export interface AwsClusterOptions {
  readonly region: string;
  /** At least two availability zones of the region. */
  readonly zones: readonly string[];
  readonly vpcCidr: string;
  readonly kubernetesVersion: string;
  /** CIDRs allowed to reach the public API endpoint; empty keeps the endpoint private only. */
  readonly publicEndpointCidrs: readonly string[];
  readonly nodeGroup: {
    readonly instanceTypes: readonly string[];
    readonly minSize: number;
    readonly maxSize: number;
    readonly desiredSize: number;
    readonly diskSizeGb: number;
  };
  /**
   * IAM principals given access to the cluster, each with one access policy. The identity that
   * creates the cluster is cluster admin besides (bootstrapClusterCreatorAdminPermissions).
   * @default []
   */
  readonly clusterAccess?: readonly ClusterAccess[];
  /**
   * What makes the account-unique physical names (the cluster, its log group) unique per stack.
   * @default pulumi.getStack()
   */
  readonly stack?: string;
}

/** `arn:aws:iam::123456789012:role/ops` -> `123456789012-role-ops`: a principal in a logical name. */
function principalSlug(principalArn: string): string {
  return principalArn
    .replace(/^arn:[^:]+:iam::/, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** EKS limit on cluster names. */
const MAX_CLUSTER_NAME = 100;

/** Every control-plane log type EKS offers. */
export const EKS_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"];

const MANAGED_POLICY = "arn:aws:iam::aws:policy/";

function assumeRolePolicy(service: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: { Service: service }, Action: ["sts:AssumeRole", "sts:TagSession"] },
    ],
  });
}

function attach(name: string, role: aws.iam.Role, policies: readonly string[], parent: pulumi.Resource) {
  return policies.map(
    (policy) =>
      new aws.iam.RolePolicyAttachment(
        `${name}-${policy.toLowerCase().replace(/_/g, "-")}`,
        { role: role.name, policyArn: `${MANAGED_POLICY}${policy}` },
        { parent },
      ),
  );
}

function network(name: string, options: AwsClusterOptions, clusterName: string, parent: pulumi.Resource) {
  const opts = { parent };
  const vpc = new aws.ec2.Vpc(
    `${name}-vpc`,
    {
      cidrBlock: options.vpcCidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: `${name}-vpc` },
    },
    opts,
  );
  const internetGateway = new aws.ec2.InternetGateway(
    `${name}-igw`,
    { vpcId: vpc.id, tags: { Name: `${name}-igw` } },
    opts,
  );
  const publicRoutes = new aws.ec2.RouteTable(
    `${name}-public-rt`,
    {
      vpcId: vpc.id,
      routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: internetGateway.id }],
      tags: { Name: `${name}-public` },
    },
    opts,
  );
  const clusterTag = { [`kubernetes.io/cluster/${clusterName}`]: "shared" };
  const privateSubnetIds: pulumi.Output<string>[] = [];
  options.zones.forEach((zone, index) => {
    // Private /20s from the bottom of the VPC, small public /24-ish blocks from the top.
    const publicSubnet = new aws.ec2.Subnet(
      `${name}-public-${zone}`,
      {
        vpcId: vpc.id,
        availabilityZone: zone,
        cidrBlock: subnetCidr(options.vpcCidr, 4, 15 - index),
        mapPublicIpOnLaunch: false,
        tags: { Name: `${name}-public-${zone}`, "kubernetes.io/role/elb": "1", ...clusterTag },
      },
      opts,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-public-${zone}`,
      { subnetId: publicSubnet.id, routeTableId: publicRoutes.id },
      opts,
    );
    const natIp = new aws.ec2.Eip(
      `${name}-nat-${zone}`,
      { domain: "vpc", tags: { Name: `${name}-nat-${zone}` } },
      opts,
    );
    const nat = new aws.ec2.NatGateway(
      `${name}-nat-${zone}`,
      { subnetId: publicSubnet.id, allocationId: natIp.id, tags: { Name: `${name}-nat-${zone}` } },
      { parent, dependsOn: [internetGateway] },
    );
    const privateSubnet = new aws.ec2.Subnet(
      `${name}-private-${zone}`,
      {
        vpcId: vpc.id,
        availabilityZone: zone,
        cidrBlock: subnetCidr(options.vpcCidr, 4, index),
        mapPublicIpOnLaunch: false,
        tags: { Name: `${name}-private-${zone}`, "kubernetes.io/role/internal-elb": "1", ...clusterTag },
      },
      opts,
    );
    const privateRoutes = new aws.ec2.RouteTable(
      `${name}-private-rt-${zone}`,
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
        tags: { Name: `${name}-private-${zone}` },
      },
      opts,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-private-${zone}`,
      { subnetId: privateSubnet.id, routeTableId: privateRoutes.id },
      opts,
    );
    privateSubnetIds.push(privateSubnet.id);
  });
  return { vpc, privateSubnetIds };
}

export function awsCluster(
  name: string,
  options: AwsClusterOptions,
  protect: boolean,
  parent: pulumi.Resource,
) {
  if (options.zones.length < 2) {
    throw new pulumi.ResourceError(
      `aws clusters need at least two zones; got ${options.zones.length}`,
      parent,
    );
  }
  const principals = new Set<string>();
  for (const [index, access] of (options.clusterAccess ?? []).entries()) {
    if (principals.has(access.principalArn)) {
      throw new pulumi.ResourceError(
        `clusterAccess[${index}]: ${access.principalArn} is listed twice; EKS takes one access entry per principal`,
        parent,
      );
    }
    principals.add(access.principalArn);
    if (access.namespaces !== undefined && !EKS_ACCESS_POLICIES[access.policy].namespaced) {
      throw new pulumi.ResourceError(
        `clusterAccess[${index}]: ${access.policy} is cluster-wide; remove namespaces or choose admin, edit or view`,
        parent,
      );
    }
  }
  const clusterName = stackScopedName([name, options.stack ?? pulumi.getStack(), "eks"], MAX_CLUSTER_NAME);
  const opts = { parent };
  const { vpc, privateSubnetIds } = network(name, options, clusterName, parent);

  const secretsKey = new aws.kms.Key(
    `${name}-secrets-key`,
    {
      description: `Envelope encryption of Kubernetes secrets in ${clusterName}`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
    },
    { parent, protect },
  );
  const logs = new aws.cloudwatch.LogGroup(
    `${name}-control-plane-logs`,
    { name: `/aws/eks/${clusterName}/cluster`, retentionInDays: 90 },
    opts,
  );
  const clusterRole = new aws.iam.Role(
    `${name}-cluster-role`,
    { assumeRolePolicy: assumeRolePolicy("eks.amazonaws.com") },
    opts,
  );
  const clusterPolicies = attach(`${name}-cluster-role`, clusterRole, ["AmazonEKSClusterPolicy"], parent);

  const publicCidrs = [...options.publicEndpointCidrs];
  const cluster = new aws.eks.Cluster(
    `${name}-eks`,
    {
      name: clusterName,
      version: options.kubernetesVersion,
      roleArn: clusterRole.arn,
      vpcConfig: {
        subnetIds: privateSubnetIds,
        endpointPrivateAccess: true,
        endpointPublicAccess: publicCidrs.length > 0,
        ...(publicCidrs.length > 0 ? { publicAccessCidrs: publicCidrs } : {}),
      },
      encryptionConfig: { provider: { keyArn: secretsKey.arn }, resources: ["secrets"] },
      enabledClusterLogTypes: EKS_LOG_TYPES,
      accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
    },
    { parent, dependsOn: [logs, ...clusterPolicies] },
  );

  const issuer = cluster.identities.apply((identities) => identities[0]?.oidcs?.[0]?.issuer ?? "");
  const oidcProvider = new aws.iam.OpenIdConnectProvider(
    `${name}-oidc`,
    { url: issuer, clientIdLists: ["sts.amazonaws.com"] },
    opts,
  );
  const context: AwsClusterContext = {
    region: options.region,
    vpcId: vpc.id,
    vpcCidr: options.vpcCidr,
    privateSubnetIds,
    clusterSecurityGroupId: cluster.vpcConfig.clusterSecurityGroupId,
    oidcProviderArn: oidcProvider.arn,
    oidcIssuer: issuer,
  };

  // EKS installs a self-managed VPC CNI whose network-policy agent is off, so NetworkPolicies (the
  // platform's pod-to-pod boundaries, e.g. who may reach the inference port) would be accepted but
  // not enforced. The managed add-on takes that CNI over with the agent on.
  const vpcCni = new aws.eks.Addon(
    `${name}-vpc-cni`,
    {
      clusterName: cluster.name,
      addonName: "vpc-cni",
      configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }),
      resolveConflictsOnCreate: "OVERWRITE",
      resolveConflictsOnUpdate: "OVERWRITE",
    },
    opts,
  );

  const nodeRole = new aws.iam.Role(
    `${name}-node-role`,
    { assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com") },
    opts,
  );
  const nodePolicies = attach(
    `${name}-node-role`,
    nodeRole,
    ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"],
    parent,
  );
  const nodes = new aws.eks.NodeGroup(
    `${name}-nodes`,
    {
      clusterName: cluster.name,
      nodeRoleArn: nodeRole.arn,
      subnetIds: privateSubnetIds,
      instanceTypes: [...options.nodeGroup.instanceTypes],
      amiType: "AL2023_x86_64_STANDARD",
      diskSize: options.nodeGroup.diskSizeGb,
      scalingConfig: {
        minSize: options.nodeGroup.minSize,
        maxSize: options.nodeGroup.maxSize,
        desiredSize: options.nodeGroup.desiredSize,
      },
      updateConfig: { maxUnavailable: 1 },
    },
    // Nodes join with the network-policy agent already configured, never with the default CNI.
    { parent, dependsOn: [...nodePolicies, vpcCni] },
  );

  // The EBS CSI controller creates, attaches and deletes volumes through its own IRSA role; the
  // add-on waits for the role's policy so its first volume is not refused.
  const ebsCsiRole = irsaRole(`${name}-ebs-csi`, context, "kube-system", "ebs-csi-controller-sa", parent);
  const ebsCsiPolicy = new aws.iam.RolePolicyAttachment(
    `${name}-ebs-csi-policy`,
    { role: ebsCsiRole.name, policyArn: `${MANAGED_POLICY}service-role/AmazonEBSCSIDriverPolicy` },
    opts,
  );
  const ebsCsi = new aws.eks.Addon(
    `${name}-ebs-csi`,
    { clusterName: cluster.name, addonName: "aws-ebs-csi-driver", serviceAccountRoleArn: ebsCsiRole.arn },
    { parent, dependsOn: [nodes, ebsCsiPolicy] },
  );
  // EKS runs no metrics-server, so without it the HPA reads no CPU and never scales. The community
  // add-on is AWS-built and versioned with the cluster, like the other add-ons here.
  const metricsServer = new aws.eks.Addon(
    `${name}-metrics-server`,
    { clusterName: cluster.name, addonName: "metrics-server" },
    { parent, dependsOn: [nodes] },
  );

  // An access entry alone authenticates a principal and authorises nothing: the association with an
  // access policy is what grants access (no RBAC binding names these principals).
  // Named by principal, not by position: reordering the list replaces nothing.
  for (const access of options.clusterAccess ?? []) {
    const entryName = `${name}-access-${principalSlug(access.principalArn)}`;
    const entry = new aws.eks.AccessEntry(
      entryName,
      { clusterName: cluster.name, principalArn: access.principalArn, type: "STANDARD" },
      opts,
    );
    new aws.eks.AccessPolicyAssociation(
      `${entryName}-${access.policy}`,
      {
        clusterName: entry.clusterName,
        principalArn: entry.principalArn,
        policyArn: eksAccessPolicyArn(access.policy),
        accessScope:
          access.namespaces === undefined
            ? { type: "cluster" }
            : { type: "namespace", namespaces: [...access.namespaces] },
      },
      opts,
    );
  }

  const kubeconfig = eksKubeconfig(
    cluster.name,
    cluster.endpoint,
    cluster.certificateAuthority.data,
    options.region,
  );
  return {
    kubeconfig,
    context,
    readiness: [vpcCni, nodes, ebsCsi, metricsServer] as pulumi.Resource[],
  };
}
