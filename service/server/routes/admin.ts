/**
 * `GET /admin`: the admin panel, a static page and its script and stylesheet (service/admin/).
 * The page holds no data: everything it shows comes from `GET /ops/summary` and every action goes
 * to an admin endpoint, each authorised on the server per request. So the page is served to a
 * request without credentials (it asks for a key), but when the service sits behind oauth2-proxy
 * (OPS_OIDC_TRUST_HEADERS=true) and the proxy names a user, that user must be an admin.
 *
 * Served at each of the process's operator bases (./operator.ts): `/admin` and
 * `/models/<MODEL_NAME>/admin`. The page names its assets, its data and its actions relative to where
 * it was loaded (`admin/panel.js`, `ops/summary`, `reload-model`), so at either base it reads and
 * acts on the routes beside it, the same process's.
 *
 * A strict Content-Security-Policy (own scripts only, no inline code, no third-party origins)
 * keeps an injected script from reading the API key the page holds in sessionStorage.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { AccessRule } from "../../auth/route-auth.js";
import { PACKAGE_ROOT } from "../../files/package-root.js";
import { httpAdapter } from "../named-plugin.js";

const ASSETS_DIR = path.join(PACKAGE_ROOT, "service", "admin");
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

/** The page's access: anonymous allowed (a static shell), a user oauth2-proxy names must be an admin. */
const PANEL_PAGE: AccessRule = { accepts: ["oauth2-proxy"], roles: ["admin"], anonymous: true };

export const adminPanelPlugin = httpAdapter("plinth-admin-panel", async (app) => {
  for (const [url, [file, type]] of Object.entries(ASSETS)) {
    const body = await readFile(path.join(ASSETS_DIR, file));
    app.get(url, { config: { auth: PANEL_PAGE }, schema: { hide: true } }, async (_request, reply) =>
      reply
        .type(type)
        .header("content-security-policy", ADMIN_CSP)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header("cache-control", "no-cache")
        .send(body),
    );
  }
});
