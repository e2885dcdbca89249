/**
 * Cross-site request forgery on admin actions. A user signed in through oauth2-proxy is known by a
 * cookie the browser attaches by itself, and that cookie is scoped to the parent domain: a page on
 * a sibling host (an XSS on the MLflow or Grafana host) could POST to /reload-model in the user's
 * name with `fetch(..., { mode: "no-cors", credentials: "include" })`, and SameSite=lax would not
 * stop it (same site). So an admin action from such a user must carry {@link CSRF_HEADER}, which
 * plinth's own panel sends and which no form and no no-cors request can set (a cross-origin
 * request setting it needs a CORS preflight the service never grants), and must not be marked by
 * the browser as coming from another origin. API keys and JWTs are sent explicitly, never ambient:
 * they are not checked.
 */
import type { FastifyRequest } from "fastify";

/** The header plinth's pages send on every call; its value is fixed. */
export const CSRF_HEADER = "x-plinth-csrf";
export const CSRF_VALUE = "1";

/** Why a browser request cannot be an admin action of this service's own pages, or undefined. */
export function crossSiteProblem(request: FastifyRequest): string | undefined {
  // Sent by every current browser on every request, no-cors included; `none` is a typed URL.
  const site = request.headers["sec-fetch-site"];
  if (typeof site === "string" && site !== "same-origin" && site !== "none") {
    return `the browser marked it Sec-Fetch-Site: ${site.slice(0, 32)}`;
  }
  if (request.headers[CSRF_HEADER] !== CSRF_VALUE) return `it lacks the ${CSRF_HEADER} header`;
  return undefined;
}
