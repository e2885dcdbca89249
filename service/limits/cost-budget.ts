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
import type { WindowCounter } from "./window-counter.js";

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
    if (charge !== null && REFUNDED_STATUSES.has(reply.statusCode))
      void counter.refund(charge.key, charge.cost).catch(() => undefined);
    done();
  });
  app.addHook("preHandler", async (request, reply) => {
    // Routes exempt from the rate limit (health, readiness, docs) are exempt from the budget.
    if (request.routeOptions.config.rateLimit === false) return;
    const cost = requestCost(request, settings);
    const key = `cost:${limitKey(request)}`;
    const charged = await counter.add(key, cost, settings.windowMs, settings.max);
    if (!charged.added && cost > settings.max) {
      // No window ever holds it: waiting would not help, so no Retry-After.
      throw new ApiError(
        ErrorCode.RATE_LIMITED,
        `this request costs ${cost}, more than the whole cost budget of ${settings.max} per ${settings.windowMs} ms (RATE_LIMIT_COST_MAX); send fewer rows or a smaller image`,
      );
    }
    if (!charged.added) {
      const retryAfter = Math.max(1, Math.ceil(charged.ttlMs / 1000));
      throw new ApiError(
        ErrorCode.RATE_LIMITED,
        `cost budget of ${settings.max} per ${settings.windowMs} ms exceeded (this request costs ${cost}); retry in ${retryAfter} s`,
        { "retry-after": String(retryAfter) },
      );
    }
    request.costCharge = { key, cost };
    reply.header("plinth-request-cost", String(cost));
  });
}
