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

export interface CostBudgetSettings extends CostSettings {
  /** Cost units per identity per window; 0 turns the budget off. */
  readonly max: number;
  readonly windowMs: number;
}

/** The bucket the budget charges: the caller's identity, else its address (as the count limit). */
export function budgetKey(request: FastifyRequest): string {
  return request.principal?.identity ?? request.ip;
}

/** Adds the preHandler hook that charges each rate-limited route's requests. */
export function installCostBudget(
  app: FastifyInstance,
  counter: WindowCounter,
  settings: CostBudgetSettings,
): void {
  if (settings.max <= 0) return;
  app.addHook("preHandler", async (request, reply) => {
    // Routes exempt from the rate limit (health, readiness, docs) are exempt from the budget.
    if (request.routeOptions.config.rateLimit === false) return;
    const cost = await requestCost(request, settings);
    const charged = await counter.add(`cost:${budgetKey(request)}`, cost, settings.windowMs, settings.max);
    if (!charged.added) {
      const retryAfter = Math.max(1, Math.ceil(charged.ttlMs / 1000));
      throw new ApiError(
        ErrorCode.RATE_LIMITED,
        `cost budget of ${settings.max} per ${settings.windowMs} ms exceeded (this request costs ${cost}); retry in ${retryAfter} s`,
        { "retry-after": String(retryAfter) },
      );
    }
    reply.header("plinth-request-cost", String(cost));
  });
}
