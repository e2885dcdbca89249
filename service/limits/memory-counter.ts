/**
 * Windows kept in this process: the store without Redis (one replica) and the per-pod fallback
 * while Redis is down. At most `maxKeys` are kept; beyond that the key whose window started first
 * is forgotten, so a flood of distinct keys (spoofed addresses) costs bounded memory: it can only
 * make the counter forget, never grow.
 */
import { EMPTY_COUNT, type WindowCount, type WindowCounter } from "./window-counter.js";

export interface MemoryCounterOptions {
  readonly maxKeys?: number;
  /** Milliseconds; injectable for tests. */
  readonly now?: () => number;
}

interface Window {
  readonly startedAt: number;
  readonly windowMs: number;
  total: number;
}

export const DEFAULT_MAX_KEYS = 10_000;

export class MemoryCounter implements WindowCounter {
  private readonly windows = new Map<string, Window>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: MemoryCounterOptions = {}) {
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.now = options.now ?? Date.now;
  }

  /** Keys currently kept (for tests and the bound). */
  get size(): number {
    return this.windows.size;
  }

  add(key: string, amount: number, windowMs: number, limit?: number): WindowCount {
    const now = this.now();
    const window = this.current(key, now);
    const total = window?.total ?? 0;
    if (limit !== undefined && total + amount > limit) {
      return window === undefined ? EMPTY_COUNT : count(window, false, now);
    }
    if (window !== undefined) {
      window.total += amount;
      return count(window, true, now);
    }
    if (this.windows.size >= this.maxKeys) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    const opened: Window = { startedAt: now, windowMs, total: amount };
    this.windows.set(key, opened);
    return count(opened, true, now);
  }

  read(key: string): WindowCount {
    // Most reads find nothing (an address that never failed to authenticate): no clock read then.
    if (!this.windows.has(key)) return EMPTY_COUNT;
    const now = this.now();
    const window = this.current(key, now);
    return window === undefined ? EMPTY_COUNT : count(window, false, now);
  }

  refund(key: string, amount: number): void {
    const window = this.current(key, this.now());
    if (window !== undefined) window.total = Math.max(0, window.total - amount);
  }

  /** The key's window if it is still open at `now`; an expired one is dropped. */
  private current(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    if (window === undefined) return undefined;
    if (now - window.startedAt < window.windowMs) return window;
    this.windows.delete(key);
    return undefined;
  }
}

function count(window: Window, added: boolean, now: number): WindowCount {
  return { total: window.total, ttlMs: window.startedAt + window.windowMs - now, added };
}

/**
 * One {@link MemoryCounter} per kind of limit (the key's text before its first `:`: `count`,
 * `cost`, `auth-failures`), so a flood of one kind (spoofed addresses failing authentication)
 * can only make its own kind forget, never reset another's (an identity's request count).
 */
export class PartitionedMemoryCounter implements WindowCounter {
  // A handful of kinds, matched in place rather than cutting the kind out of every key.
  private readonly kinds: string[] = [];
  private readonly counters: MemoryCounter[] = [];

  constructor(private readonly options: MemoryCounterOptions = {}) {}

  add(key: string, amount: number, windowMs: number, limit?: number): WindowCount {
    return this.part(key).add(key, amount, windowMs, limit);
  }

  read(key: string): WindowCount {
    return this.part(key).read(key);
  }

  refund(key: string, amount: number): void {
    this.part(key).refund(key, amount);
  }

  private part(key: string): MemoryCounter {
    const end = Math.max(0, key.indexOf(":"));
    for (let i = 0; i < this.kinds.length; i++) {
      const kind = this.kinds[i]!;
      if (kind.length === end && key.startsWith(kind)) return this.counters[i]!;
    }
    const counter = new MemoryCounter(this.options);
    this.kinds.push(key.slice(0, end));
    this.counters.push(counter);
    return counter;
  }
}
