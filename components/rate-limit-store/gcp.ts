/**
 * The rate-limit store on GCP: a Memorystore for Redis instance on the cluster's VPC through
 * private services access (the peering MLflow's Cloud SQL uses), with AUTH on and TLS required
 * (SERVER_AUTHENTICATION: Memorystore serves TLS on 6378 with a certificate from its own CA, which
 * the pods get from the instance's serverCaCerts). STANDARD_HA (a replica in another zone,
 * automatic failover) in production, BASIC otherwise. No persistence: the counters expire within
 * a window and are worth nothing after an outage.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { GcpClusterContext } from "../cluster/index.js";
import { redisUrl, type StoreEndpoint } from "./types.js";

export interface GcpStoreOptions {
  readonly cluster: GcpClusterContext;
  readonly memorySizeGb: number;
  /** STANDARD_HA and deletion protection (production). */
  readonly highlyAvailable: boolean;
  /**
   * What makes the VPC's private services access peering exist (MLflow, whose Cloud SQL instance
   * creates it): the instance is created after it and deleted before it.
   */
  readonly privateServiceAccess: pulumi.Input<pulumi.Resource>[];
}

/** Memorystore's Redis version, pinned; Google applies patch releases in maintenance windows. */
export const MEMORYSTORE_VERSION = "REDIS_7_2";

export function gcpStore(name: string, options: GcpStoreOptions, parent: pulumi.Resource): StoreEndpoint {
  const { project, region, network } = options.cluster;
  const ha = options.highlyAvailable;
  const instance = new gcp.redis.Instance(
    `${name}-cache`,
    {
      project,
      region,
      displayName: "plinth inference rate-limit counters",
      redisVersion: MEMORYSTORE_VERSION,
      tier: ha ? "STANDARD_HA" : "BASIC",
      memorySizeGb: options.memorySizeGb,
      authorizedNetwork: network,
      connectMode: "PRIVATE_SERVICE_ACCESS",
      authEnabled: true,
      transitEncryptionMode: "SERVER_AUTHENTICATION",
      // Rate-limit keys all expire: under memory pressure the one nearest its end goes first.
      redisConfigs: { "maxmemory-policy": "volatile-ttl" },
      deletionProtection: ha,
    },
    { parent, dependsOn: options.privateServiceAccess },
  );
  // During a CA rotation Memorystore lists the old and the new CA: the bundle trusts both.
  const caPem = instance.serverCaCerts.apply((certs) =>
    certs.map((ca) => (ca.cert.endsWith("\n") ? ca.cert : `${ca.cert}\n`)).join(""),
  );
  return {
    url: redisUrl(pulumi.secret(instance.authString), instance.host, instance.port),
    caPem,
  };
}
