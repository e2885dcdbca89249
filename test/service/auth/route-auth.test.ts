/**
 * Route auth as one declaration read by one hook (service/auth/route-auth.ts, service/auth/hook.ts):
 * a route without a declaration is closed, a public one open, an admin one refuses callers without
 * the role and oauth2-proxy users outside the allowed domains; the documented statuses, the
 * under-pressure exemption and the OpenAPI security are derived from the same declaration. The
 * real service's routes are inventoried through the registration check the hook installs.
 */
import Fastify, { type FastifyInstance, type RouteOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Authenticator } from "../../../service/auth/authenticate.js";
import { installAuthentication } from "../../../service/auth/hook.js";
import {
  accessErrorStatuses,
  API_CALLERS,
  checkDeclaration,
  exemptFromPressure,
  routeAccess,
  type RouteAuth,
} from "../../../service/auth/route-auth.js";
import type * as RouteAuthModule from "../../../service/auth/route-auth.js";
import { loadConfig } from "../../../service/config.js";
import { installErrorHandlers } from "../../../service/errors/handler.js";
import { decorateRequests } from "../../../service/server/request-context.js";
import { API_KEY, errorCode, startTestService, type TestService } from "../server/service-fixture.js";

// Records every route the hook's registration check sees: the service's whole route inventory.
vi.mock("../../../service/auth/route-auth.js", async (importOriginal) => {
  const original = await importOriginal<typeof RouteAuthModule>();
  return { ...original, checkDeclaration: vi.fn(original.checkDeclaration) };
});

const EMAIL = "x-auth-request-email";
const ADMIN_KEY = "admin-key-0123456789abcdef";
const KEYS = {
  API_KEYS: `tester:${API_KEY},ops:${ADMIN_KEY}`,
  API_KEY_ROLES: "ops:admin",
};
const TESTER = { "x-api-key": API_KEY };
const ADMIN = { "x-api-key": ADMIN_KEY };
const WRONG = { "x-api-key": "wrong-key-0123456789abcdef" };
const ALLOWED_USER = { [EMAIL]: "alice@example.com", "x-auth-request-groups": "staff,admins" };
const REFUSED_USER = { [EMAIL]: "mallory@evil.com" };
const ADMIN_ACTION: RouteAuth = { accepts: ["api", "oauth2-proxy"], roles: ["admin"], audit: "test" };

const config = (auth?: unknown): { auth?: unknown } => (auth === undefined ? {} : { auth });

