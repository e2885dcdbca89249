/**
 * AWS: the MLflow artifact bucket, its Postgres (RDS), the rate-limit store (ElastiCache), the EKS
 * control plane, and IAM. Bucket
 * encryption, versioning and public-access blocks are separate resources in @pulumi/aws 7, as are EKS
 * add-ons, so those are stack policies that look for the companion resource of each bucket or cluster.
 */
import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import type {
  PolicyResource,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
} from "@pulumi/policy";
import { CLOUD_RESOURCES_ONLY } from "./lib/helm-charts.js";
import { configOf, literal } from "./lib/policy.js";
import type { PlinthPolicy, PlinthResourcePolicy, PlinthStackPolicy } from "./lib/policy.js";

const CIS_AWS = "CIS Amazon Web Services Foundations Benchmark";
const CIS_EKS = "CIS Amazon EKS Benchmark";
const BUCKET_TYPES = new Set(["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"]);

/**
 * How a companion resource is matched to its owner, for the catalog: by the property that names it,
 * never by dependency edges alone when they lead to several owners.
 */
function companionMatching(property: string, ownerName: string, owner: string): string {
  return `A companion belongs to the ${owner} its ${property} property names: the one that property was computed from when the engine reports per-property dependencies; else the one whose ${ownerName} input equals its value (a ${ownerName} known to differ rules it out); else, when the value names no ${owner} the policy can see (an id of an autonamed ${owner}), the ${owner} it depends on, if its dependencies lead to exactly one.`;
}

/** A bucket rule's `covers`: the buckets, the companion resources read for each, and what they must say. */
function bucketCovers(companions: string, requirement: string): string {
  return `Stack-wide: every ${[...BUCKET_TYPES].join(" and ")}, with its ${companions} resources; ${requirement} ${companionMatching("bucket", "bucket", "bucket")}`;
}

/** What no bucket rule reads. */
const BUCKET_LIMITS =
  "Directory buckets (aws:s3/directoryBucket:DirectoryBucket) are not read. A companion whose bucket value names no bucket the policy can see and whose dependencies lead to several buckets counts for none of them, so its own bucket is reported too (the engine's per-property dependencies avoid this; the engine-free runner has none).";

/** The cluster every EKS rule reads. */
const EKS_CLUSTER = "aws:eks/cluster:Cluster";

