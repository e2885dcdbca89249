import * as policies from "../../policies/aws.js";
import { describe, expect, it } from "vitest";
import { evaluatePolicies, type PolicyTarget } from "../../policies/runner/evaluate.js";
import { statefulResourcesProtected } from "../../policies/stack-wide.js";
import { describePolicy } from "./cases.js";
import { awsStack } from "./fixtures/clouds.js";
import { target } from "./fixtures/target.js";
import type { PolicyResource, StackValidationArgs } from "@pulumi/policy";

const BUCKET = 'S3 bucket "plinth-artifacts"';
const DB = 'RDS instance "plinth-mlflow"';
const EKS = 'EKS cluster "plinth-eks"';

describePolicy(policies.s3BucketEncryption, [
  {
    change: "an encryption rule without an algorithm",
    stack: "aws",
    resource: "BucketServerSideEncryptionConfiguration:artifacts-encryption",
    path: ["rules", 0, "applyServerSideEncryptionByDefault"],
    value: undefined,
    reportedOn: "Bucket:artifacts",
    message: `${BUCKET} has no default encryption. Add an aws.s3.BucketServerSideEncryptionConfiguration with bucket set to this bucket and rules[0].applyServerSideEncryptionByDefault.sseAlgorithm "aws:kms".`,
  },
]);

describe("S3 bucket rules: the bucket's own deprecated inline blocks", () => {
  /** The fixture with its encryption and versioning resources replaced by the bucket's inline blocks. */
  const inlineOnly = (inline: Record<string, unknown>) => {
    const stack = awsStack().filter(
      (t) =>
        t.type !== "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration" &&
        t.type !== "aws:s3/bucketVersioning:BucketVersioning",
    );
    Object.assign(stack.find((t) => t.type === "aws:s3/bucket:Bucket")!.props, inline);
    return stack;
  };
  const findings = async (stack: PolicyTarget[]) =>
    (await evaluatePolicies([policies.s3BucketEncryption, policies.s3BucketVersioning], stack, {})).map(
      (v) => v.message,
    );
  const ENCRYPTED = {
    serverSideEncryptionConfiguration: {
      rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } },
    },
  };

  it("raises nothing for a bucket encrypted and versioned inline", async () => {
    expect(await findings(inlineOnly({ ...ENCRYPTED, versioning: { enabled: true } }))).toEqual([]);
  });

  it("reports an inline block that encrypts nothing or does not version", async () => {
    expect(
      await findings(
        inlineOnly({ serverSideEncryptionConfiguration: { rule: {} }, versioning: { enabled: false } }),
      ),
    ).toEqual([
      `${BUCKET} has no default encryption. Add an aws.s3.BucketServerSideEncryptionConfiguration with bucket set to this bucket and rules[0].applyServerSideEncryptionByDefault.sseAlgorithm "aws:kms".`,
      `${BUCKET} is not versioned. Add an aws.s3.BucketVersioning with bucket set to this bucket and versioningConfiguration.status "Enabled".`,
    ]);
  });
});

const NOT_ENCRYPTED = (bucket: string) =>
  `S3 bucket "${bucket}" has no default encryption. Add an aws.s3.BucketServerSideEncryptionConfiguration with bucket set to this bucket and rules[0].applyServerSideEncryptionByDefault.sseAlgorithm "aws:kms".`;

