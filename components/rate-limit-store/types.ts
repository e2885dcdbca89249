/** What each rate-limit store backend (aws, gcp, in-cluster) hands to the component. */
import * as pulumi from "@pulumi/pulumi";

/** The port of the in-cluster Redis and ElastiCache (Memorystore serves TLS on 6378). */
export const REDIS_PORT = 6379;

export interface StoreEndpoint {
  /** `rediss://:<password>@<host>:<port>`: it holds the password, so it is a secret. */
  readonly url: pulumi.Output<string>;
  /**
   * PEM bundle of the private CA that signed the server's certificate; undefined when the system's
   * CAs trust it (ElastiCache's certificates chain to Amazon's public roots).
   */
  readonly caPem?: pulumi.Output<string>;
  /**
   * Where the CA already is in the service's namespace (the in-cluster server's cert-manager
   * Secret): the pods mount that key alone, never the server's key beside it.
   */
  readonly caSecret?: { readonly name: pulumi.Input<string>; readonly key: string };
}

/** The TLS URL the service reads (RATE_LIMIT_REDIS_URL): AUTH's default user, password only. */
export function redisUrl(
  password: pulumi.Input<string>,
  host: pulumi.Input<string>,
  port: pulumi.Input<number>,
): pulumi.Output<string> {
  return pulumi.secret(
    pulumi
      .all([password, host, port])
      .apply(([secret, address, number]) => `rediss://:${encodeURIComponent(secret)}@${address}:${number}`),
  );
}