/** A non-empty string, or undefined. */
function nameOf(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * Whether a companion resource (a bucket's encryption, versioning, access block; a cluster's add-on)
 * configures `owner`, one of `owners`: by what its `companionKey` property names, never by dependency
 * edges alone when they lead to several owners (a config for bucket b with dependsOn [a, b] is b's).
 *  1. The engine's per-property dependencies: the owner(s) the property was computed from.
 *  2. The property's value against the owner's `ownerKey` input (an S3 bucket's and an EKS cluster's
 *     id is that name): equal is this owner; different, when the owner's name is known, is not.
 *  3. When the value names no owner the policy can see (an id of an autonamed owner, a value unknown
 *     in preview): the dependency edges, if they lead to exactly one owner.
 */
function configures(
  companion: PolicyResource,
  owner: PolicyResource,
  owners: PolicyResource[],
  ownerKey: string,
  companionKey: string,
): boolean {
  const computedFrom = (companion.propertyDependencies?.[companionKey] ?? []).filter((r) =>
    owners.includes(r),
  );
  if (computedFrom.length > 0) return computedFrom.includes(owner);
  const named = nameOf(companion.props[companionKey]);
  if (named !== undefined) {
    const ownerName = nameOf(owner.props[ownerKey]);
    if (ownerName !== undefined) return named === ownerName;
    if (owners.some((other) => nameOf(other.props[ownerKey]) === named)) return false;
  }
  const dependedOn = companion.dependencies.filter((r) => owners.includes(r));
  return dependedOn.length === 1 && dependedOn[0] === owner;
}

/** The companions (of one kind) that configure `owner`, one of `owners`: see {@link configures}. */
function companionsOf(
  owner: PolicyResource,
  owners: PolicyResource[],
  companions: PolicyResource[],
  ownerKey: string,
  companionKey: string,
): PolicyResource[] {
  return companions.filter((companion) => configures(companion, owner, owners, ownerKey, companionKey));
}

/** Runs `check` for each bucket with the companion resources of `companionTypes` attached to it. */
function forEachBucket(
  resources: PolicyResource[],
  companionTypes: string[],
  check: (bucket: PolicyResource, companions: PolicyResource[], label: string) => void,
): void {
  const companions = resources.filter((r) => companionTypes.includes(r.type));
  const buckets = resources.filter((r) => BUCKET_TYPES.has(r.type));
  for (const bucket of buckets) {
    check(
      bucket,
      companionsOf(bucket, buckets, companions, "bucket", "bucket"),
      `S3 bucket "${bucket.props.bucket ?? bucket.name}"`,
    );
  }
}

export const s3BucketEncryption: PlinthStackPolicy = {
  name: "s3-bucket-encryption",
  description: "Every S3 bucket has a server-side encryption configuration (aws:kms or AES256).",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Model artifacts and training data readable from disks or backups without a key; no audit trail of key use without KMS.",
    answers: [`${CIS_AWS} (S3: encryption at rest)`],
    covers: bucketCovers(
      "BucketServerSideEncryptionConfiguration (or ...V2)",
      "one of their rules[].applyServerSideEncryptionByDefault.sseAlgorithm (or the bucket's own deprecated inline serverSideEncryptionConfiguration.rule) must be aws:kms, aws:kms:dsse or AES256.",
    ),
    limits: `The key is not judged (aws:kms with the AWS-managed key passes), nor bucket policies that refuse unencrypted uploads. ${BUCKET_LIMITS}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateStack: (args, report) =>
    forEachBucket(
      args.resources,
      [
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
      ],
      (bucket, configs, label) => {
        type Rule = { applyServerSideEncryptionByDefault?: { sseAlgorithm?: string } };
        // The bucket's own (deprecated, still accepted) inline block counts as a companion does.
        const inline = bucket.props.serverSideEncryptionConfiguration as { rule?: Rule } | undefined;
        const algorithms = [
          ...configs.flatMap((c) => (c.props.rules ?? []) as Rule[]),
          ...(inline?.rule ? [inline.rule] : []),
        ].map((rule) => rule.applyServerSideEncryptionByDefault?.sseAlgorithm);
        if (!algorithms.some((a) => a === "aws:kms" || a === "aws:kms:dsse" || a === "AES256")) {
          report(
            `${label} has no default encryption. Add an aws.s3.BucketServerSideEncryptionConfiguration with bucket set to this bucket and rules[0].applyServerSideEncryptionByDefault.sseAlgorithm "aws:kms".`,
            bucket.urn,
          );
        }
      },
    ),
};

export const s3BucketVersioning: PlinthStackPolicy = {
  name: "s3-bucket-versioning",
  description: "Every S3 bucket has versioning enabled.",
  enforcementLevel: "mandatory",
  severity: "medium",
  metadata: {
    protectsAgainst:
      "A registered model version's artifacts being overwritten or deleted with no way back (mistake or ransomware).",
    answers: [`${CIS_AWS} (S3: versioning and MFA delete)`, "anti-pattern: mutable model artifacts"],
    covers: bucketCovers(
      "BucketVersioning (or ...V2)",
      'one of them must set versioningConfiguration.status to "Enabled", or the bucket its own deprecated inline versioning.enabled to true.',
    ),
    limits: `MFA delete and object lock are not required. ${BUCKET_LIMITS}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateStack: (args, report) =>
    forEachBucket(
      args.resources,
      ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"],
      (bucket, configs, label) => {
        const inlineEnabled =
          (bucket.props.versioning as { enabled?: unknown } | undefined)?.enabled === true;
        if (!inlineEnabled && !configs.some((c) => c.props.versioningConfiguration?.status === "Enabled")) {
          report(
            `${label} is not versioned. Add an aws.s3.BucketVersioning with bucket set to this bucket and versioningConfiguration.status "Enabled".`,
            bucket.urn,
          );
        }
      },
    ),
};

const BLOCK_FLAGS = [
  "blockPublicAcls",
  "blockPublicPolicy",
  "ignorePublicAcls",
  "restrictPublicBuckets",
] as const;

export const s3BucketPublicAccessBlock: PlinthStackPolicy = {
  name: "s3-bucket-public-access-block",
  description: "Every S3 bucket has a public access block with all four settings true.",
  enforcementLevel: "mandatory",
  severity: "critical",
  metadata: {
    protectsAgainst: "A bucket policy or ACL (added later, by anyone) making model artifacts or data public.",
    answers: [`${CIS_AWS} (S3: block public access)`, "anti-pattern: public S3 buckets"],
    covers: bucketCovers(
      "BucketPublicAccessBlock",
      `there must be at least one, and each of ${BLOCK_FLAGS.join(", ")} must be true on one of them.`,
    ),
    limits: `The account-wide aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock is not accepted in place of a bucket's own block. Bucket policies, ACLs and ownership controls are not read. ${BUCKET_LIMITS}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateStack: (args, report) =>
    forEachBucket(
      args.resources,
      ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
      (bucket, blocks, label) => {
        if (blocks.length === 0) {
          report(
            `${label} has no public access block. Add an aws.s3.BucketPublicAccessBlock with bucket set to this bucket and ${BLOCK_FLAGS.join(", ")} all true.`,
            bucket.urn,
          );
          return;
        }
        for (const flag of BLOCK_FLAGS) {
          if (!blocks.some((block) => block.props[flag] === true)) {
            report(
              `${label}'s public access block does not set ${flag}. Set ${flag} to true on its aws.s3.BucketPublicAccessBlock.`,
              bucket.urn,
            );
          }
        }
      },
    ),
};

