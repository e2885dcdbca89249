/**
 * What an EKS cluster needs before plinth's workloads work on it, and what two stacks in one AWS
 * account must not share (#18): an encrypted gp3 default StorageClass served by the EBS CSI driver
 * (EKS has marked no class default since 1.30, so an unnamed claim stays Pending), the
 * metrics-server add-on the HPA reads CPU from, access entries that grant what config says (an
 * entry without an access policy grants nothing), and physical names scoped to the stack.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { eksAccessPolicyArn } from "../../components/cluster/index.js";
import { renderStack } from "../../infra/render/index.js";
import type { RenderedResource } from "../../infra/render/types.js";
import { configProblems, stagingWith } from "../support/stack-config-problems.js";
import { at, StackView } from "../support/stack.js";

const OPS = "arn:aws:iam::123456789012:role/plinth-operators";
const ONCALL = "arn:aws:iam::123456789012:role/plinth-oncall";
const CI = "arn:aws:iam::123456789012:role/plinth-deploy";
const CLUSTER_ACCESS = [
  { principalArn: OPS, policy: "cluster-admin" },
  { principalArn: ONCALL, policy: "view", namespaces: ["plinth", "mlflow"] },
  { principalArn: CI, policy: "admin-view" },
];

let staging: StackView;
let production: StackView;
let stagingProtected: StackView;
beforeAll(async () => {
  const [a, b, c] = await Promise.all([
    renderStack({ stack: "staging", cloud: "aws", config: { aws: { clusterAccess: CLUSTER_ACCESS } } }),
    renderStack({ stack: "production", cloud: "aws" }),
    // Both stacks protected: each then names a final snapshot of its database.
    renderStack({ stack: "staging", cloud: "aws", config: { protect: true } }),
  ]);
  staging = new StackView(a);
  production = new StackView(b);
  stagingProtected = new StackView(c);
});

describe("EKS volumes: an encrypted gp3 default StorageClass from the EBS CSI driver", () => {
  it("creates the class: EBS CSI provisioner, gp3, encrypted, the cluster's default, bound where the pod lands", () => {
    const storageClass = staging.manifest("StorageClass", "gp3-encrypted");
    expect(storageClass).toMatchObject({
      provisioner: "ebs.csi.aws.com",
      parameters: { type: "gp3", encrypted: "true" },
      volumeBindingMode: "WaitForFirstConsumer",
      allowVolumeExpansion: true,
    });
    expect(storageClass.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"]).toBe("true");
    expect(staging.one("kubernetes:storage.k8s.io/v1:StorageClass", "plinth-storage-class").provider).toBe(
      staging.one("pulumi:providers:kubernetes", "plinth-k8s").urn,
    );
  });

  it("runs the EBS CSI driver add-on with an IRSA role bound to its controller's ServiceAccount, after the role's policy", () => {
    const addon = staging.one("aws:eks/addon:Addon", "plinth-ebs-csi");
    const role = staging.one("aws:iam/role:Role", "plinth-ebs-csi");
    expect(addon.inputs).toMatchObject({
      addonName: "aws-ebs-csi-driver",
      clusterName: "plinth-staging-eks",
    });
    expect(addon.inputs.serviceAccountRoleArn).toContain("plinth-ebs-csi");
    const trust = JSON.parse(String(role.inputs.assumeRolePolicy)) as {
      Statement: { Condition: { StringEquals: Record<string, string> } }[];
    };
    expect(Object.values(trust.Statement[0]!.Condition.StringEquals)).toEqual([
      "system:serviceaccount:kube-system:ebs-csi-controller-sa",
      "sts.amazonaws.com",
    ]);
    const policy = staging.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "plinth-ebs-csi-policy");
    expect(policy.inputs.policyArn).toBe("arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy");
    expect(addon.dependencies).toContain(policy.urn);
    // Every Kubernetes object waits for the driver (the provider depends on the add-on).
    expect(staging.one("pulumi:providers:kubernetes", "plinth-k8s").dependencies).toContain(addon.urn);
  });

  it("names the class on Prometheus's volume claim, which waits for the class", () => {
    for (const view of [staging, production]) {
      const release = view.one("kubernetes:helm.sh/v3:Release", "monitoring-kube-prometheus-stack");
      expect(
        at(release.inputs, "values.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec"),
      ).toMatchObject({ storageClassName: "gp3-encrypted", accessModes: ["ReadWriteOnce"] });
      expect(release.dependencies).toContain(
        view.one("kubernetes:storage.k8s.io/v1:StorageClass", "plinth-storage-class").urn,
      );
    }
  });
});

describe("EKS metrics API: the HPA has CPU metrics to scale on", () => {
  it("installs the metrics-server add-on after the nodes, and every Kubernetes object waits for it", () => {
    for (const view of [staging, production]) {
      const addon = view.one("aws:eks/addon:Addon", "plinth-metrics-server");
      expect(addon.inputs.addonName).toBe("metrics-server");
      expect(addon.inputs.clusterName).toBe(view.one("aws:eks/cluster:Cluster", "plinth-eks").inputs.name);
      expect(addon.dependencies).toContain(view.one("aws:eks/nodeGroup:NodeGroup", "plinth-nodes").urn);
      expect(view.one("pulumi:providers:kubernetes", "plinth-k8s").dependencies).toContain(addon.urn);
      expect(view.manifests().filter((m) => m.kind === "HorizontalPodAutoscaler").length).toBeGreaterThan(0);
    }
  });
});

describe("EKS access entries grant what plinth:aws.clusterAccess says", () => {
  it("associates each entry with its access policy, cluster-wide or in the listed namespaces", () => {
    const entries = staging.ofType("aws:eks/accessEntry:AccessEntry");
    const associations = staging.ofType("aws:eks/accessPolicyAssociation:AccessPolicyAssociation");
    expect(entries.map((e) => e.inputs.principalArn).sort()).toEqual([OPS, ONCALL, CI].sort());
    // Named by principal, so reordering plinth:aws.clusterAccess replaces nothing.
    expect(entries.map((e) => e.name)).toContain("plinth-access-123456789012-role-plinth-operators");
    expect(associations.length).toBe(entries.length);
    const grant = (principal: string) => {
      const association = associations.find((a) => a.inputs.principalArn === principal)!;
      const entry = entries.find((e) => e.inputs.principalArn === principal)!;
      // The association is created after its entry (EKS refuses one for an unknown principal).
      expect(association.dependencies).toContain(entry.urn);
      expect(entry.inputs).toMatchObject({ clusterName: "plinth-staging-eks", type: "STANDARD" });
      return { policyArn: association.inputs.policyArn, accessScope: association.inputs.accessScope };
    };
    expect(grant(OPS)).toEqual({
      policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
      accessScope: { type: "cluster" },
    });
    expect(grant(ONCALL)).toEqual({
      policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
      accessScope: { type: "namespace", namespaces: ["plinth", "mlflow"] },
    });
    expect(grant(CI)).toEqual({
      policyArn: eksAccessPolicyArn("admin-view"),
      accessScope: { type: "cluster" },
    });
  });

  it("keeps the creator's bootstrap admin and adds no entry unless config lists one", () => {
    expect(production.ofType("aws:eks/accessEntry:AccessEntry")).toEqual([]);
    expect(at(production.one("aws:eks/cluster:Cluster", "plinth-eks").inputs, "accessConfig")).toEqual({
      authenticationMode: "API",
      bootstrapClusterCreatorAdminPermissions: true,
    });
  });
});

/**
 * Inputs that set a physical name unique in the account (or account and region), by type. An
 * absent input is auto-named by Pulumi with a random suffix, so only explicit ones can collide.
 */