describe("S3 bucket rules: a companion resource belongs to the bucket its bucket property names", () => {
  const ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
  /** The fixture stack plus a second bucket, "plinth-other" (or unnamed), protected and blocked alike. */
  const twoBuckets = (otherProps: Record<string, unknown> = { bucket: "plinth-other" }) => {
    const stack = awsStack();
    const artifacts = stack.find((t) => t.type === "aws:s3/bucket:Bucket")!;
    const other = target("aws:s3/bucket:Bucket", "other", otherProps, { protect: true });
    stack.push(other);
    const encryption = stack.find((t) => t.type === ENCRYPTION)!;
    return { stack, artifacts, other, encryption };
  };
  const encryptionFindings = async (stack: PolicyTarget[]) =>
    (await evaluatePolicies([policies.s3BucketEncryption], stack, {})).map((v) => ({
      urn: v.urn,
      message: v.message,
    }));

  it("reports a bucket that another bucket's encryption merely depends on (dependsOn: [a, b])", async () => {
    const { stack, artifacts, other, encryption } = twoBuckets();
    encryption.props.bucket = "plinth-other";
    encryption.dependencies = [artifacts.urn, other.urn];
    expect(await encryptionFindings(stack)).toEqual([
      { urn: artifacts.urn, message: NOT_ENCRYPTED("plinth-artifacts") },
    ]);
  });

  it("does not count a configuration naming a bucket outside the stack for the bucket it depends on", async () => {
    const stack = awsStack();
    const artifacts = stack.find((t) => t.type === "aws:s3/bucket:Bucket")!;
    const encryption = stack.find((t) => t.type === ENCRYPTION)!;
    encryption.props.bucket = "someone-elses-bucket";
    expect(await encryptionFindings(stack)).toEqual([
      { urn: artifacts.urn, message: NOT_ENCRYPTED("plinth-artifacts") },
    ]);
  });

  it("counts a configuration whose edges lead to two buckets and whose bucket names neither for none", async () => {
    // Autonamed buckets referenced by id: the policy sees neither name, and the edges do not say which.
    const { stack, artifacts, other, encryption } = twoBuckets({});
    delete artifacts.props.bucket;
    encryption.props.bucket = "other-id";
    encryption.dependencies = [artifacts.urn, other.urn];
    expect(await encryptionFindings(stack)).toEqual([
      { urn: artifacts.urn, message: NOT_ENCRYPTED("artifacts") },
      { urn: other.urn, message: NOT_ENCRYPTED("other") },
    ]);
  });

  it.each([
    [
      "a configuration linked by the bucket's name only (no dependency edge)",
      (t: ReturnType<typeof twoBuckets>) => {
        t.encryption.dependencies = [];
      },
    ],
    [
      "a configuration for an autonamed bucket by id (a value the policy cannot see), depending on it alone",
      (t: ReturnType<typeof twoBuckets>) => {
        delete t.artifacts.props.bucket;
        t.encryption.props.bucket = "artifacts-id";
        t.encryption.dependencies = [t.artifacts.urn];
      },
    ],
    [
      "a configuration naming its bucket that also depends on another bucket",
      (t: ReturnType<typeof twoBuckets>) => {
        t.encryption.dependencies = [t.artifacts.urn, t.other.urn];
      },
    ],
  ])("raises nothing on the artifacts bucket for %s", async (_name, change) => {
    const shape = twoBuckets();
    change(shape);
    const found = await encryptionFindings(shape.stack);
    expect(found.filter((v) => v.urn === shape.artifacts.urn)).toEqual([]);
  });

  it("follows the engine's per-property dependencies of bucket when it reports them", () => {
    // The engine reports which resources each input was computed from (PolicyResource.propertyDependencies).
    const resource = (type: string, name: string, props: Record<string, unknown>): PolicyResource =>
      ({
        type,
        name,
        urn: `urn:pulumi:test::plinth::${type}::${name}`,
        props,
        opts: { protect: true, ignoreChanges: [], aliases: [], additionalSecretOutputs: [] },
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
      }) as unknown as PolicyResource;
    const a = resource("aws:s3/bucket:Bucket", "a", {});
    const b = resource("aws:s3/bucket:Bucket", "b", {});
    const config = resource(ENCRYPTION, "b-encryption", {
      bucket: "b-id",
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }],
    });
    config.dependencies = [a, b];
    config.propertyDependencies = { bucket: [b] };
    const reported: (string | undefined)[] = [];
    const args = { resources: [a, b, config], getConfig: () => ({}) } as unknown as StackValidationArgs;
    void policies.s3BucketEncryption.validateStack(args, (_message, urn) => reported.push(urn));
    expect(reported).toEqual([a.urn]);
  });

  it("matches versioning and public access blocks the same way", async () => {
    const { stack, artifacts, other } = twoBuckets();
    for (const companion of stack.filter((t) => /BucketVersioning|BucketPublicAccessBlock/.test(t.type))) {
      companion.props.bucket = "plinth-other";
      companion.dependencies = [artifacts.urn, other.urn];
    }
    const found = await evaluatePolicies(
      [policies.s3BucketVersioning, policies.s3BucketPublicAccessBlock],
      stack,
      {},
    );
    expect(found.map((v) => [v.policy, v.urn])).toEqual([
      ["s3-bucket-versioning", artifacts.urn],
      ["s3-bucket-public-access-block", artifacts.urn],
    ]);
  });
});

