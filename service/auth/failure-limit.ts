/**
 * Failed authentications per client address: after `limit` wrong keys or tokens from one address
 * within a window, that address gets 429 on every route that needs credentials until the window
 * ends, before its credentials are even looked at. The per-identity rate limit cannot do this: a
 * caller with a wrong key has no identity to be counted under.
 *
 * Fixed windows that start at an address's first failure, kept in the limits' counter
 * (service/limits/): Redis shared by every replica when configured, so an address gets `limit`
 * tries in all, not `limit` per pod; else this process's memory, which tracks at most
 * `maxAddresses` (a flood of spoofed sources can only make it forget, never grow).
 */
import { MemoryCounter } from "../limits/memory-counter.js";
import type { Counted, WindowCount, WindowCounter } from "../limits/window-counter.js";

export interface AuthFailureLimitOptions {
  /** Failed authentications allowed per address per window; 0 turns the limiter off. */
  readonly limit: number;
  readonly windowMs: number;
  /** Addresses tracked by the in-memory counter (without a shared one). */
  readonly maxAddresses?: number;
  /** Milliseconds; injectable for tests (in-memory counter only). */
  readonly now?: () => number;
}

export { DEFAULT_MAX_KEYS as DEFAULT_MAX_TRACKED_ADDRESSES } from "../limits/memory-counter.js";

export class AuthFailureLimiter {
  private readonly counter: WindowCounter;
  private readonly memory: MemoryCounter | undefined;
  /**
   * Counts while the shared counter refuses (RATE_LIMIT_REDIS_FAILURE_MODE=closed and Redis down):
   * this limiter runs before credentials are checked on every authenticated route, operators'
   * included, so an outage of the store must never answer them 503; it limits per pod instead.
   */
  private readonly whileStoreDown = new MemoryCounter();

  /** `counter`: the limits' shared counter; without one, a counter in this process's memory. */
  constructor(
    private readonly options: AuthFailureLimitOptions,
    counter?: WindowCounter,
  ) {
    this.memory =
      counter === undefined
        ? new MemoryCounter({
            ...(options.maxAddresses === undefined ? {} : { maxKeys: options.maxAddresses }),
            ...(options.now === undefined ? {} : { now: options.now }),
          })
        : undefined;
    this.counter = counter ?? this.memory!;
  }

  get enabled(): boolean {
    return this.options.limit > 0;
  }

  /** Addresses tracked in memory (for tests and the bound); 0 with a shared counter. */
  get size(): number {
    return this.memory?.size ?? 0;
  }

  /** Whole seconds until `address` may try again, or undefined when it is not blocked. */
  blockedFor(address: string): Counted<number | undefined> {
    if (!this.enabled) return undefined;
    const key = keyOf(address);
    const retryAfter = (window: WindowCount) =>
      window.total < this.options.limit ? undefined : Math.max(1, Math.ceil(window.ttlMs / 1000));
    const whileDown = () => retryAfter(this.whileStoreDown.read(key));
    let window: Counted<WindowCount>;
    try {
      window = this.counter.read(key);
    } catch {
      return whileDown();
    }
    return window instanceof Promise ? window.then(retryAfter, whileDown) : retryAfter(window);
  }

  /** Counts one failed authentication from `address`. */
  async recordFailure(address: string): Promise<void> {
    if (!this.enabled) return;
    const key = keyOf(address);
    try {
      await this.counter.add(key, 1, this.options.windowMs);
    } catch {
      this.whileStoreDown.add(key, 1, this.options.windowMs);
    }
  }
}

function keyOf(address: string): string {
  return `auth-failures:${address}`;
}
