/**
 * The ioredis client of the limits (RATE_LIMIT_REDIS_URL): TLS for `rediss://` (with a private CA
 * from RATE_LIMIT_REDIS_CA_FILE), the URL's password (and ACL user), and short timeouts everywhere,
 * because a limit check sits on every request's path: a hung or unreachable Redis must fail a
 * check within RATE_LIMIT_REDIS_TIMEOUT_MS, never hold a request (./failover-counter.ts decides
 * what happens then).
 */
import { readFileSync } from "node:fs";
import { Redis, type RedisOptions } from "ioredis";
import type { LimitStoreConfig } from "../config.js";

/** The ioredis options for `config`; the URL was validated by service/config.ts. */
export function redisOptions(config: LimitStoreConfig): RedisOptions {
  const url = new URL(config.url);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port === "" ? 6379 : Number(url.port),
    ...(url.username === "" ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === "" ? {} : { password: decodeURIComponent(url.password) }),
    db,
    ...(url.protocol === "rediss:"
      ? {
          // The host name is checked against the certificate (Node's default).
          tls: config.caFile === undefined ? {} : { ca: readFileSync(config.caFile) },
        }
      : {}),
    commandTimeout: config.timeoutMs,
    connectTimeout: Math.max(1000, config.timeoutMs * 4),
    // No queue while disconnected: a check fails at once and the failover answers instead.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Reconnect for ever, at most a second apart: the failover's probe notices the return.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    // After a managed failover (ElastiCache, Memorystore) a connection left on the old primary gets
    // READONLY for every write: reconnect, so DNS leads to the new primary.
    reconnectOnError: (err) => err.message.startsWith("READONLY"),
    lazyConnect: true,
  };
}

/**
 * A client connecting to the store; resolves once it is ready or `waitMs` has passed (the service
 * starts without Redis and falls back until it comes). Errors are left to the failover to report.
 */
export async function connectRedis(config: LimitStoreConfig, waitMs: number): Promise<Redis> {
  const redis = new Redis(redisOptions(config));
  // Without a listener ioredis prints every reconnect error; the failover logs one per outage.
  redis.on("error", () => undefined);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    redis.connect().catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, waitMs))),
  ]);
  clearTimeout(timer);
  return redis;
}
