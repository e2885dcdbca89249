/**
 * A counter per key over a fixed window that starts with the key's first count: what every limit
 * of the service is made of (requests per identity, cost per identity, failed authentications per
 * address). Implemented in process memory (./memory-counter.ts) and in Redis (./redis-counter.ts),
 * which every replica shares.
 */

/**
 * A counter's answer: at once from this process's memory, later (a promise) from Redis. The
 * in-memory counters answer without a promise, so a request on one replica pays no promise and no
 * turn of the microtask queue for each of its three limits; callers take both through
 * {@link onCounted}. "Later" is a native Promise (what async functions and ioredis return): callers
 * tell the two apart with `instanceof Promise`.
 */
export type Counted<T> = T | Promise<T>;

/** `next` applied to the answer: at once when it is there, else when it arrives. */
export function onCounted<T, R>(counted: Counted<T>, next: (value: T) => Counted<R>): Counted<R> {
  return counted instanceof Promise ? counted.then(next) : next(counted);
}

/**
 * What a callback hook hands `done` for a failure: always an Error, so a rejection without a value
 * still refuses the request (fastify's `done()` without one lets it through).
 */
export function failureOf(err: unknown): Error {
  return err instanceof Error ? err : new Error(`limit or credential check failed: ${String(err)}`);
}

export interface WindowCount {
  /** What the key's window holds after the call. */
  readonly total: number;
  /** Milliseconds until the window ends; 0 when the key has no window. */
  readonly ttlMs: number;
  /** Whether `add` counted the amount (false: it would have passed `limit`). */
  readonly added: boolean;
}

export interface WindowCounter {
  /**
   * Adds `amount` to `key`'s window, opening one of `windowMs` when there is none. With `limit`,
   * an amount that would take the total past it is not added (so a refused request costs nothing).
   */
  add(key: string, amount: number, windowMs: number, limit?: number): Counted<WindowCount>;
  /** The key's window as it stands, without counting. */
  read(key: string): Counted<WindowCount>;
  /**
   * Takes `amount` back from `key`'s window, never below 0 and never opening one (a refund after the
   * window ended gives nothing to the next).
   */
  refund(key: string, amount: number): Counted<void>;
}

/** The count of a key without a window. */
export const EMPTY_COUNT: WindowCount = { total: 0, ttlMs: 0, added: false };
