/**
 * Windows in Redis, shared by every replica. Each change is one Lua script, so the check, the
 * increment and the expiry are atomic: two replicas counting the same key at once cannot both
 * see room for the last unit, and a key never lives without its expiry.
 */
import type { Redis } from "ioredis";
import { EMPTY_COUNT, type WindowCount, type WindowCounter } from "./window-counter.js";

/** KEYS[1] key; ARGV amount, window ms, limit (-1: none). Returns {total, ttl ms, added 0|1}. */
const ADD = `
local amount = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if limit >= 0 and current + amount > limit then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then ttl = 0 end
  return {current, ttl, 0}
end
local total = redis.call('INCRBY', KEYS[1], amount)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  ttl = window
end
return {total, ttl, 1}
`;

/** KEYS[1] key. Returns {total, ttl ms}; {0, 0} without a window. */
const READ = `
local current = redis.call('GET', KEYS[1])
if not current then return {0, 0} end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return {tonumber(current), ttl}
`;

/** KEYS[1] key; ARGV amount. Takes it back, not below 0, only from a live window. */
const REFUND = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current <= 0 then return 0 end
local amount = math.min(tonumber(ARGV[1]), current)
redis.call('DECRBY', KEYS[1], amount)
return amount
`;

type Reply = [number, number, number?];

interface LimitCommands {
  plinthWindowAdd(key: string, amount: number, windowMs: number, limit: number): Promise<Reply>;
  plinthWindowRead(key: string): Promise<Reply>;
  plinthWindowRefund(key: string, amount: number): Promise<number>;
}

export class RedisCounter implements WindowCounter {
  private readonly commands: LimitCommands;

  /** `prefix` keeps the service's keys apart from anything else in the database. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix = "plinth:limits:",
  ) {
    // Sent with EVALSHA, falling back to EVAL once per connection: one round trip per check.
    redis.defineCommand("plinthWindowAdd", { numberOfKeys: 1, lua: ADD });
    redis.defineCommand("plinthWindowRead", { numberOfKeys: 1, lua: READ });
    redis.defineCommand("plinthWindowRefund", { numberOfKeys: 1, lua: REFUND });
    this.commands = redis as unknown as LimitCommands;
  }

  async add(key: string, amount: number, windowMs: number, limit?: number): Promise<WindowCount> {
    const [total, ttlMs, added] = await this.commands.plinthWindowAdd(
      this.prefix + key,
      amount,
      windowMs,
      limit ?? -1,
    );
    return { total, ttlMs, added: added === 1 };
  }

  async read(key: string): Promise<WindowCount> {
    const [total, ttlMs] = await this.commands.plinthWindowRead(this.prefix + key);
    return total === 0 ? EMPTY_COUNT : { total, ttlMs, added: false };
  }

  async refund(key: string, amount: number): Promise<void> {
    await this.commands.plinthWindowRefund(this.prefix + key, amount);
  }

  /**
   * Resolves when Redis takes a write (the failover's probe): a PING answered by a replica left
   * behind by a failover would mark the store up while every count still fails.
   */
  async ping(): Promise<void> {
    await this.add("probe", 1, 1000);
  }
}