describePolicy(policies.s3BucketVersioning, [
  {
    change: "versioning suspended",
    stack: "aws",
    resource: "BucketVersioning:artifacts-versioning",
    path: ["versioningConfiguration", "status"],
    value: "Suspended",
    reportedOn: "Bucket:artifacts",
    message: `${BUCKET} is not versioned. Add an aws.s3.BucketVersioning with bucket set to this bucket and versioningConfiguration.status "Enabled".`,
  },
]);

describePolicy(policies.s3BucketPublicAccessBlock, [
  {
    change: "the access block pointing at another bucket",
    stack: "aws",
    resource: "BucketPublicAccessBlock:artifacts-public-access",
    path: ["bucket"],
    value: "someone-elses-bucket",
    reportedOn: "Bucket:artifacts",
    message: `${BUCKET} has no public access block. Add an aws.s3.BucketPublicAccessBlock with bucket set to this bucket and blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets all true.`,
  },
  {
    change: "public bucket policies allowed",
    stack: "aws",
    resource: "BucketPublicAccessBlock:artifacts-public-access",
    path: ["blockPublicPolicy"],
    value: false,
    reportedOn: "Bucket:artifacts",
    message: `${BUCKET}'s public access block does not set blockPublicPolicy. Set blockPublicPolicy to true on its aws.s3.BucketPublicAccessBlock.`,
  },
]);

describePolicy(policies.rdsStorageEncrypted, [
  {
    change: "unencrypted storage",
    stack: "aws",
    resource: "Instance:mlflow-db",
    path: ["storageEncrypted"],
    value: false,
    message: `${DB} is not encrypted. Set storageEncrypted to true (and kmsKeyId to a customer-managed key).`,
  },
]);

describePolicy(policies.rdsNotPublic, [
  {
    change: "public access",
    stack: "aws",
    resource: "Instance:mlflow-db",
    path: ["publiclyAccessible"],
    value: true,
    message: `${DB} is publicly accessible. Set publiclyAccessible to false.`,
  },
]);

describePolicy(policies.rdsBackups, [
  {
    change: "backups shorter than the default minimum",
    stack: "aws",
    resource: "Instance:mlflow-db",
    path: ["backupRetentionPeriod"],
    value: 3,
    message: `${DB} keeps backups for 3 days. Set backupRetentionPeriod to at least 7.`,
  },
  {
    change: "backups shorter than a configured minimum",
    stack: "aws",
    resource: "Instance:mlflow-db",
    path: ["backupRetentionPeriod"],
    value: 10,
    config: { minBackupRetentionDays: 14 },
    message: `${DB} keeps backups for 10 days. Set backupRetentionPeriod to at least 14.`,
  },
  {
    // The provider documents 0 as the default and sends it on create: backups off.
    change: "backupRetentionPeriod unset on an instance",
    stack: "aws",
    resource: "Instance:mlflow-db",
    path: ["backupRetentionPeriod"],
    value: undefined,
    message: `${DB} keeps backups for 0 days (the default). Set backupRetentionPeriod to at least 7.`,
  },
  {
    change: "backupRetentionPeriod unset on an instance, in a stack that asks for 1 day (staging)",
    stack: "aws",
    resource: "Instance:mlflow-db",
    path: ["backupRetentionPeriod"],
    value: undefined,
    config: { minBackupRetentionDays: 1 },
    message: `${DB} keeps backups for 0 days (the default). Set backupRetentionPeriod to at least 1.`,
  },
  {
    change: "one day of backups",
    stack: "aws",
    resource: "Instance:mlflow-db",
    path: ["backupRetentionPeriod"],
    value: 1,
    message: `${DB} keeps backups for 1 day. Set backupRetentionPeriod to at least 7.`,
  },
]);

describePolicy(policies.rdsDeletionProtection, [
  {
    change: "deletion protection off",
    stack: "aws",
    resource: "Instance:mlflow-db",
    path: ["deletionProtection"],
    value: false,
    message: `${DB} can be deleted. Set deletionProtection to true.`,
  },
  {
    change: "no final snapshot",
    stack: "aws",
    resource: "Instance:mlflow-db",
    path: ["skipFinalSnapshot"],
    value: true,
    message: `${DB} skips its final snapshot. Set skipFinalSnapshot to false and finalSnapshotIdentifier.`,
  },
]);

