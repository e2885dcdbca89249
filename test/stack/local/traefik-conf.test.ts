/**
 * The local Traefik edge's configuration is the cluster's Gateway path on the file provider: one
 * router per path of the platform's route lists (the same list nginx renders), the protected ones
 * behind the contract's chain [rate-limit, sign-in, forward-auth], oauth2-proxy's /oauth2 behind the
 * sign-in flow's own rate limit, none of the public ones, no router that sends
 * an unlisted path to the inference service, HSTS on every router, and a ForwardAuth that deletes
 * every identity header a client sends before it copies oauth2-proxy's.
 */
import { describe, expect, it } from "vitest";
import {
  AUTH_HEADERS_REGEX,
  chainMiddleware,
  forwardAuthMiddleware,
  hstsHeader,
  rateLimitMiddleware,
  signInMiddleware,
  TRAEFIK_ENTRY_POINTS,
} from "../../../components/gateway/traefik.js";
import { PROTECTED_PATHS, PUBLIC_PATHS } from "../../../components/inference/routes.js";
import {
  AUTH_RESPONSE_HEADERS,
  SESSION_COOKIES,
  SIGN_IN_RATE_LIMIT,
} from "../../../components/oauth2-proxy/contract.js";
import { PROTECTED_ROUTE_RATE_LIMIT } from "../../../components/shared/edge.js";
import { edgeRoutes, type EdgeModelRoute } from "../../../stack/local/edge-routes.js";
import {
  fileChain,
  HSTS_MAX_AGE_SECONDS,
  MAX_REQUEST_BODY_BYTES,
  MIDDLEWARES,
  MLFLOW_SERVICE,
  OAUTH2_PROXY_SERVICE,
  pathRule,
  serviceOf,
  traefikDynamicConfig,
  traefikStaticConfig,
  type TraefikConfOptions,
} from "../../../stack/local/traefik-conf.js";

const OPTIONS: TraefikConfOptions = {
  host: "127.0.0.1",
  httpsPort: 8443,
  httpPort: 8880,
  servicePort: 18080,
  oauth2ProxyPort: 14180,
  certFile: "/tmp/x/server.pem",
  keyFile: "/tmp/x/server.key",
  edgeToken: "edge-Token_0123",
  dynamicFile: "/tmp/x/traefik/dynamic.yaml",
};

const MODELS: EdgeModelRoute[] = [
  { name: "fashion-classifier", port: 18080, isDefault: true },
  { name: "churn", port: 18081, isDefault: false },
  // Served beside churn in one process: no operator routes of its own.
  { name: "iris", port: 18081, isDefault: false },
];

const conf = traefikDynamicConfig(OPTIONS);
const { routers, middlewares, services } = conf.http;
const HOST = "Host(`127.0.0.1`)";

/** The routers that send requests to a service process. */
function serviceRouters(config = conf) {
  return Object.entries(config.http.routers).filter(([, r]) => r.service.startsWith("plinth-service-"));
}

/** The router whose rule is the API host and this Ingress path. */
function routerFor(config: typeof conf, path: (typeof PUBLIC_PATHS)[number]) {
  const rule = `${HOST} && ${pathRule(path)}`;
  const found = Object.values(config.http.routers).filter((r) => r.rule === rule);
  expect(found, rule).toHaveLength(1);
  return found[0]!;
}

