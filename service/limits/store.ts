/**
 * The counters behind every limit of the service: Redis shared by every replica when
 * RATE_LIMIT_REDIS_URL is set (with the failover of ./failover-counter.ts), else this process's
 * memory (one replica: the local stack, the tests).
 */
import type { FastifyBaseLogger } from "fastify";
import { Gauge } from "prom-client";
import type { LimitStoreConfig } from "../config.js";
import { METRICS } from "../contract/metrics.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import { FailoverCounter } from "./failover-counter.js";
import { PartitionedMemoryCounter } from "./memory-counter.js";
import { connectRedis } from "./redis-client.js";
import { RedisCounter } from "./redis-counter.js";
import type { WindowCounter } from "./window-counter.js";

export interface LimitStore {
  readonly counter: WindowCounter;
  /** True with Redis configured (the limits hold across replicas while it answers). */
  readonly shared: boolean;
  close(): Promise<void>;
}

/** Process memory only. */
export function memoryLimitStore(): LimitStore {
  return { counter: new PartitionedMemoryCounter(), shared: false, close: () => Promise.resolve() };
}

export interface LimitStoreDeps {
  readonly log: FastifyBaseLogger;
  readonly metrics: ServiceMetrics;
}

/** Connects to Redis when configured (waiting at most a second or so for it), else memory. */
export async function openLimitStore(
  config: LimitStoreConfig | undefined,
  deps: LimitStoreDeps,
): Promise<LimitStore> {
  if (config === undefined) return memoryLimitStore();
  const redis = await connectRedis(config, Math.max(1000, config.timeoutMs * 4));
  const up = new Gauge({
    name: METRICS.rateLimitStoreUp.name,
    help: METRICS.rateLimitStoreUp.help,
    labelNames: METRICS.rateLimitStoreUp.labelNames,
    registers: [deps.metrics.registry],
  });
  const counter = new FailoverCounter(
    new RedisCounter(redis),
    new PartitionedMemoryCounter(),
    { mode: config.failureMode, log: deps.log, onState: (isUp) => up.set(isUp ? 1 : 0) },
    redis.status === "ready",
  );
  return {
    counter,
    shared: true,
    close: () => {
      counter.close();
      redis.disconnect();
      return Promise.resolve();
    },
  };
}
