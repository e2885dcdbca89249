/**
 * Who may call a route, declared once in its options as `config: { auth }` and enforced by the one
 * auth hook (./hook.ts). The documented error statuses (server/schemas.ts), the OpenAPI security
 * (server/docs.ts) and the routes under-pressure never sheds (server/build.ts) are derived from
 * the same declaration, so none of them can drift from what the hook enforces.
 *
 * - `"public"`: no credentials are looked at (probes, docs).
 * - no declaration: an authenticated API caller, any role. Forgetting to declare leaves a route
 *   closed, never open.
 * - an {@link AccessRule}: which credentials the route accepts and which roles it requires, e.g.
 *   `{ accepts: ["api", "oauth2-proxy"], roles: ["admin"], audit: "reload-model" }`.
 */
import { isOperatorPath, OPERATOR_PATHS } from "../contract/operator-paths.js";
import { isRole, type Role } from "./roles.js";

/**
 * What a caller may present:
 * - `api`: an API key or a JWT (`x-api-key`, or `Authorization: Bearer`);
 * - `oauth2-proxy`: a user named by oauth2-proxy's `X-Auth-Request-Email`, only when
 *   OPS_OIDC_TRUST_HEADERS=true (otherwise the header is ignored, so no client can claim a user).
 */
export const CREDENTIALS = ["api", "oauth2-proxy"] as const;
export type Credential = (typeof CREDENTIALS)[number];

export interface Access {
  /** Credentials the route accepts, tried in the order oauth2-proxy, then api. */
  readonly accepts: readonly Credential[];
  /** The caller must hold one of these; empty: any authenticated caller. */
  readonly roles: readonly Role[];
  /**
   * A request presenting none of the accepted credentials passes as nobody; credentials it does
   * present are still checked (the admin panel's static shell, which holds no data).
   */
  readonly anonymous: boolean;
  /** Refusals are audited as this admin action (service/ops/refusal-audit.ts). */
  readonly audit?: string;
}

/** A route's declaration: the omitted members of a rule take the defaults of an API route. */
export type AccessRule = Partial<Access>;
export type RouteAuth = "public" | AccessRule;

/** The access of a route without a declaration. */
export const API_CALLERS: Access = Object.freeze({
  accepts: Object.freeze(["api"] as const),
  roles: Object.freeze([]),
  anonymous: false,
});

/**
 * Operators' roles. A route that requires one is an operators' route, never shed under pressure:
 * an overloaded service must still be inspected and reloaded.
 */
const OPERATOR_ROLES: ReadonlySet<Role> = new Set(["admin", "ops-read"]);

/** A route's `config`, as fastify hands it to hooks (other members are ignored). */
type RouteConfig = { readonly auth?: unknown } | undefined;

/**
 * The access a route's config declares. Anything that is not `"public"` or an object (a typo)
 * falls back to API callers: a mistake closes a route, it never opens it; {@link checkDeclaration}
 * refuses such a route when it is registered.
 */
export function routeAccess(config: RouteConfig): "public" | Access {
  const auth = config?.auth;
  if (auth === "public") return "public";
  if (auth === undefined || auth === null || typeof auth !== "object") return API_CALLERS;
  const rule = auth as AccessRule;
  return {
    accepts: rule.accepts ?? API_CALLERS.accepts,
    roles: rule.roles ?? API_CALLERS.roles,
    anonymous: rule.anonymous ?? false,
    ...(rule.audit === undefined ? {} : { audit: rule.audit }),
  };
}

/**
 * The statuses the auth hook itself may answer on a route: 401 (missing or wrong credentials),
 * 403 (a missing role, a refused oauth2-proxy user) and 429 (a client address past
 * AUTH_FAILURE_LIMIT, checked before API credentials).
 */
export function accessErrorStatuses(config: RouteConfig): number[] {
  const access = routeAccess(config);
  if (access === "public") return [];
  const api = access.accepts.includes("api");
  const statuses: number[] = [];
  if (api || !access.anonymous) statuses.push(401);
  if (access.roles.length > 0 || access.accepts.includes("oauth2-proxy")) statuses.push(403);
  if (api) statuses.push(429);
  return statuses;
}

/** Routes under-pressure lets through: public ones (probes, docs) and operators' routes. */
export function exemptFromPressure(config: RouteConfig): boolean {
  const access = routeAccess(config);
  return access === "public" || access.roles.some((role) => OPERATOR_ROLES.has(role));
}

/**
 * Throws when a route's declaration is malformed, so a mistake stops the service at start rather
 * than serving a route under an access nobody meant. Also refuses the retired `public: true`.
 */
export function checkDeclaration(route: { method: string | string[]; url: string; config?: unknown }): void {
  const config = route.config as { auth?: unknown; public?: unknown } | undefined;
  const where = `${[route.method].flat().join(",")} ${route.url}`;
  if (config?.public !== undefined) {
    throw new Error(`${where}: config.public is retired; declare config.auth (service/auth/route-auth.ts)`);
  }
  const auth = config?.auth;
  if (auth === undefined || auth === "public") return;
  if (auth === null || typeof auth !== "object" || Array.isArray(auth)) {
    throw new Error(`${where}: config.auth must be "public" or an access rule, not ${JSON.stringify(auth)}`);
  }
  const rule = auth as Record<string, unknown>;
  const known = new Set(["accepts", "roles", "anonymous", "audit"]);
  const unknown = Object.keys(rule).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new Error(`${where}: config.auth has unknown members ${unknown.join(", ")}`);
  const accepts = rule.accepts ?? API_CALLERS.accepts;
  if (
    !Array.isArray(accepts) ||
    accepts.length === 0 ||
    !accepts.every((c) => (CREDENTIALS as readonly unknown[]).includes(c))
  ) {
    throw new Error(`${where}: config.auth.accepts must list some of ${CREDENTIALS.join(", ")}`);
  }
  // oauth2-proxy's header is trusted only where the protected Ingress alone routes (and overwrites
  // it): on any other path a client on the public host could send it.
  if (accepts.includes("oauth2-proxy") && !isOperatorPath(route.url)) {
    throw new Error(
      `${where}: accepts oauth2-proxy users, but only the operator paths (${OPERATOR_PATHS.map((p) => p.path).join(", ")}, service/contract/operator-paths.ts) are routed behind oauth2-proxy; accept "api" only, or add the path there`,
    );
  }
  const roles = rule.roles ?? [];
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === "string" && isRole(r))) {
    throw new Error(`${where}: config.auth.roles must list roles of service/auth/roles.ts`);
  }
  if (rule.anonymous !== undefined && typeof rule.anonymous !== "boolean") {
    throw new Error(`${where}: config.auth.anonymous must be a boolean`);
  }
  if (rule.audit !== undefined && (typeof rule.audit !== "string" || rule.audit === "")) {
    throw new Error(`${where}: config.auth.audit must name an action`);
  }
}