/** The RDS types, Aurora's included: an instance, an Aurora cluster, an Aurora cluster's instance. */
const RDS_INSTANCE = "aws:rds/instance:Instance";
const AURORA_CLUSTER = "aws:rds/cluster:Cluster";
const AURORA_INSTANCE = "aws:rds/clusterInstance:ClusterInstance";
export const RDS_TYPES = [RDS_INSTANCE, AURORA_CLUSTER, AURORA_INSTANCE] as const;
/** For the catalog: the resources that hold encryption, backups and deletion protection. */
const RDS_INSTANCES_AND_CLUSTERS = `${RDS_INSTANCE} and ${AURORA_CLUSTER} (an Aurora cluster)`;
/** For the catalog: what those rules do not read. */
const RDS_CLUSTER_HOLDS_IT = `${AURORA_INSTANCE} is not read (its Aurora cluster holds the setting), nor DocumentDB, Neptune or aws:rds/globalCluster:GlobalCluster.`;

/** How a finding names an RDS resource, by type. */
function rdsLabel(type: string, props: Record<string, unknown>, name: string): string {
  if (type === AURORA_CLUSTER) return `Aurora cluster "${String(props.clusterIdentifier ?? name)}"`;
  const identifier = String(props.identifier ?? name);
  return type === AURORA_INSTANCE ? `Aurora instance "${identifier}"` : `RDS instance "${identifier}"`;
}

/**
 * A validation of the RDS resources of `types` that hold the setting the check reads: storage
 * encryption, backups and deletion protection live on an instance or an Aurora cluster (its
 * instances have none), public accessibility on an instance or an Aurora instance.
 */