const PHYSICAL_NAMES: Record<string, readonly string[]> = {
  "aws:eks/cluster:Cluster": ["name"],
  "aws:cloudwatch/logGroup:LogGroup": ["name", "namePrefix"],
  "aws:iam/role:Role": ["name", "namePrefix"],
  "aws:rds/instance:Instance": ["identifier", "identifierPrefix", "finalSnapshotIdentifier"],
  "aws:rds/subnetGroup:SubnetGroup": ["name", "namePrefix"],
  "aws:s3/bucket:Bucket": ["bucket", "bucketPrefix"],
  "aws:ec2/securityGroup:SecurityGroup": ["name", "namePrefix"],
  "aws:kms/key:Key": [],
  "aws:eks/nodeGroup:NodeGroup": ["nodeGroupName", "nodeGroupNamePrefix"],
  "aws:elasticache/replicationGroup:ReplicationGroup": ["replicationGroupId", "finalSnapshotIdentifier"],
  "aws:elasticache/subnetGroup:SubnetGroup": ["name"],
};
/** Types whose names live inside another resource of the stack (its VPC, cluster, role or bucket). */
const SCOPED_BY_PARENT = new Set([
  "aws:ec2/eip:Eip",
  "aws:ec2/internetGateway:InternetGateway",
  "aws:ec2/natGateway:NatGateway",
  "aws:ec2/routeTable:RouteTable",
  "aws:ec2/routeTableAssociation:RouteTableAssociation",
  "aws:ec2/subnet:Subnet",
  "aws:ec2/vpc:Vpc",
  "aws:eks/addon:Addon",
  "aws:eks/accessEntry:AccessEntry",
  "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
  // Its URL is the cluster's own OIDC issuer.
  "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
  "aws:iam/rolePolicy:RolePolicy",
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  "aws:s3/bucketPolicy:BucketPolicy",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketVersioning:BucketVersioning",
]);

