/**
 * Who may use the operations surface (/ops/*, /admin, admin actions such as POST /reload-model):
 *
 * - a caller whose API key or JWT carries the `admin` role (service/auth/roles.ts); or
 * - only when OPS_OIDC_TRUST_HEADERS=true, a user signed in through oauth2-proxy, identified by the
 *   `X-Auth-Request-Email` header the proxy sets, whose email domain is in
 *   OPS_OIDC_ALLOWED_EMAIL_DOMAINS. With the flag off the header is ignored entirely, so a client
 *   cannot claim an identity by sending it. With it on, the deployment must guarantee the header
 *   can only come from the proxy (the platform's NetworkPolicy admits the pod only from it).
 *
 * Routes opt in with {@link adminOnly}; they are marked `public` for the service-wide API-key hook
 * because this guard authenticates them itself (it must accept the proxy's header without a key).
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import { hasRole, type Role } from "../auth/roles.js";
import type { Authenticator } from "../auth/authenticate.js";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { Principal } from "../server/request-context.js";
import type { AuditLog } from "./audit.js";
import type { ObservabilityConfig } from "./settings.js";

export const OIDC_EMAIL_HEADER = "x-auth-request-email";
const ADMIN: readonly Role[] = ["admin"];
/** Reading the operations summary: admins, and the read-only role the drift check holds. */
const OPS_READERS: readonly Role[] = ["admin", "ops-read"];
/** A plain address: one @, no spaces, a dotted domain. Anything else from the proxy is refused. */
const EMAIL = /^[^\s@",;<>]{1,64}@([a-z0-9-]+(?:\.[a-z0-9-]+)+)$/i;

export class AdminGuard {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly settings: ObservabilityConfig["ops"],
    private readonly audit: AuditLog,
  ) {}

  /**
   * The principal of `request` if it holds one of `accepted` (oauth2-proxy users are admins);
   * throws 401 (no/invalid credentials) or 403 (none of the roles).
   */
  async authorise(request: FastifyRequest, accepted: readonly Role[] = ADMIN): Promise<Principal> {
    const email = request.headers[OIDC_EMAIL_HEADER];
    if (this.settings.oidcTrustHeaders && email !== undefined) return this.byEmail(email);
    const principal = await this.authenticator.authenticate(request);
    if (!accepted.some((role) => hasRole(principal, role))) {
      throw new ApiError(
        ErrorCode.FORBIDDEN,
        `${principal.identity} does not hold the ${accepted.join(" or ")} role`,
      );
    }
    return principal;
  }

  private byEmail(header: string | string[]): Principal {
    const value = Array.isArray(header) ? undefined : header.trim();
    const match = value === undefined ? null : EMAIL.exec(value);
    if (match === null) {
      throw new ApiError(ErrorCode.FORBIDDEN, `${OIDC_EMAIL_HEADER} is not a single email address`);
    }
    const domain = match[1]!.toLowerCase();
    if (!this.settings.oidcAllowedEmailDomains.includes(domain)) {
      throw new ApiError(
        ErrorCode.FORBIDDEN,
        `email domain ${domain} is not allowed to administer this service`,
      );
    }
    return { identity: `email:${value!.toLowerCase()}`, method: "oauth2-proxy", roles: ["admin"] };
  }

  /** Sets `request.principal` or refuses the request; with `action`, a refusal is audited as denied. */
  async check(request: FastifyRequest, action?: string, accepted: readonly Role[] = ADMIN): Promise<void> {
    try {
      request.principal = await this.authorise(request, accepted);
    } catch (err) {
      if (action !== undefined && err instanceof ApiError) {
        await this.audit.record({
          who: callerHint(request, this.settings.oidcTrustHeaders),
          action,
          result: "denied",
          requestId: request.id,
          detail: { status: err.statusCode, reason: err.message },
        });
      }
      throw err;
    }
  }
}

/** Who a refused caller claimed to be, for the audit record (never trusted for anything else). */
function callerHint(request: FastifyRequest, trustHeaders: boolean): string {
  const email = request.headers[OIDC_EMAIL_HEADER];
  if (trustHeaders && typeof email === "string") return `email:${email.slice(0, 254)}`;
  return "anonymous";
}

declare module "fastify" {
  interface FastifyInstance {
    adminGuard: AdminGuard;
  }
}

/** Decorates the root instance, so route modules can use {@link adminOnly}. */
export function installAdminGuard(app: FastifyInstance, guard: AdminGuard): void {
  app.decorate("adminGuard", guard);
}

/**
 * Route options for an admin route: `public` for the service-wide key hook (this guard does the
 * authentication) and the guard as the route's onRequest hook; `action` audits refusals.
 */
export function adminOnly(action?: string) {
  return guardedBy(ADMIN, action);
}

/** Route options for a read-only operations route: `admin` or `ops-read`. */
export function opsReaders() {
  return guardedBy(OPS_READERS);
}

function guardedBy(accepted: readonly Role[], action?: string) {
  const onRequest: onRequestAsyncHookHandler = (request) =>
    request.server.adminGuard.check(request, action, accepted);
  return { config: { public: true }, onRequest } as const;
}
