/**
 * What the service attaches to each request: who is calling (set by auth) and which model
 * variant served it (set by the prediction routes, read by metrics).
 */
import type { FastifyInstance } from "fastify";
import type { Role } from "../auth/roles.js";

export interface Principal {
  /** Rate-limit bucket and log name: `key:<identity>`, `jwt:<claim value>` or `email:<address>`. */
  readonly identity: string;
  /** `oauth2-proxy`: the admin guard's trusted X-Auth-Request-Email (service/ops/admin-auth.ts). */
  readonly method: "api-key" | "jwt" | "oauth2-proxy";
  /** What the caller may do beyond predicting (service/auth/roles.ts). */
  readonly roles: readonly Role[];
}

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
    /** Routes open without credentials (health, readiness, docs). */
    public?: boolean;
  }
}

export function decorateRequests(app: FastifyInstance): void {
  app.decorateRequest("principal", null);
  app.decorateRequest("servedBy", null);
}