describe("a route's declaration", () => {
  it("defaults to authenticated API callers, also for a config without auth or a malformed one", () => {
    expect(routeAccess(undefined)).toBe(API_CALLERS);
    expect(routeAccess({ rateLimit: false } as never)).toBe(API_CALLERS);
    expect(routeAccess(config("pubic"))).toBe(API_CALLERS);
    expect(routeAccess(config("public"))).toBe("public");
    expect(routeAccess(config({ roles: ["admin"] }))).toEqual({
      accepts: ["api"],
      roles: ["admin"],
      anonymous: false,
    });
  });

  it("is checked at registration: the retired `public: true`, unknown roles, credentials or members", () => {
    const check =
      (cfg: object, url = "/ops/x") =>
      () =>
        checkDeclaration({ method: "GET", url, config: cfg });
    expect(check({ public: true })).toThrow("GET /ops/x: config.public is retired");
    expect(check({ auth: "open" })).toThrow('config.auth must be "public" or an access rule');
    expect(check({ auth: { roles: ["root"] } })).toThrow("config.auth.roles");
    expect(check({ auth: { accepts: [] } })).toThrow("config.auth.accepts");
    expect(check({ auth: { accepts: ["cookie"] } })).toThrow("config.auth.accepts");
    expect(check({ auth: { role: ["admin"] } })).toThrow("unknown members role");
    expect(check({ auth: { anonymous: "yes" } })).toThrow("config.auth.anonymous");
    expect(check({ auth: { audit: "" } })).toThrow("config.auth.audit");
    for (const ok of [{}, { auth: "public" }, { auth: ADMIN_ACTION }, { auth: { anonymous: true } }]) {
      expect(check(ok)).not.toThrow();
    }
    // oauth2-proxy's header is trusted only on the paths the protected Ingress alone routes.
    for (const url of ["/v2/repository/index", "/predict", "/administrator", "/reload-model/x"]) {
      expect(check({ auth: ADMIN_ACTION }, url)).toThrow(
        `GET ${url}: accepts oauth2-proxy users, but only the operator paths (/admin, /ops, /reload-model, service/contract/operator-paths.ts) are routed behind oauth2-proxy`,
      );
      expect(check({ auth: { accepts: ["api"], roles: ["admin"] } }, url)).not.toThrow();
    }
    for (const url of ["/admin", "/admin/panel.js", "/ops/summary", "/reload-model"]) {
      expect(check({ auth: ADMIN_ACTION }, url)).not.toThrow();
    }
  });

  it.each([
    ["public", config("public"), [], true],
    ["undeclared", config(), [401, 429], false],
    ["a role over API credentials", config({ roles: ["force-variant"] }), [401, 403, 429], false],
    ["an admin action", config(ADMIN_ACTION), [401, 403, 429], true],
    [
      "ops readers",
      config({ accepts: ["api", "oauth2-proxy"], roles: ["admin", "ops-read"] }),
      [401, 403, 429],
      true,
    ],
    ["the panel page", config({ accepts: ["oauth2-proxy"], roles: ["admin"], anonymous: true }), [403], true],
  ])("%s: the statuses it documents and its under-pressure exemption", (_name, cfg, statuses, exempt) => {
    expect(accessErrorStatuses(cfg)).toEqual(statuses);
    expect(exemptFromPressure(cfg)).toBe(exempt);
  });
});

/** A bare fastify app with the hook and the error envelope, and one route per declaration. */
async function hookedApp(trustProxyHeaders: boolean): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  decorateRequests(app);
  installErrorHandlers(app);
  const authenticator = new Authenticator(loadConfig(KEYS).auth, {
    oidcTrustHeaders: trustProxyHeaders,
    oidcAllowedEmailDomains: ["example.com"],
    oidcAdminGroups: ["admins"],
    oidcOpsReadGroups: [],
  });
  await authenticator.init();
  installAuthentication(app, authenticator);
  const who = async (request: { principal: { identity: string } | null }) => ({
    who: request.principal?.identity ?? null,
  });
  app.get("/undeclared", who);
  app.get("/rate-limit-only", { config: { rateLimit: false } }, who);
  app.get("/public", { config: { auth: "public" } }, who);
  app.post("/ops/admin-action", { config: { auth: ADMIN_ACTION } }, who);
  app.get(
    "/admin/page",
    { config: { auth: { accepts: ["oauth2-proxy"], roles: ["admin"], anonymous: true } } },
    who,
  );
  return app;
}

