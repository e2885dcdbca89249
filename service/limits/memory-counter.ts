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

  add(key: string, amount: number, windowMs: number, limit?: number): Promise<WindowCount> {
    return Promise.resolve(this.addNow(key, amount, windowMs, limit));
  }

  read(key: string): Promise<WindowCount> {
    const window = this.current(key);
    return Promise.resolve(window === undefined ? EMPTY_COUNT : this.count(window, false));
  }

  refund(key: string, amount: number): Promise<void> {
    const window = this.current(key);
    if (window !== undefined) window.total = Math.max(0, window.total - amount);
    return Promise.resolve();
  }

  private addNow(key: string, amount: number, windowMs: number, limit: number | undefined): WindowCount {
    const window = this.current(key);
    const total = window?.total ?? 0;
    if (limit !== undefined && total + amount > limit) {
      return window === undefined ? EMPTY_COUNT : this.count(window, false);
    }
    if (window !== undefined) {
      window.total += amount;
      return this.count(window, true);
    }
    if (this.windows.size >= this.maxKeys) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    const opened: Window = { startedAt: this.now(), windowMs, total: amount };
    this.windows.set(key, opened);
    return this.count(opened, true);
  }

  private count(window: Window, added: boolean): WindowCount {
    return { total: window.total, ttlMs: window.startedAt + window.windowMs - this.now(), added };
  }

  /** The key's window if it is still open; an expired one is dropped. */
  private current(key: string): Window | undefined {
    const window = this.windows.get(key);
    if (window === undefined) return undefined;
    if (this.now() - window.startedAt < window.windowMs) return window;
    this.windows.delete(key);
    return undefined;
  }
}

/**
 * One {@link MemoryCounter} per kind of limit (the key's text before its first `:`: `count`,
 * `cost`, `auth-failures`), so a flood of one kind (spoofed addresses failing authentication)
 * can only make its own kind forget, never reset another's (an identity's request count).
 */
export class PartitionedMemoryCounter implements WindowCounter {
  private readonly parts = new Map<string, MemoryCounter>();

  constructor(private readonly options: MemoryCounterOptions = {}) {}

  add(key: string, amount: number, windowMs: number, limit?: number): Promise<WindowCount> {
    return this.part(key).add(key, amount, windowMs, limit);
  }

  read(key: string): Promise<WindowCount> {
    return this.part(key).read(key);
  }

  refund(key: string, amount: number): Promise<void> {
    return this.part(key).refund(key, amount);
  }

  private part(key: string): MemoryCounter {
    const kind = key.slice(0, Math.max(0, key.indexOf(":")));
    let counter = this.parts.get(kind);
    if (counter === undefined) this.parts.set(kind, (counter = new MemoryCounter(this.options)));
    return counter;
  }
}