describe("traefikDynamicConfig", () => {
  it("routes every public path to the service without auth, and every protected path through the chain", () => {
    for (const path of PUBLIC_PATHS) {
      const router = routerFor(conf, path);
      expect(router.service, path.path).toBe(serviceOf(18080));
      expect(router.middlewares, path.path).toEqual([
        MIDDLEWARES.hsts,
        MIDDLEWARES.bodyLimit,
        MIDDLEWARES.edgeToken,
      ]);
    }
    for (const path of PROTECTED_PATHS) {
      const router = routerFor(conf, path);
      expect(router.service, path.path).toBe(serviceOf(18080));
      // The check (and its sign-in redirect) before anything reaches or is buffered for the service.
      expect(router.middlewares, path.path).toEqual([
        MIDDLEWARES.hsts,
        MIDDLEWARES.protect,
        MIDDLEWARES.bodyLimit,
        MIDDLEWARES.edgeToken,
      ]);
    }
    expect(serviceRouters()).toHaveLength(PUBLIC_PATHS.length + PROTECTED_PATHS.length);
  });

  it("matches an Ingress path as the Gateway API does: Exact as is, Prefix by whole path elements", () => {
    expect(pathRule({ path: "/predict", pathType: "Exact" })).toBe("Path(`/predict`)");
    expect(pathRule({ path: "/admin", pathType: "Prefix" })).toBe(
      "(Path(`/admin`) || PathPrefix(`/admin/`))",
    );
  });

  it("carries the contract's middleware bodies: the rate limit, then sign-in wrapping forward-auth, in that order", () => {
    expect(middlewares[MIDDLEWARES.protect]).toEqual({
      chain: { middlewares: [MIDDLEWARES.rateLimit, MIDDLEWARES.signIn, MIDDLEWARES.forwardAuth] },
    });
    expect(fileChain(["a", "b"]).chain.middlewares).toEqual(
      chainMiddleware(["a", "b"]).chain.middlewares.map(({ name }) => name),
    );
    expect(middlewares[MIDDLEWARES.signIn]).toEqual(signInMiddleware(OAUTH2_PROXY_SERVICE));
    expect(middlewares[MIDDLEWARES.forwardAuth]).toEqual(
      forwardAuthMiddleware("http://127.0.0.1:14180/oauth2/auth", SESSION_COOKIES),
    );
    expect(services[OAUTH2_PROXY_SERVICE]).toEqual({
      loadBalancer: { servers: [{ url: "http://127.0.0.1:14180" }] },
    });
  });

  it("limits each client address as the cluster's Middlewares do: protected routes 50/s (100 at once), /oauth2 10/s (20)", () => {
    // The cluster's bodies (test/support/stack-suite.ts pins their values on every stack).
    expect(middlewares[MIDDLEWARES.rateLimit]).toEqual(rateLimitMiddleware(PROTECTED_ROUTE_RATE_LIMIT));
    expect(middlewares[MIDDLEWARES.signInRateLimit]).toEqual(rateLimitMiddleware(SIGN_IN_RATE_LIMIT));
    expect(middlewares[MIDDLEWARES.rateLimit]).toEqual({
      rateLimit: {
        average: 50,
        period: "1s",
        burst: 100,
        sourceCriterion: { ipStrategy: { ipv6Subnet: 64 } },
      },
    });
    expect(middlewares[MIDDLEWARES.signInRateLimit]).toEqual({
      rateLimit: {
        average: 10,
        period: "1s",
        burst: 20,
        sourceCriterion: { ipStrategy: { ipv6Subnet: 64 } },
      },
    });
    // The client's own address, never its X-Forwarded-For (no depth, no excludedIPs).
    for (const name of [MIDDLEWARES.rateLimit, MIDDLEWARES.signInRateLimit]) {
      const { ipStrategy } = (middlewares[name] as { rateLimit: { sourceCriterion: { ipStrategy: object } } })
        .rateLimit.sourceCriterion;
      expect(Object.keys(ipStrategy), name).toEqual(["ipv6Subnet"]);
    }
    // Only through the protect chains and the /oauth2 routers: no public API router is limited.
    for (const [name, router] of Object.entries(routers)) {
      const limits = router.middlewares.filter(
        (m) => m === MIDDLEWARES.rateLimit || m === MIDDLEWARES.signInRateLimit,
      );
      expect(limits, name).toEqual(name === "api-oauth2" ? [MIDDLEWARES.signInRateLimit] : []);
    }
    expect(() => rateLimitMiddleware({ average: 0, burst: 1 })).toThrow(
      "rate limit average must be a whole number of requests, at least 1; got 0",
    );
  });

  it("has no catch-all router: every router names the host and a path, none to a service process a bare prefix", () => {
    for (const [name, router] of Object.entries(routers)) {
      expect(router.rule, name).toMatch(/^Host\(`[^`]+`\) && /);
      expect(router.rule, name).toMatch(/Path(Prefix)?\(`\/[^`]*`\)/);
      if (router.service.startsWith("plinth-service-")) {
        expect(router.rule, name).not.toContain("PathPrefix(`/`)");
        expect(router.rule, name).not.toMatch(/HostRegexp|PathRegexp/);
      }
      expect(router.entryPoints, name).toEqual(["websecure"]);
      expect(router.tls, name).toEqual({});
    }
    // Nothing but the listed paths and oauth2-proxy's on the API host.
    expect(Object.keys(routers).sort()).toEqual(
      [
        ...edgeRoutes(18080).map(
          (r) =>
            `api-${r.protected ? "protected" : "public"}-${r.path.path.slice(1).replace(/[^A-Za-z0-9]+/g, "-")}`,
        ),
        "api-oauth2",
      ].sort(),
    );
  });

  it("answers with HSTS on every router", () => {
    const { name, value } = hstsHeader(HSTS_MAX_AGE_SECONDS);
    expect(value).toBe("max-age=31536000; includeSubDomains");
    expect(middlewares[MIDDLEWARES.hsts]).toEqual({ headers: { customResponseHeaders: { [name]: value } } });
    for (const [routerName, router] of Object.entries(routers)) {
      expect(router.middlewares[0], routerName).toBe(MIDDLEWARES.hsts);
    }
  });

  it("strips every identity header a client sends: the forward-auth regex covers all oauth2-proxy sets", () => {
    const forwardAuth = (middlewares[MIDDLEWARES.forwardAuth] as { forwardAuth: Record<string, unknown> })
      .forwardAuth;
    expect(forwardAuth.trustForwardHeader).toBe(false);
    expect(forwardAuth.authResponseHeadersRegex).toBe(AUTH_HEADERS_REGEX);
    // Go's `(?i)` prefix is JavaScript's `i` flag.
    const source = String(forwardAuth.authResponseHeadersRegex);
    const caseless = source.startsWith("(?i)");
    const regex = new RegExp(caseless ? source.slice("(?i)".length) : source, caseless ? "i" : "");
    // Traefik matches canonical header names (Go's http.CanonicalHeaderKey), underscores kept.
    for (const header of [
      ...AUTH_RESPONSE_HEADERS,
      "X-Auth-Request-Preferred-Username",
      "X-Auth-Request-Access-Token",
      "X_auth_request_email",
    ]) {
      expect(regex.test(header), header).toBe(true);
    }
    for (const header of ["X-Plinth-Edge-Token", "Authorization", "X-Api-Key", "Cookie"]) {
      expect(regex.test(header), header).toBe(false);
    }
  });

  it("adds the edge token on every route to a service process, and to no other", () => {
    expect(middlewares[MIDDLEWARES.edgeToken]).toEqual({
      headers: { customRequestHeaders: { "X-Plinth-Edge-Token": "edge-Token_0123" } },
    });
    for (const [name, router] of Object.entries(routers)) {
      expect(router.middlewares.includes(MIDDLEWARES.edgeToken), name).toBe(
        router.service.startsWith("plinth-service-"),
      );
    }
  });

  it("limits request bodies to nginx's client_max_body_size (5 MiB)", () => {
    expect(MAX_REQUEST_BODY_BYTES).toBe(5 * 1024 * 1024);
    expect(middlewares[MIDDLEWARES.bodyLimit]).toEqual({ buffering: { maxRequestBodyBytes: 5_242_880 } });
  });

  it("sends oauth2-proxy's /oauth2/ paths to it, with no auth in front, behind the sign-in flow's limit", () => {
    expect(routers["api-oauth2"]).toEqual({
      entryPoints: ["websecure"],
      rule: `${HOST} && (Path(\`/oauth2\`) || PathPrefix(\`/oauth2/\`))`,
      service: OAUTH2_PROXY_SERVICE,
      middlewares: [MIDDLEWARES.hsts, MIDDLEWARES.signInRateLimit],
      tls: {},
    });
  });

  it("serves the run's certificate to every client, SNI or not", () => {
    const certificate = { certFile: "/tmp/x/server.pem", keyFile: "/tmp/x/server.key" };
    expect(conf.tls).toEqual({
      certificates: [certificate],
      stores: { default: { defaultCertificate: certificate } },
      options: { default: { minVersion: "VersionTLS12" } },
    });
  });

  it("routes each model's paths to its process, operator pages by name to each process's first model", () => {
    const models = traefikDynamicConfig({ ...OPTIONS, models: MODELS });
    for (const route of edgeRoutes(18080, MODELS)) {
      const router = routerFor(models, route.path);
      expect(router.service, route.path.path).toBe(serviceOf(route.port));
      expect(router.middlewares.includes(MIDDLEWARES.protect), route.path.path).toBe(route.protected);
    }
    const rules = Object.values(models.http.routers).map((r) => r.rule);
    expect(rules).toContain(
      `${HOST} && (Path(\`/models/churn/admin\`) || PathPrefix(\`/models/churn/admin/\`))`,
    );
    expect(rules.some((rule) => rule.includes("/models/iris/admin"))).toBe(false);
    expect(Object.keys(models.http.services).sort()).toEqual(
      [OAUTH2_PROXY_SERVICE, serviceOf(18080), serviceOf(18081)].sort(),
    );
    expect(() =>
      traefikDynamicConfig({ ...OPTIONS, models: [{ name: "a", port: 18081, isDefault: true }] }),
    ).toThrow("the default model's port 18081 is not servicePort 18080");
  });

  it("puts MLflow's host behind the admin-only gate when it is served through the edge", () => {
    const withMlflow = traefikDynamicConfig({
      ...OPTIONS,
      mlflow: { host: "mlflow.localhost", port: 15000, groups: ["plinth-admins"] },
    });
    const { routers: r, middlewares: m } = withMlflow.http;
    expect(r.mlflow).toMatchObject({
      rule: "Host(`mlflow.localhost`) && PathPrefix(`/`)",
      service: MLFLOW_SERVICE,
      middlewares: [MIDDLEWARES.hsts, MIDDLEWARES.protectAdmins],
    });
    expect(m[MIDDLEWARES.protectAdmins]).toEqual(
      fileChain([MIDDLEWARES.rateLimit, MIDDLEWARES.signIn, MIDDLEWARES.forwardAuthAdmins]),
    );
    expect(m[MIDDLEWARES.forwardAuthAdmins]).toEqual(
      forwardAuthMiddleware(
        "http://127.0.0.1:14180/oauth2/auth?allowed_groups=plinth-admins",
        SESSION_COOKIES,
      ),
    );
    expect(r["mlflow-oauth2"]).toMatchObject({
      service: OAUTH2_PROXY_SERVICE,
      middlewares: [MIDDLEWARES.hsts, MIDDLEWARES.signInRateLimit],
    });
  });
});