function physicalNames(view: StackView, except: readonly string[] = []): Map<string, string> {
  const names = new Map<string, string>();
  for (const resource of view.resources.filter((r: RenderedResource) => r.type.startsWith("aws:"))) {
    for (const field of PHYSICAL_NAMES[resource.type] ?? []) {
      const value = resource.inputs[field];
      if (typeof value === "string" && !except.includes(field))
        names.set(`${resource.type} ${field}=${value}`, resource.name);
    }
  }
  return names;
}

describe("two stacks in one AWS account share no physical name", () => {
  it("classifies every AWS resource type plinth creates: named per account, or inside a resource of its own stack", () => {
    const types = new Set(
      [staging, production, stagingProtected].flatMap((v) =>
        v.resources.map((r) => r.type).filter((t) => t.startsWith("aws:")),
      ),
    );
    const unclassified = [...types].filter((t) => !(t in PHYSICAL_NAMES) && !SCOPED_BY_PARENT.has(t));
    expect(unclassified).toEqual([]);
  });

  it("scopes the cluster and its control-plane log group by the stack", () => {
    for (const [view, stack] of [
      [staging, "staging"],
      [production, "production"],
    ] as const) {
      const cluster = view.one("aws:eks/cluster:Cluster", "plinth-eks");
      expect(cluster.inputs.name).toBe(`plinth-${stack}-eks`);
      expect(view.one("aws:cloudwatch/logGroup:LogGroup", "plinth-control-plane-logs").inputs.name).toBe(
        `/aws/eks/plinth-${stack}-eks/cluster`,
      );
      // The subnets' cluster tag names the same cluster (the load balancer controller finds them by it).
      const subnet = view.ofType("aws:ec2/subnet:Subnet")[0]!;
      expect(Object.keys(subnet.inputs.tags as Record<string, string>)).toContain(
        `kubernetes.io/cluster/plinth-${stack}-eks`,
      );
    }
  });

  it("renders staging and production with no explicit name in common", () => {
    // The database's final snapshot is components/mlflow/aws.ts's: pinned by the test below.
    const ours = physicalNames(stagingProtected, ["finalSnapshotIdentifier"]);
    const theirs = physicalNames(production, ["finalSnapshotIdentifier"]);
    expect(ours.size).toBeGreaterThanOrEqual(2);
    expect([...ours.keys()].filter((name) => theirs.has(name))).toEqual([]);
  });

  it("names each protected database's final snapshot per stack", () => {
    const snapshot = (view: StackView) =>
      view.one("aws:rds/instance:Instance", "mlflow-db").inputs.finalSnapshotIdentifier;
    expect(snapshot(production)).toBeTypeOf("string");
    expect(snapshot(stagingProtected)).toBeTypeOf("string");
    expect(snapshot(stagingProtected)).not.toBe(snapshot(production));
  });
});

const problems = (override: Record<string, unknown>) => configProblems(stagingWith(override));

describe("plinth:aws.clusterAccess errors name their config path", () => {
  it("accepts the documented forms and defaults to no entries", () => {
    expect(problems({ aws: { clusterAccess: CLUSTER_ACCESS } })).toEqual([]);
    expect(problems({})).toEqual([]);
  });

  it("refuses namespaces on a cluster-wide policy, an unknown policy, a malformed ARN and a principal listed twice", () => {
    expect(
      problems({
        aws: {
          clusterAccess: [
            { principalArn: OPS, policy: "cluster-admin", namespaces: ["plinth"] },
            { principalArn: "plinth-operators", policy: "view" },
            { principalArn: ONCALL, policy: "root" },
          ],
        },
      }),
    ).toEqual([
      "plinth:aws.clusterAccess[0].namespaces: cluster-admin is cluster-wide; remove namespaces or choose admin, edit or view",
      "plinth:aws.clusterAccess[1].principalArn: expected an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-admins",
      "plinth:aws.clusterAccess[2].policy: expected cluster-admin, admin-view, admin, edit or view",
    ]);
    expect(
      problems({
        aws: {
          clusterAccess: [
            { principalArn: OPS, policy: "cluster-admin" },
            { principalArn: OPS, policy: "view" },
          ],
        },
      }),
    ).toEqual([
      "plinth:aws.clusterAccess[1].principalArn: listed twice: EKS takes one access entry per principal; give it one policy",
    ]);
  });
});
