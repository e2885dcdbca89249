/**
 * The per-identity cost budget (RATE_LIMIT_COST_MAX per RATE_LIMIT_COST_WINDOW_MS): each limited
 * request is charged its cost (./cost.ts) once its body is parsed, before its handler runs. A
 * request that would pass the budget gets 429 with Retry-After and is not charged, so a caller
 * near the end of its budget can still send cheap requests.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { requestCost, type CostSettings } from "./cost.js";
import { failureOf, type Counted, type WindowCount, type WindowCounter } from "./window-counter.js";

declare module "fastify" {
  interface FastifyRequest {
    /** What the cost budget charged this request (refunded if it is then refused). */
    costCharge: { readonly key: string; readonly cost: number } | null;
  }
}

export interface CostBudgetSettings extends CostSettings {
  /** Cost units per identity per window; 0 turns the budget off. */
  readonly max: number;
  readonly windowMs: number;
}

/** The bucket every per-caller limit counts under (the count limit and this budget): the caller's identity, else its address. */
export function limitKey(request: FastifyRequest): string {
  return request.principal?.identity ?? request.ip;
}

/**
 * Statuses of a request the service refused without doing its work (its queue was full, the
 * candidate's share, an explain slot): its charge is taken back.
 */
const REFUNDED_STATUSES = new Set([429, 503]);

/** Adds the preHandler hook that charges each rate-limited route's requests, and the refund. */
export function installCostBudget(
  app: FastifyInstance,
  counter: WindowCounter,
  settings: CostBudgetSettings,
): void {
  if (settings.max <= 0) return;
  // A request decoration, not a WeakMap: an ephemeron per request cost the garbage collector
  // more than the rest of the budget at saturation.
  app.decorateRequest("costCharge", null);
  app.addHook("onResponse", (request, reply, done) => {
    const charge = request.costCharge;
    if (charge !== null && REFUNDED_STATUSES.has(reply.statusCode)) refundQuietly(counter, charge);
    done();
  });
  // A callback hook: with the in-memory counter the charge is decided at once, without a promise.
  app.addHook("preHandler", (request, reply, done) => {
    // fastify builds `routeOptions` afresh at each read: read once.
    const route = request.routeOptions;
    // Routes exempt from the rate limit (health, readiness, docs) are exempt from the budget.
    if (route.config.rateLimit === false) return done();
    const cost = requestCost(request, settings, route.url ?? "");
    const key = `cost:${limitKey(request)}`;
    const settle = (charged: WindowCount) => {
      const refusal = refuse(charged, cost, settings);
      if (refusal !== undefined) return done(refusal);
      request.costCharge = { key, cost };
      reply.header("plinth-request-cost", String(cost));
      done();
    };
    let charged: Counted<WindowCount>;
    try {
      charged = counter.add(key, cost, settings.windowMs, settings.max);
    } catch (err) {
      return done(failureOf(err));
    }
    if (charged instanceof Promise) charged.then(settle, (err: unknown) => done(failureOf(err)));
    else settle(charged);
  });
}

/** Why a charge was not added, as the 429 the caller gets; undefined when it was. */
function refuse(charged: WindowCount, cost: number, settings: CostBudgetSettings): ApiError | undefined {
  if (charged.added) return undefined;
  if (cost > settings.max) {
    // No window ever holds it: waiting would not help, so no Retry-After.
    return new ApiError(
      ErrorCode.RATE_LIMITED,
      `this request costs ${cost}, more than the whole cost budget of ${settings.max} per ${settings.windowMs} ms (RATE_LIMIT_COST_MAX); send fewer rows or a smaller image`,
    );
  }
  const retryAfter = Math.max(1, Math.ceil(charged.ttlMs / 1000));
  return new ApiError(
    ErrorCode.RATE_LIMITED,
    `cost budget of ${settings.max} per ${settings.windowMs} ms exceeded (this request costs ${cost}); retry in ${retryAfter} s`,
    { "retry-after": String(retryAfter) },
  );
}

/** Takes a refused request's charge back; a store that cannot be reached has logged its outage. */
function refundQuietly(
  counter: WindowCounter,
  charge: { readonly key: string; readonly cost: number },
): void {
  try {
    const refunded = counter.refund(charge.key, charge.cost);
    if (refunded instanceof Promise) refunded.catch(() => undefined);
  } catch {
    // as above
  }
}