function validateRds(
  types: readonly string[],
  check: (
    db: Record<string, unknown>,
    label: string,
    args: ResourceValidationArgs,
    report: ReportViolation,
  ) => void,
): ResourceValidation {
  return (args, report) => {
    if (!types.includes(args.type)) return args.notApplicable(`Policy only applies to ${types.join(", ")}`);
    check(args.props, rdsLabel(args.type, args.props, args.name), args, report);
  };
}

export const rdsStorageEncrypted: PlinthResourcePolicy = {
  name: "rds-storage-encrypted",
  description: "RDS instances and Aurora clusters encrypt their storage.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "The MLflow registry (who trained what, with which data) readable from unencrypted volumes and snapshots.",
    answers: [`${CIS_AWS} (RDS: encryption at rest)`],
    covers: `${RDS_INSTANCES_AND_CLUSTERS}: storageEncrypted must be true.`,
    limits: `kmsKeyId is not required (the AWS-managed key passes). A read replica (replicateSourceDb) must set storageEncrypted as well. ${RDS_CLUSTER_HOLDS_IT}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateRds([RDS_INSTANCE, AURORA_CLUSTER], (db, label, _args, report) => {
    if (db.storageEncrypted !== true)
      report(
        `${label} is not encrypted. Set storageEncrypted to true (and kmsKeyId to a customer-managed key).`,
      );
  }),
};

export const rdsNotPublic: PlinthResourcePolicy = {
  name: "rds-not-publicly-accessible",
  description: "RDS and Aurora instances are not publicly accessible.",
  enforcementLevel: "mandatory",
  severity: "critical",
  metadata: {
    protectsAgainst: "The database answering on a public address, one weak password away from the internet.",
    answers: [`${CIS_AWS} (RDS: no public access)`],
    covers: `${RDS_INSTANCE} and ${AURORA_INSTANCE} (an Aurora cluster's instance): publiclyAccessible must not be true; unset is private, as the provider defaults it.`,
    limits:
      "Security groups, route tables and RDS Proxy endpoints are not read, nor DocumentDB, Neptune or other database services.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateRds([RDS_INSTANCE, AURORA_INSTANCE], (db, label, _args, report) => {
    if (db.publiclyAccessible === true)
      report(`${label} is publicly accessible. Set publiclyAccessible to false.`);
  }),
};

const backupConfig = {
  properties: {
    minBackupRetentionDays: {
      type: "integer" as const,
      minimum: 1,
      default: 7,
      description: "Fewest days of automated backups.",
    },
  },
};