describe("the auth hook", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await hookedApp(true);
  });
  afterAll(() => app.close());

  const call = async (method: "GET" | "POST", url: string, headers: Record<string, string> = {}) => {
    const res = await app.inject({ method, url, headers });
    return res.statusCode === 200 ? [200, res.json().who] : [res.statusCode, errorCode(res)];
  };

  it("authenticates a route without a declaration: credentials required, proxy users not accepted", async () => {
    for (const url of ["/undeclared", "/rate-limit-only"]) {
      expect(await call("GET", url), url).toEqual([401, "UNAUTHENTICATED"]);
      expect(await call("GET", url, WRONG), url).toEqual([401, "INVALID_CREDENTIALS"]);
      expect(await call("GET", url, ALLOWED_USER), url).toEqual([401, "UNAUTHENTICATED"]);
      expect(await call("GET", url, TESTER), url).toEqual([200, "key:tester"]);
    }
  });

  it("leaves a public route public: no credentials looked at, wrong ones included", async () => {
    expect(await call("GET", "/public")).toEqual([200, null]);
    expect(await call("GET", "/public", WRONG)).toEqual([200, null]);
    expect(await call("GET", "/public", REFUSED_USER)).toEqual([200, null]);
  });

  it("refuses an admin action to a key without the role and to a proxy user not allowed", async () => {
    expect(await call("POST", "/ops/admin-action")).toEqual([401, "UNAUTHENTICATED"]);
    expect(await call("POST", "/ops/admin-action", TESTER)).toEqual([403, "FORBIDDEN"]);
    expect(await call("POST", "/ops/admin-action", REFUSED_USER)).toEqual([403, "FORBIDDEN"]);
    expect(await call("POST", "/ops/admin-action", { [EMAIL]: "not-an-address" })).toEqual([
      403,
      "FORBIDDEN",
    ]);
    expect(await call("POST", "/ops/admin-action", ADMIN)).toEqual([200, "key:ops"]);
    // A signed-in user's admin action must come from the service's own pages (service/auth/csrf.ts).
    expect(await call("POST", "/ops/admin-action", ALLOWED_USER)).toEqual([403, "FORBIDDEN"]);
    expect(await call("POST", "/ops/admin-action", { ...ALLOWED_USER, "x-plinth-csrf": "1" })).toEqual([
      200,
      "email:alice@example.com",
    ]);
  });

  it("serves an anonymous page to nobody, yet checks the proxy user it names and ignores API keys", async () => {
    expect(await call("GET", "/admin/page")).toEqual([200, null]);
    expect(await call("GET", "/admin/page", WRONG)).toEqual([200, null]);
    expect(await call("GET", "/admin/page", ALLOWED_USER)).toEqual([200, "email:alice@example.com"]);
    expect(await call("GET", "/admin/page", REFUSED_USER)).toEqual([403, "FORBIDDEN"]);
  });

  it("ignores oauth2-proxy's header entirely when it is not trusted", async () => {
    const untrusted = await hookedApp(false);
    try {
      const res = await untrusted.inject({ method: "POST", url: "/ops/admin-action", headers: ALLOWED_USER });
      expect([res.statusCode, errorCode(res)]).toEqual([401, "UNAUTHENTICATED"]);
      const page = await untrusted.inject({ method: "GET", url: "/admin/page", headers: REFUSED_USER });
      expect([page.statusCode, page.json()]).toEqual([200, { who: null }]);
    } finally {
      await untrusted.close();
    }
  });

  it("refuses to register a route declared the retired way", () => {
    const app = Fastify({ logger: false });
    installAuthentication(
      app,
      new Authenticator(loadConfig(KEYS).auth, {
        oidcTrustHeaders: false,
        oidcAllowedEmailDomains: [],
        oidcAdminGroups: [],
        oidcOpsReadGroups: [],
      }),
    );
    expect(() => app.get("/old", { config: { public: true } as never }, async () => "open")).toThrow(
      "config.public is retired",
    );
  });
});

