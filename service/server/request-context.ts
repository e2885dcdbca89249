/**
 * What the service attaches to each request: who is calling (set by auth) and which model
 * variant served it (set by the prediction routes, read by metrics).
 */
import type { FastifyInstance } from "fastify";
import type { Principal } from "../auth/principal.js";
import type { RouteAuth } from "../auth/route-auth.js";

export interface ServedBy {
  readonly variant: string;
  readonly version: string;
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
    servedBy: ServedBy | null;
  }
  interface FastifyContextConfig {
    /**
     * Who may call the route, read by the one auth hook (service/auth/route-auth.ts). Absent: an
     * authenticated API caller with any role.
     */
    auth?: RouteAuth;
  }
}

export function decorateRequests(app: FastifyInstance): void {
  app.decorateRequest("principal", null);
  app.decorateRequest("servedBy", null);
}