export const rdsBackups: PlinthResourcePolicy = {
  name: "rds-backups",
  description:
    "RDS instances and Aurora clusters keep automated backups for at least the configured number of days (7 by default).",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: backupConfig,
  metadata: {
    protectsAgainst:
      "Losing the model registry to a bad migration or deletion with no point-in-time recovery.",
    answers: [
      "AWS Well-Architected Framework, Reliability pillar (back up data)",
      "anti-pattern: databases without backups",
    ],
    configured: "minBackupRetentionDays (default 7)",
    covers: `${RDS_INSTANCES_AND_CLUSTERS}: backupRetentionPeriod must be at least minBackupRetentionDays; unset counts as the provider's default, 0 days (backups off: the provider sends 0 when it creates an instance) for an instance and 1 day for an Aurora cluster.`,
    limits: `Whether automated backups are kept after the instance is deleted (deleteAutomatedBackups) or copied to another region or account is not judged. An instance restored from a snapshot or created as a read replica (replicateSourceDb) with backupRetentionPeriod unset takes RDS's own retention, not the provider's 0, but is still counted at 0 days. ${RDS_CLUSTER_HOLDS_IT}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateRds([RDS_INSTANCE, AURORA_CLUSTER], (db, label, args, report) => {
    const { minBackupRetentionDays } = configOf<{ minBackupRetentionDays: number }>(backupConfig, args);
    // The provider's defaults: Aurora always backs up, for one day unless told more; an instance is
    // created with the 0 the provider documents and sends (not the RDS API's own default of 1).
    const unset = db.backupRetentionPeriod === undefined || db.backupRetentionPeriod === null;
    const days = unset ? (args.type === AURORA_CLUSTER ? 1 : 0) : Number(db.backupRetentionPeriod);
    if (days < minBackupRetentionDays) {
      const kept = `${days} ${days === 1 ? "day" : "days"}${unset ? " (the default)" : ""}`;
      report(
        `${label} keeps backups for ${kept}. Set backupRetentionPeriod to at least ${minBackupRetentionDays}.`,
      );
    }
  }),
};

/** Shared by RDS and Cloud SQL: whether this stack requires deletion protection (production). */
export const deletionProtectionConfig = {
  properties: {
    required: {
      type: "boolean" as const,
      default: true,
      description: "Require deletion protection; false only for disposable (staging) stacks.",
    },
  },
};

export const rdsDeletionProtection: PlinthResourcePolicy = {
  name: "rds-deletion-protection",
  description:
    "RDS instances and Aurora clusters have deletion protection and keep a final snapshot (required in production via pack config).",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: deletionProtectionConfig,
  metadata: {
    protectsAgainst:
      "A refactor or `pulumi destroy` deleting the production database, and with it every backup, without a final snapshot.",
    answers: [
      "AWS Well-Architected Framework, Reliability pillar",
      "anti-pattern: deletable production databases",
    ],
    configured: "required: true by default, false in policies/config/staging.json",
    covers: `${RDS_INSTANCES_AND_CLUSTERS}, when required is true: deletionProtection must be true and skipFinalSnapshot must not be true.`,
    limits: `finalSnapshotIdentifier is not required, and a stack whose pack config sets required to false is not checked at all. ${RDS_CLUSTER_HOLDS_IT}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateRds([RDS_INSTANCE, AURORA_CLUSTER], (db, label, args, report) => {
    if (!configOf<{ required: boolean }>(deletionProtectionConfig, args).required) return;
    if (db.deletionProtection !== true) report(`${label} can be deleted. Set deletionProtection to true.`);
    if (db.skipFinalSnapshot === true)
      report(
        `${label} skips its final snapshot. Set skipFinalSnapshot to false and finalSnapshotIdentifier.`,
      );
  }),
};

/** For the catalog: the ElastiCache resource the cache rules read, and what they do not. */
const ELASTICACHE_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup";
const ELASTICACHE_NOT_READ =
  "Single-node aws:elasticache/cluster:Cluster resources (Memcached, or Redis OSS without a replication group), ElastiCache Serverless (aws:elasticache/serverlessCache:ServerlessCache), MemoryDB and global datastores are not read.";

function cacheLabel(props: { replicationGroupId?: string }, name: string): string {
  return `ElastiCache replication group "${props.replicationGroupId ?? name}"`;
}

export const elasticacheEncryption: PlinthResourcePolicy = {
  name: "elasticache-encryption",
  description:
    "ElastiCache (Redis OSS, Valkey) replication groups require TLS in transit and encrypt their data at rest.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "The cache's AUTH token and contents (the rate-limit counters, keyed by client identity) read off the VPC in plaintext, or from unencrypted nodes, swap and backups.",
    answers: [
      "AWS Security Hub [ElastiCache.4] and [ElastiCache.5] (encryption at rest and in transit)",
      "anti-pattern: plaintext Redis inside a VPC",
    ],
    covers: `${ELASTICACHE_GROUP}: transitEncryptionEnabled must be true and transitEncryptionMode must not be "preferred" (unset is "required", as the API defaults it); atRestEncryptionEnabled must be true, where unset counts as the provider's default: true for engine valkey, false otherwise.`,
    limits: `kmsKeyId is not required (the AWS-managed key passes), and the TLS versions clients may use are not judged. ${ELASTICACHE_NOT_READ}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(aws.elasticache.ReplicationGroup, (group, args, report) => {
    const label = cacheLabel(group, args.name);
    if (group.transitEncryptionEnabled !== true) {
      report(
        `${label} accepts plaintext connections. Set transitEncryptionEnabled to true and transitEncryptionMode to "required".`,
      );
    } else if (group.transitEncryptionMode === "preferred") {
      report(
        `${label} still accepts plaintext connections (transitEncryptionMode "preferred"). Set transitEncryptionMode to "required".`,
      );
    }
    const atRest = group.atRestEncryptionEnabled ?? group.engine === "valkey";
    if (atRest !== true) report(`${label} is not encrypted at rest. Set atRestEncryptionEnabled to true.`);
  }),
};

export const elasticacheAuth: PlinthResourcePolicy = {
  name: "elasticache-auth",
  description:
    "ElastiCache (Redis OSS, Valkey) replication groups require clients to authenticate: an AUTH token or RBAC user groups.",
  enforcementLevel: "mandatory",
  severity: "critical",
  metadata: {
    protectsAgainst:
      "Any pod or instance in the VPC reading, resetting or flooding the shared counters (lifting every client's rate limit) with no credential at all.",
    answers: [
      "AWS Security Hub [ElastiCache.6] (Redis OSS replication groups use AUTH)",
      "anti-pattern: Redis without a password",
    ],
    covers: `${ELASTICACHE_GROUP}: authToken must be a non-empty string, or userGroupIds must name at least one RBAC user group.`,
    limits: `The token's strength and rotation (authTokenUpdateStrategy) and the user groups' access strings are not judged; security groups are not read. An AUTH token needs TLS, which elasticache-encryption requires. ${ELASTICACHE_NOT_READ}`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(aws.elasticache.ReplicationGroup, (group, args, report) => {
    const token = typeof group.authToken === "string" && group.authToken !== "";
    const userGroups = Array.isArray(group.userGroupIds) && group.userGroupIds.length > 0;
    if (!token && !userGroups) {
      report(
        `${cacheLabel(group, args.name)} admits clients without a credential. Set authToken (a generated secret, e.g. from @pulumi/random) or userGroupIds.`,
      );
    }
  }),
};

export const eksSecretsEncryption: PlinthResourcePolicy = {
  name: "eks-secrets-encryption",
  description: "EKS clusters envelope-encrypt Kubernetes Secrets with a KMS key.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Secrets (OIDC client secret, cookie secret, database password) readable from etcd storage or its backups.",
    answers: [
      `${CIS_EKS} (encrypt Kubernetes secrets with KMS)`,
      "NSA/CISA Kubernetes Hardening Guidance (encrypt secrets at rest)",
    ],
    covers: `${EKS_CLUSTER}: encryptionConfig.resources must include "secrets" and encryptionConfig.provider.keyArn must be set.`,
    limits:
      "The key itself is not judged (its key policy, rotation, or who may use it). Clusters not declared in the stack are not read.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(aws.eks.Cluster, (cluster, args, report) => {
    const encryption = cluster.encryptionConfig;
    if (!encryption?.resources?.includes("secrets") || !encryption.provider?.keyArn) {
      report(
        `EKS cluster "${cluster.name ?? args.name}" does not encrypt Secrets with KMS. Set encryptionConfig to { resources: ["secrets"], provider: { keyArn: <KMS key ARN> } }.`,
      );
    }
  }),
};

const loggingConfig = {
  properties: {
    requiredLogTypes: {
      type: "array" as const,
      items: { type: "string" as const },
      default: ["api", "audit", "authenticator"],
      description: "Control-plane log types that must be enabled.",
    },
  },
};

export const eksControlPlaneLogging: PlinthResourcePolicy = {
  name: "eks-control-plane-logging",
  description: "EKS clusters send api, audit and authenticator control-plane logs to CloudWatch.",
  enforcementLevel: "mandatory",
  severity: "medium",
  configSchema: loggingConfig,
  metadata: {
    protectsAgainst: "No record of who did what to the cluster when investigating an incident.",
    answers: [`${CIS_EKS} (enable audit logs)`, "NSA/CISA Kubernetes Hardening Guidance (audit logging)"],
    configured: "requiredLogTypes (default api, audit, authenticator)",
    covers: `${EKS_CLUSTER}: enabledClusterLogTypes must include every entry of requiredLogTypes.`,
    limits:
      "The CloudWatch log group's retention and encryption are not judged, and controllerManager and scheduler logs are not required unless requiredLogTypes names them.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(aws.eks.Cluster, (cluster, args, report) => {
    const { requiredLogTypes } = configOf<{ requiredLogTypes: string[] }>(loggingConfig, args);
    const missing = requiredLogTypes.filter((type) => !(cluster.enabledClusterLogTypes ?? []).includes(type));
    if (missing.length > 0) {
      report(
        `EKS cluster "${cluster.name ?? args.name}" does not log ${missing.join(", ")}. Add ${literal(missing)} to enabledClusterLogTypes.`,
      );
    }
  }),
};

const OPEN_CIDR = "0.0.0.0/0";

export const eksEndpointRestricted: PlinthResourcePolicy = {
  name: "eks-endpoint-restricted",
  description: "The EKS API endpoint is private, or public only to an allowlist of CIDRs.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "The Kubernetes API server reachable from the whole internet, exposed to credential stuffing and API-server vulnerabilities.",
    answers: [
      `${CIS_EKS} (restrict control-plane endpoint access)`,
      "NSA/CISA Kubernetes Hardening Guidance (control plane hardening)",
    ],
    covers: `${EKS_CLUSTER}: vpcConfig.endpointPrivateAccess must be true; unless vpcConfig.endpointPublicAccess is false, vpcConfig.publicAccessCidrs must be set and must not contain ${OPEN_CIDR}.`,
    limits: `Only ${OPEN_CIDR} itself counts as open: wide ranges that add up to it (0.0.0.0/1 and 128.0.0.0/1) pass. Who may call the API (access entries, the aws-auth ConfigMap) is not judged.`,
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(aws.eks.Cluster, (cluster, args, report) => {
    const vpc = cluster.vpcConfig;
    const label = `EKS cluster "${cluster.name ?? args.name}"`;
    if (vpc?.endpointPrivateAccess !== true)
      report(`${label} has no private endpoint. Set vpcConfig.endpointPrivateAccess to true.`);
    // The provider (like the EKS API) makes the endpoint public unless told otherwise.
    if (vpc?.endpointPublicAccess !== false) {
      const cidrs = vpc?.publicAccessCidrs ?? [];
      if (cidrs.length === 0 || cidrs.includes(OPEN_CIDR)) {
        report(
          `${label} has a public endpoint open to 0.0.0.0/0. Set vpcConfig.endpointPublicAccess to false, or vpcConfig.publicAccessCidrs to the office and CI ranges.`,
        );
      }
    }
  }),
};

const VPC_CNI_FIX = 'configurationValues JSON.stringify({ enableNetworkPolicy: "true" })';

/** Whether a vpc-cni add-on's configurationValues (a JSON document) turn its network-policy agent on. */
function enablesNetworkPolicy(configurationValues: unknown): boolean {
  if (typeof configurationValues !== "string") return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(configurationValues);
  } catch {
    return false;
  }
  if (parsed === null || typeof parsed !== "object") return false;
  const enabled = (parsed as { enableNetworkPolicy?: unknown }).enableNetworkPolicy;
  return enabled === "true" || enabled === true;
}

export const eksNetworkPolicyEnforced: PlinthStackPolicy = {
  name: "eks-network-policy-enforced",
  description:
    "Every EKS cluster has the managed vpc-cni add-on with enableNetworkPolicy on, so its NetworkPolicies are enforced.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "NetworkPolicies accepted by the API server but never enforced: any pod reaching the inference API port directly and forging the X-Auth-Request-Email header it trusts behind oauth2-proxy.",
    answers: [
      `${CIS_EKS} (network policy enforcement)`,
      "NSA/CISA Kubernetes Hardening Guidance (network separation with network policies)",
      "anti-pattern: NetworkPolicies without an enforcing CNI",
    ],
    covers: `Stack-wide: every ${EKS_CLUSTER} must have an aws:eks/addon:Addon with addonName vpc-cni, and each such add-on's configurationValues JSON must set enableNetworkPolicy to "true" or true. ${companionMatching("clusterName", "name", "cluster")}`,
    limits:
      "Another enforcing CNI (Cilium, Calico) and the self-managed vpc-cni that EKS installs by default are not recognised, so such a cluster is reported, as is one whose add-on names it by a value the policy cannot see while depending on several clusters. Whether NetworkPolicies exist is judged by the network-exposure rules.",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateStack: (args, report) => {
    const addons = args.resources.filter(
      (r) => r.type === "aws:eks/addon:Addon" && r.props.addonName === "vpc-cni",
    );
    const clusters = args.resources.filter((r) => r.type === EKS_CLUSTER);
    for (const cluster of clusters) {
      const label = `EKS cluster "${cluster.props.name ?? cluster.name}"`;
      const vpcCnis = companionsOf(cluster, clusters, addons, "name", "clusterName");
      if (vpcCnis.length === 0) {
        report(
          `${label} has no vpc-cni add-on, so its NetworkPolicies are not enforced. Add an aws.eks.Addon with clusterName set to this cluster, addonName "vpc-cni" and ${VPC_CNI_FIX}.`,
          cluster.urn,
        );
      }
      for (const addon of vpcCnis.filter((a) => !enablesNetworkPolicy(a.props.configurationValues))) {
        report(
          `${label}'s vpc-cni add-on does not enable network policy, so its NetworkPolicies are not enforced. Set the add-on's ${VPC_CNI_FIX}.`,
          addon.urn,
        );
      }
    }
  },
};

export const iamNoStaticAccessKeys: PlinthResourcePolicy = {
  name: "iam-no-static-access-keys",
  description: "No IAM access keys are created; workloads use IAM roles (IRSA).",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Long-lived credentials that leak through config, logs or images and keep working until someone notices.",
    answers: [
      `${CIS_AWS} (IAM: avoid long-lived access keys)`,
      "anti-pattern: static cloud keys in Kubernetes Secrets",
    ],
    covers: "aws:iam/accessKey:AccessKey: every one in the stack is reported.",
    limits:
      "Keys created outside the stack, console login profiles and service-specific credentials are not seen. Access key ids pasted into ConfigMaps, env values or Helm values are the secrets and Helm rules' (AKIA/ASIA ids).",
    charts: CLOUD_RESOURCES_ONLY,
    chartReach: "not-applicable",
  },
  validateResource: validateResourceOfType(aws.iam.AccessKey, (key, args, report) => {
    report(
      `IAM access key "${args.name}" for user ${JSON.stringify(key.user)} is a static credential. Remove it and grant the workload an IAM role through IRSA (a ServiceAccount annotated eks.amazonaws.com/role-arn).`,
    );
  }),
};

export const awsPolicies: PlinthPolicy[] = [
  s3BucketEncryption,
  s3BucketVersioning,
  s3BucketPublicAccessBlock,
  rdsStorageEncrypted,
  rdsNotPublic,
  rdsBackups,
  rdsDeletionProtection,
  elasticacheEncryption,
  elasticacheAuth,
  eksSecretsEncryption,
  eksControlPlaneLogging,
  eksEndpointRestricted,
  eksNetworkPolicyEnforced,
  iamNoStaticAccessKeys,
];