describe("the service's routes", () => {
  let svc: TestService;
  let routes: RouteOptions[];
  beforeAll(async () => {
    vi.mocked(checkDeclaration).mockClear();
    svc = await startTestService({
      ...KEYS,
      OPS_OIDC_TRUST_HEADERS: "true",
      OPS_OIDC_ALLOWED_EMAIL_DOMAINS: "example.com",
      OPS_OIDC_ADMIN_GROUPS: "admins",
    });
    await svc.app.ready();
    routes = vi.mocked(checkDeclaration).mock.calls.map(([route]) => route as RouteOptions);
  });
  afterAll(() => svc.close());

  /** A concrete URL for a route pattern (path parameters and wildcards filled in). */
  const urlOf = (route: RouteOptions) => route.url.replace(/:[^/]+/g, "x").replace("*", "x");
  const methods = (route: RouteOptions) => [route.method].flat().filter((m) => m !== "HEAD");
  const inject = (method: string, url: string, headers: Record<string, string> = {}) =>
    svc.app.inject({ method: method as "GET", url, headers });

  it("declares public exactly the probes and the docs", () => {
    const open = routes.filter((r) => routeAccess(r.config) === "public").map((r) => r.url);
    expect(routes.length).toBeGreaterThanOrEqual(20);
    expect([...new Set(open.filter((url) => !url.startsWith("/docs")))].sort()).toEqual([
      "/health",
      "/openapi.json",
      "/ready",
      "/ready/pod",
      "/v2/health/live",
      "/v2/health/ready",
    ]);
  });

  it("declares every admin and ops route with a role, none public", () => {
    const admin = routes.filter((r) => /^\/(admin|ops|reload-model)/.test(r.url));
    expect(admin.map((r) => r.url)).toEqual(
      expect.arrayContaining(["/admin", "/ops/summary", "/reload-model"]),
    );
    for (const route of admin) {
      const access = routeAccess(route.config);
      expect(access, route.url).not.toBe("public");
      expect(access !== "public" && access.roles.includes("admin"), route.url).toBe(true);
    }
  });

  it("answers 401 without credentials on every undeclared route", async () => {
    const undeclared = routes.filter((r) => (r.config as { auth?: unknown } | undefined)?.auth === undefined);
    expect(undeclared.length).toBeGreaterThanOrEqual(10);
    for (const route of undeclared) {
      for (const method of methods(route)) {
        const res = await inject(method, urlOf(route));
        expect([res.statusCode, errorCode(res)], `${method} ${route.url}`).toEqual([401, "UNAUTHENTICATED"]);
      }
    }
  });

  it("refuses every admin-role route to a key without the role and to a proxy user not allowed", async () => {
    const admin = routes.filter((r) => {
      const access = routeAccess(r.config);
      return access !== "public" && access.roles.includes("admin") && !access.anonymous;
    });
    expect(admin.map((r) => r.url)).toEqual(expect.arrayContaining(["/ops/summary", "/reload-model"]));
    for (const route of admin) {
      for (const method of methods(route)) {
        for (const headers of [TESTER, REFUSED_USER]) {
          const res = await inject(method, urlOf(route), headers);
          expect([res.statusCode, errorCode(res)], `${method} ${route.url}`).toEqual([403, "FORBIDDEN"]);
        }
      }
    }
  });

  it("answers public routes without credentials", async () => {
    for (const url of ["/health", "/ready", "/v2/health/live", "/openapi.json", "/docs"]) {
      expect((await inject("GET", url)).statusCode, url).toBe(200);
    }
  });

  it("shows each operation's roles in the OpenAPI document", async () => {
    const spec = (await inject("GET", "/openapi.json")).json() as {
      paths: Record<string, Record<string, { security?: unknown; "x-plinth-auth"?: unknown }>>;
    };
    const summary = spec.paths["/ops/summary"]!.get!;
    expect(summary.security).toEqual([
      { apiKey: ["admin"] },
      { bearer: ["admin"] },
      { apiKey: ["ops-read"] },
      { bearer: ["ops-read"] },
    ]);
    expect(summary["x-plinth-auth"]).toEqual({
      accepts: ["api", "oauth2-proxy"],
      roles: ["admin", "ops-read"],
      anonymous: false,
    });
    expect(spec.paths["/reload-model"]!.post!.security).toEqual([
      { apiKey: ["admin"] },
      { bearer: ["admin"] },
    ]);
    expect(spec.paths["/metadata"]!.get!.security).toEqual([{ apiKey: [] }, { bearer: [] }]);
    expect(spec.paths["/health"]!.get!.security).toBeUndefined();
    expect(spec.paths["/health"]!.get!["x-plinth-auth"]).toBe("public");
    for (const [path, byMethod] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(byMethod)) {
        expect(op["x-plinth-auth"], `${method} ${path}`).toBeDefined();
      }
    }
  });
});
