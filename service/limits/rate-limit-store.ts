/**
 * The request-count limit's store for @fastify/rate-limit (its `store` option): the plugin keeps
 * deciding (max, window, headers, the 429), the counts live in the limits' counter, shared by
 * every replica when Redis is configured.
 */
import { failureOf, type Counted, type WindowCount, type WindowCounter } from "./window-counter.js";

type Done = (err: Error | null, result?: { current: number; ttl: number }) => void;

/** What @fastify/rate-limit passes to a route's child store (its types say route options). */
interface RouteParams {
  readonly routeInfo?: { readonly method?: string; readonly url?: string };
}

/** Hands the plugin the count: at once from memory, when it arrives from Redis. */
function answer(count: () => Counted<WindowCount>, done: Done): void {
  let counted: Counted<WindowCount>;
  try {
    counted = count();
  } catch (err) {
    done(failureOf(err));
    return;
  }
  const hand = (window: WindowCount) => done(null, { current: window.total, ttl: window.ttlMs });
  if (counted instanceof Promise) counted.then(hand, (err: unknown) => done(failureOf(err)));
  else hand(counted);
}

/** A store class over `counter`, as the plugin's `store` option takes one (it calls `new`). */
export function rateLimitStore(counter: WindowCounter) {
  return class CountStore {
    constructor(
      _globalParams: unknown,
      private readonly prefix = "count:",
    ) {}

    incr(key: string, done: Done, timeWindow: number): void {
      answer(() => counter.add(this.prefix + key, 1, timeWindow), done);
    }

    read(key: string, done: Done): void {
      answer(() => counter.read(this.prefix + key), done);
    }

    /** A route with limits of its own counts apart from the global ones. */
    child(params: unknown): CountStore {
      const { routeInfo } = params as RouteParams;
      const route = `${routeInfo?.method ?? ""}${routeInfo?.url ?? ""}`;
      return new CountStore(undefined, `${this.prefix}${route}:`);
    }
  };
}
