/**
 * `GET /admin`: the admin panel, a static page and its script and stylesheet (service/admin/).
 * The page holds no data: everything it shows comes from `GET /ops/summary` and every action goes
 * to an admin-guarded endpoint, each authorised on the server per request. When the service sits
 * behind oauth2-proxy (OPS_OIDC_TRUST_HEADERS=true) and the proxy names a user, the page itself is
 * refused to users outside the allowed domains as well.
 *
 * A strict Content-Security-Policy (own scripts only, no inline code, no third-party origins)
 * keeps an injected script from reading the API key the page holds in sessionStorage.
 */
import { readFile } from "node:fs/promises";
import type { FastifyInstance, onRequestAsyncHookHandler } from "fastify";
import { OIDC_EMAIL_HEADER } from "../../ops/admin-auth.js";

const ASSETS_DIR = new URL("../../admin/", import.meta.url);
const ASSETS = {
  "/admin": ["index.html", "text/html; charset=utf-8"],
  "/admin/panel.js": ["panel.js", "text/javascript; charset=utf-8"],
  "/admin/charts.js": ["charts.js", "text/javascript; charset=utf-8"],
  "/admin/panel.css": ["panel.css", "text/css; charset=utf-8"],
} as const;

export const ADMIN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export async function adminRoutes(app: FastifyInstance, trustProxyHeaders: boolean): Promise<void> {
  // Behind oauth2-proxy, users it names must also pass the guard to get the page.
  const proxiedUser: onRequestAsyncHookHandler = async (request) => {
    if (trustProxyHeaders && request.headers[OIDC_EMAIL_HEADER] !== undefined) {
      await request.server.adminGuard.check(request);
    }
  };
  for (const [url, [file, type]] of Object.entries(ASSETS)) {
    const body = await readFile(new URL(file, ASSETS_DIR));
    app.get(
      url,
      { config: { public: true }, onRequest: proxiedUser, schema: { hide: true } },
      async (_request, reply) =>
        reply
          .type(type)
          .header("content-security-policy", ADMIN_CSP)
          .header("x-content-type-options", "nosniff")
          .header("referrer-policy", "no-referrer")
          .header("cache-control", "no-cache")
          .send(body),
    );
  }
}
