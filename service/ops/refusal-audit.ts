/**
 * Refused admin actions are audited: the auth hook (service/auth/hook.ts) reports each refusal on
 * a route whose declaration names an action (`config.auth.audit`, e.g. POST /reload-model), and
 * it is recorded as denied, with the status and the reason.
 */
import type { FastifyRequest } from "fastify";
import type { RefusalListener } from "../auth/hook.js";
import { OIDC_EMAIL_HEADER } from "../auth/proxy-users.js";
import { routeAccess } from "../auth/route-auth.js";
import type { AuditLog } from "./audit.js";

export function auditRefusals(audit: AuditLog, trustProxyHeaders: boolean): RefusalListener {
  return async (request, action, error) => {
    await audit.record({
      who: callerHint(request, trustProxyHeaders),
      action,
      result: "denied",
      requestId: request.id,
      detail: { status: error.statusCode, code: error.code, address: request.ip, reason: error.message },
    });
  };
}

/**
 * Who a refused caller claimed to be, for the audit record (never trusted for anything else). The
 * proxy's email header is read only on a route that accepts proxy users: on the others nginx does
 * not overwrite it, and a client could write any name into the trail.
 */
function callerHint(request: FastifyRequest, trustHeaders: boolean): string {
  const email = request.headers[OIDC_EMAIL_HEADER];
  const access = routeAccess(request.routeOptions.config);
  const proxyRoute = access !== "public" && access.accepts.includes("oauth2-proxy");
  if (trustHeaders && proxyRoute && typeof email === "string") return `email:${email.slice(0, 254)}`;
  return "anonymous";
}
