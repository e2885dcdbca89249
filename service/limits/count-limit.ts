/**
 * The request-count limit (RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_MS per identity), counted
 * in the limits' counter under `count:<identity>`, shared by every replica when Redis is
 * configured. It answers as @fastify/rate-limit (enableDraftSpec) did before it: a hook on each
 * route that does not declare `rateLimit: false`, running after the auth hook (so the bucket is
 * the caller's identity), the `ratelimit-*` headers on every limited response, and past the limit
 * `retry-after` and a 429 (which now says the window and when to retry: the plugin's named the
 * time left as the window). A callback hook: with the in-memory counter the count is decided at
 * once, where the plugin's async hook cost seven promises and 1.2 us per request (alternating A/B,
 * 64 connections on JSON /predict).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { failureOf, type Counted, type WindowCount, type WindowCounter } from "./window-counter.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** `false`: the route is exempt from the count limit and the cost budget (health, docs). */
    rateLimit?: false;
  }
}

export interface CountLimitSettings {
  /** Requests per identity per window. */
  readonly max: number;
  readonly windowMs: number;
  /** The bucket a request counts in (the caller's identity, else its address). */
  readonly keyOf: (request: FastifyRequest) => string;
}

export const COUNT_PREFIX = "count:";

type OnRequest = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/**
 * Adds the limit's hook to every route registered from now on, after the route's own onRequest
 * hooks, as the plugin did: a route's `rateLimit` is read when it is registered.
 */
export function installCountLimit(
  app: FastifyInstance,
  counter: WindowCounter,
  settings: CountLimitSettings,
): void {
  const hook = countHook(counter, settings);
  app.addHook("onRoute", (route) => {
    const declared: unknown = route.config?.rateLimit;
    if (declared === false) return;
    if (declared !== undefined && declared !== null)
      throw new Error(
        `route ${route.method} ${route.url}: config.rateLimit must be false (exempt) or absent (counted)`,
      );
    const own = route.onRequest;
    route.onRequest = own === undefined ? [hook] : [...(Array.isArray(own) ? own : [own]), hook];
  });
}

function countHook(counter: WindowCounter, settings: CountLimitSettings): OnRequest {
  const { max, windowMs, keyOf } = settings;
  return (request, reply, done) => {
    // An exemption another onRoute hook declared after this one ran (the docs' swagger-ui routes):
    // the route's final config, read as the cost budget reads it.
    if (request.routeOptions.config.rateLimit === false) return done();
    const answer = (window: WindowCount) => {
      const resetSeconds = Math.ceil(window.ttlMs / 1000);
      const exceeded = window.total > max;
      reply.header("ratelimit-limit", max);
      reply.header("ratelimit-remaining", exceeded ? 0 : Math.max(0, max - window.total));
      reply.header("ratelimit-reset", resetSeconds);
      if (!exceeded) return done();
      reply.header("retry-after", resetSeconds);
      done(
        new ApiError(
          ErrorCode.RATE_LIMITED,
          `rate limit of ${max} requests per ${windowMs / 1000} s exceeded; retry in ${resetSeconds} s`,
        ),
      );
    };
    let counted: Counted<WindowCount>;
    try {
      counted = counter.add(COUNT_PREFIX + keyOf(request), 1, windowMs);
    } catch (err) {
      return done(failureOf(err));
    }
    if (counted instanceof Promise) counted.then(answer, (err: unknown) => done(failureOf(err)));
    else answer(counted);
  };
}
