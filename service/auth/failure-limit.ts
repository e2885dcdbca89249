/**
 * Failed authentications per client address: after `limit` wrong keys or tokens from one address
 * within a window, that address gets 429 on every route that needs credentials until the window
 * ends, before its credentials are even looked at. The per-identity rate limit cannot do this: a
 * caller with a wrong key has no identity to be counted under.
 *
 * Fixed windows that start at an address's first failure. At most `maxAddresses` are tracked;
 * beyond that the address whose window started first is forgotten, so a flood of spoofed sources
 * costs bounded memory (it can only make the limiter forget, never grow).
 */

export interface AuthFailureLimitOptions {
  /** Failed authentications allowed per address per window; 0 turns the limiter off. */
  readonly limit: number;
  readonly windowMs: number;
  readonly maxAddresses?: number;
  /** Milliseconds; injectable for tests. */
  readonly now?: () => number;
}

interface Window {
  readonly startedAt: number;
  failures: number;
}

export const DEFAULT_MAX_TRACKED_ADDRESSES = 10_000;

export class AuthFailureLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(private readonly options: AuthFailureLimitOptions) {
    this.maxAddresses = options.maxAddresses ?? DEFAULT_MAX_TRACKED_ADDRESSES;
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.limit > 0;
  }

  /** Addresses currently tracked (for tests and the bound). */
  get size(): number {
    return this.windows.size;
  }

  /** Whole seconds until `address` may try again, or undefined when it is not blocked. */
  blockedFor(address: string): number | undefined {
    const window = this.current(address);
    if (window === undefined || window.failures < this.options.limit) return undefined;
    return Math.max(1, Math.ceil((window.startedAt + this.options.windowMs - this.now()) / 1000));
  }

  /** Counts one failed authentication from `address`. */
  recordFailure(address: string): void {
    if (!this.enabled) return;
    const window = this.current(address);
    if (window !== undefined) {
      window.failures += 1;
      return;
    }
    if (this.windows.size >= this.maxAddresses) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    this.windows.set(address, { startedAt: this.now(), failures: 1 });
  }

  /** The address's window if it is still open; an expired one is dropped. */
  private current(address: string): Window | undefined {
    const window = this.windows.get(address);
    if (window === undefined) return undefined;
    if (this.now() - window.startedAt < this.options.windowMs) return window;
    this.windows.delete(address);
    return undefined;
  }
}