describePolicy(policies.eksSecretsEncryption, [
  {
    change: "encryption of configmaps only",
    stack: "aws",
    resource: "Cluster:eks",
    path: ["encryptionConfig", "resources"],
    value: ["configmaps"],
    message: `${EKS} does not encrypt Secrets with KMS. Set encryptionConfig to { resources: ["secrets"], provider: { keyArn: <KMS key ARN> } }.`,
  },
]);

describePolicy(policies.eksControlPlaneLogging, [
  {
    change: "audit logs off",
    stack: "aws",
    resource: "Cluster:eks",
    path: ["enabledClusterLogTypes"],
    value: ["api", "authenticator"],
    message: `${EKS} does not log audit. Add ["audit"] to enabledClusterLogTypes.`,
  },
]);

describePolicy(policies.eksEndpointRestricted, [
  {
    change: "no private endpoint",
    stack: "aws",
    resource: "Cluster:eks",
    path: ["vpcConfig", "endpointPrivateAccess"],
    value: false,
    message: `${EKS} has no private endpoint. Set vpcConfig.endpointPrivateAccess to true.`,
  },
  {
    change: "a public endpoint open to the internet",
    stack: "aws",
    resource: "Cluster:eks",
    path: ["vpcConfig", "publicAccessCidrs"],
    value: ["0.0.0.0/0"],
    message: `${EKS} has a public endpoint open to 0.0.0.0/0. Set vpcConfig.endpointPublicAccess to false, or vpcConfig.publicAccessCidrs to the office and CI ranges.`,
  },
]);

const NO_VPC_CNI = `${EKS} has no vpc-cni add-on, so its NetworkPolicies are not enforced. Add an aws.eks.Addon with clusterName set to this cluster, addonName "vpc-cni" and configurationValues JSON.stringify({ enableNetworkPolicy: "true" }).`;
const VPC_CNI_OFF = `${EKS}'s vpc-cni add-on does not enable network policy, so its NetworkPolicies are not enforced. Set the add-on's configurationValues JSON.stringify({ enableNetworkPolicy: "true" }).`;

describePolicy(policies.eksNetworkPolicyEnforced, [
  {
    change: "no vpc-cni add-on",
    stack: "aws",
    remove: "Addon:vpc-cni",
    reportedOn: "Cluster:eks",
    message: NO_VPC_CNI,
  },
  {
    change: "the vpc-cni add-on of another cluster",
    stack: "aws",
    resource: "Addon:vpc-cni",
    path: ["clusterName"],
    value: "other-eks",
    reportedOn: "Cluster:eks",
    message: NO_VPC_CNI,
  },
  {
    change: 'enableNetworkPolicy "false"',
    stack: "aws",
    resource: "Addon:vpc-cni",
    path: ["configurationValues"],
    value: JSON.stringify({ enableNetworkPolicy: "false" }),
    message: VPC_CNI_OFF,
  },
  {
    change: "no configurationValues",
    stack: "aws",
    resource: "Addon:vpc-cni",
    path: ["configurationValues"],
    value: undefined,
    message: VPC_CNI_OFF,
  },
]);

describe("eks-network-policy-enforced: an add-on belongs to the cluster its clusterName names", () => {
  it("reports a cluster that another cluster's vpc-cni add-on merely depends on", async () => {
    const stack = awsStack();
    const cluster = stack.find((t) => t.type === "aws:eks/cluster:Cluster")!;
    const addon = stack.find((t) => t.type === "aws:eks/addon:Addon")!;
    addon.props.clusterName = "other-eks";
    addon.dependencies = [cluster.urn];
    const found = await evaluatePolicies([policies.eksNetworkPolicyEnforced], stack, {});
    expect(found.map((v) => ({ urn: v.urn, message: v.message }))).toEqual([
      { urn: cluster.urn, message: NO_VPC_CNI },
    ]);
  });

  it("raises nothing for an add-on naming its cluster by an id the policy cannot see, depending on it alone", async () => {
    const stack = awsStack();
    const cluster = stack.find((t) => t.type === "aws:eks/cluster:Cluster")!;
    const addon = stack.find((t) => t.type === "aws:eks/addon:Addon")!;
    delete cluster.props.name;
    addon.props.clusterName = "eks-id";
    addon.dependencies = [cluster.urn];
    expect(await evaluatePolicies([policies.eksNetworkPolicyEnforced], stack, {})).toEqual([]);
  });
});

