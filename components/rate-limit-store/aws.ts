/**
 * The rate-limit store on AWS: an ElastiCache (Valkey) replication group in the cluster VPC's
 * private subnets, encrypted in transit (TLS required) and at rest, with an AUTH token generated
 * by @pulumi/random (a Pulumi secret). Its security group admits 6379 from the EKS cluster security
 * group alone, which every managed node and so every pod carries. A primary and a replica in two
 * zones with automatic failover in production (`protect`), one node otherwise. No snapshots: the
 * counters expire within a window and are worth nothing after an outage.
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { AwsClusterContext } from "../cluster/index.js";
import { REDIS_PORT, redisUrl, type StoreEndpoint } from "./types.js";

export interface AwsStoreOptions {
  readonly cluster: AwsClusterContext;
  /** ElastiCache node type, e.g. cache.t4g.small. */
  readonly nodeType: string;
  /** Two nodes in two zones with automatic failover (production). */
  readonly highlyAvailable: boolean;
}

/** The engine, pinned to a major.minor; ElastiCache applies patch releases itself. */
export const ELASTICACHE_ENGINE = { engine: "valkey", engineVersion: "8.0" } as const;

export function awsStore(name: string, options: AwsStoreOptions, parent: pulumi.Resource): StoreEndpoint {
  const opts = { parent };
  // ElastiCache takes 16-128 printable characters; letters and digits keep the URL plain.
  const token = new random.RandomPassword(`${name}-auth-token`, { length: 64, special: false }, opts);
  const subnets = new aws.elasticache.SubnetGroup(
    `${name}-cache`,
    {
      description: "plinth rate-limit store: the cluster VPC's private subnets",
      subnetIds: options.cluster.privateSubnetIds,
    },
    opts,
  );
  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-cache`,
    {
      vpcId: options.cluster.vpcId,
      description: "plinth rate-limit store: 6379 from the EKS cluster security group only",
      ingress: [
        {
          protocol: "tcp",
          fromPort: REDIS_PORT,
          toPort: REDIS_PORT,
          securityGroups: [options.cluster.clusterSecurityGroupId],
          description: "EKS nodes and pods",
        },
      ],
    },
    opts,
  );
  const ha = options.highlyAvailable;
  const group = new aws.elasticache.ReplicationGroup(
    `${name}-cache`,
    {
      description: "plinth inference rate-limit counters, shared by every replica",
      ...ELASTICACHE_ENGINE,
      nodeType: options.nodeType,
      port: REDIS_PORT,
      numCacheClusters: ha ? 2 : 1,
      automaticFailoverEnabled: ha,
      multiAzEnabled: ha,
      subnetGroupName: subnets.name,
      securityGroupIds: [securityGroup.id],
      transitEncryptionEnabled: true,
      transitEncryptionMode: "required",
      atRestEncryptionEnabled: true,
      authToken: token.result,
      autoMinorVersionUpgrade: true,
      snapshotRetentionLimit: 0,
      applyImmediately: true,
    },
    opts,
  );
  return {
    url: redisUrl(token.result, group.primaryEndpointAddress, REDIS_PORT),
  };
}
