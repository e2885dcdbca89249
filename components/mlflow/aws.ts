/**
 * MLflow storage on AWS: a private, encrypted, versioned S3 bucket (public access blocked, TLS
 * required) and a private, encrypted PostgreSQL RDS instance with backups, reached only from the
 * VPC. Only the MLflow server reaches the bucket (an IRSA role scoped to it, no access keys); every
 * client reads and writes artifacts through the server's artifact proxy.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { irsaRole, stackScopedName, type AwsClusterContext } from "../cluster/index.js";
import {
  DATABASE_NAME,
  DATABASE_USER,
  postgresUri,
  type ManagedStorageOptions,
  type MlflowStorage,
} from "./types.js";

export interface AwsStorageOptions extends ManagedStorageOptions {
  readonly cluster: AwsClusterContext;
  readonly instanceClass: string;
}

/** The server's access: list, read, write and delete objects (MLflow's proxy does all four). */
function bucketPolicy(bucketArn: string): string {
  const objectActions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"];
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: bucketArn },
      { Effect: "Allow", Action: objectActions, Resource: `${bucketArn}/*` },
    ],
  });
}

function artifactBucket(name: string, protect: boolean, parent: pulumi.Resource) {
  const opts = { parent };
  const bucket = new aws.s3.Bucket(
    `${name}-artifacts`,
    { forceDestroy: false, tags: { purpose: "mlflow-artifacts" } },
    { parent, protect },
  );
  new aws.s3.BucketPublicAccessBlock(
    `${name}-artifacts`,
    {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  new aws.s3.BucketOwnershipControls(
    `${name}-artifacts`,
    { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
    opts,
  );
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-artifacts`,
    {
      bucket: bucket.id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
    },
    opts,
  );
  new aws.s3.BucketVersioning(
    `${name}-artifacts`,
    { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
    opts,
  );
  new aws.s3.BucketPolicy(
    `${name}-artifacts-tls-only`,
    {
      bucket: bucket.id,
      policy: bucket.arn.apply((arn) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "DenyInsecureTransport",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:*",
              Resource: [arn, `${arn}/*`],
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        }),
      ),
    },
    opts,
  );
  return bucket;
}

function database(name: string, options: AwsStorageOptions, parent: pulumi.Resource) {
  const opts = { parent };
  const subnets = new aws.rds.SubnetGroup(
    `${name}-db`,
    { subnetIds: options.cluster.privateSubnetIds },
    opts,
  );
  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-db`,
    {
      vpcId: options.cluster.vpcId,
      description: "MLflow PostgreSQL: port 5432 from inside the VPC only",
      ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: [options.cluster.vpcCidr] }],
    },
    opts,
  );
  return new aws.rds.Instance(
    `${name}-db`,
    {
      engine: "postgres",
      engineVersion: "17",
      instanceClass: options.instanceClass,
      allocatedStorage: options.database.storageGb,
      storageType: "gp3",
      storageEncrypted: true,
      publiclyAccessible: false,
      dbSubnetGroupName: subnets.name,
      vpcSecurityGroupIds: [securityGroup.id],
      dbName: DATABASE_NAME,
      username: DATABASE_USER,
      password: options.password.result,
      backupRetentionPeriod: options.database.backupRetentionDays,
      deletionProtection: options.protect,
      multiAz: options.protect,
      skipFinalSnapshot: !options.protect,
      // Snapshot names are per account and region: the stack keeps staging and production apart.
      ...(options.protect
        ? { finalSnapshotIdentifier: stackScopedName([name, pulumi.getStack(), "db-final"], 255) }
        : {}),
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      performanceInsightsEnabled: true,
      enabledCloudwatchLogsExports: ["postgresql"],
    },
    { parent, protect: options.protect },
  );
}

export function awsStorage(name: string, options: AwsStorageOptions, parent: pulumi.Resource): MlflowStorage {
  const bucket = artifactBucket(name, options.protect, parent);
  const db = database(name, options, parent);
  const role = irsaRole(
    `${name}-server`,
    options.cluster,
    options.namespace,
    options.serverServiceAccount,
    parent,
  );
  new aws.iam.RolePolicy(
    `${name}-server`,
    { role: role.id, policy: bucket.arn.apply((arn) => bucketPolicy(arn)) },
    { parent },
  );
  return {
    backendStoreUri: postgresUri(options.password.result, db.address, true),
    artifactBucket: pulumi.interpolate`s3://${bucket.bucket}/artifacts`,
    serverAnnotations: role.arn.apply((arn): Record<string, string> => ({
      "eks.amazonaws.com/role-arn": arn,
    })),
    readiness: [db],
  };
}