describePolicy(policies.iamNoStaticAccessKeys, [
  {
    change: "an access key",
    stack: "aws",
    add: target("aws:iam/accessKey:AccessKey", "mlflow-key", { user: "mlflow" }),
    message:
      'IAM access key "mlflow-key" for user "mlflow" is a static credential. Remove it and grant the workload an IAM role through IRSA (a ServiceAccount annotated eks.amazonaws.com/role-arn).',
  },
]);

describe("Aurora: the RDS policies read clusters and their instances", () => {
  const AURORA = 'Aurora cluster "plinth-mlflow-aurora"';
  const compliantCluster = {
    clusterIdentifier: "plinth-mlflow-aurora",
    engine: "aurora-postgresql",
    storageEncrypted: true,
    backupRetentionPeriod: 14,
    deletionProtection: true,
    skipFinalSnapshot: false,
    finalSnapshotIdentifier: "plinth-mlflow-aurora-final",
  };
  const aurora = (cluster: Record<string, unknown>, instance: Record<string, unknown> = {}) => [
    target(
      "aws:rds/cluster:Cluster",
      "mlflow-aurora",
      { ...compliantCluster, ...cluster },
      { protect: true },
    ),
    target("aws:rds/clusterInstance:ClusterInstance", "mlflow-aurora-1", {
      identifier: "plinth-mlflow-aurora-1",
      clusterIdentifier: "plinth-mlflow-aurora",
      instanceClass: "db.r6g.large",
      engine: "aurora-postgresql",
      publiclyAccessible: false,
      ...instance,
    }),
  ];
  const rds = [
    policies.rdsStorageEncrypted,
    policies.rdsNotPublic,
    policies.rdsBackups,
    policies.rdsDeletionProtection,
  ];
  const messages = async (targets: PolicyTarget[]) =>
    (await evaluatePolicies(rds, targets, {})).map((v) => v.message);

  it("raises nothing for a compliant Aurora cluster", async () => {
    expect(await messages(aurora({}))).toEqual([]);
  });

  it("raises nothing for an Aurora cluster left at its 1-day default where 1 day is enough", async () => {
    const found = await evaluatePolicies(
      [policies.rdsBackups],
      aurora({ backupRetentionPeriod: undefined }),
      {
        "rds-backups": { minBackupRetentionDays: 1 },
      },
    );
    expect(found).toEqual([]);
  });

  it("reports each setting where Aurora keeps it", async () => {
    expect(
      await messages(
        aurora(
          {
            storageEncrypted: false,
            backupRetentionPeriod: undefined,
            deletionProtection: false,
            skipFinalSnapshot: true,
          },
          { publiclyAccessible: true },
        ),
      ),
    ).toEqual([
      `${AURORA} is not encrypted. Set storageEncrypted to true (and kmsKeyId to a customer-managed key).`,
      'Aurora instance "plinth-mlflow-aurora-1" is publicly accessible. Set publiclyAccessible to false.',
      `${AURORA} keeps backups for 1 day (the default). Set backupRetentionPeriod to at least 7.`,
      `${AURORA} can be deleted. Set deletionProtection to true.`,
      `${AURORA} skips its final snapshot. Set skipFinalSnapshot to false and finalSnapshotIdentifier.`,
    ]);
  });

  it("requires protect on an Aurora cluster, an EBS volume and a GCP KMS key", async () => {
    const targets = [
      target("aws:rds/cluster:Cluster", "aurora", compliantCluster),
      target("aws:ebs/volume:Volume", "data", { availabilityZone: "eu-west-1a", size: 100, encrypted: true }),
      target("gcp:kms/cryptoKey:CryptoKey", "artifacts", { keyRing: "projects/p/locations/l/keyRings/r" }),
    ];
    const found = await evaluatePolicies([statefulResourcesProtected], targets, {});
    expect(found.map((v) => v.message)).toEqual([
      'aws:rds/cluster:Cluster "aurora" is not protected. Pass { protect: true } in its resource options (the plinth:protect stack setting).',
      'aws:ebs/volume:Volume "data" is not protected. Pass { protect: true } in its resource options (the plinth:protect stack setting).',
      'gcp:kms/cryptoKey:CryptoKey "artifacts" is not protected. Pass { protect: true } in its resource options (the plinth:protect stack setting).',
    ]);
  });
});