describe("traefikStaticConfig", () => {
  const config = traefikStaticConfig({ ...OPTIONS, accessLogFile: "/tmp/x/traefik/access.log" });

  it("binds the contract's entry points to loopback: web redirects everything to websecure", () => {
    expect(Object.keys(config.entryPoints as object).sort()).toEqual(
      Object.keys(TRAEFIK_ENTRY_POINTS).sort(),
    );
    expect(config.entryPoints).toMatchObject({
      web: {
        address: "127.0.0.1:8880",
        http: { redirections: { entryPoint: { to: "websecure", scheme: "https", permanent: true } } },
      },
      websecure: { address: "127.0.0.1:8443" },
    });
  });

  it("reads the dynamic file, has no API, dashboard or ping, and logs access only when asked", () => {
    expect(config.providers).toMatchObject({ file: { filename: OPTIONS.dynamicFile, watch: false } });
    for (const key of ["api", "ping", "metrics", "tracing", "experimental"]) {
      expect(config, key).not.toHaveProperty(key);
    }
    expect(config.accessLog).toEqual({ filePath: "/tmp/x/traefik/access.log" });
    expect(traefikStaticConfig(OPTIONS)).not.toHaveProperty("accessLog");
    expect(config.global).toEqual({ checkNewVersion: false, sendAnonymousUsage: false });
  });

  it("keeps ingress-nginx's upstream timeouts and keepalive pool", () => {
    expect(config.serversTransport).toEqual({
      maxIdleConnsPerHost: 320,
      forwardingTimeouts: { dialTimeout: "5s", responseHeaderTimeout: "60s" },
    });
  });
});
