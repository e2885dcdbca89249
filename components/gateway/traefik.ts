/**
 * What the Gateway path asks of Traefik, its implementation: the entry points its Gateway
 * listeners bind to, the middlewares that put a route behind oauth2-proxy, and the per-client rate
 * limit in front of every route that makes the edge call oauth2-proxy. One source for the
 * cluster (Middleware objects the program writes, the chart's values), the local stack (Traefik's
 * file provider, same middleware bodies) and the policy pack (what a protected route must carry).
 *
 * Why Traefik (issue #23): it passes the Gateway API conformance suite for HTTPRoute, it is
 * maintained, it is one Go binary that builds here (so the tests run the real proxy, not a
 * stand-in), and its ForwardAuth removes every client header the auth response may set
 * (`authResponseHeadersRegex`) before it copies oauth2-proxy's, which is what keeps a forged
 * `X-Auth-Request-Email` off an admin route.
 */

/**
 * The Traefik plinth runs: the image the pinned chart (components/shared/helm.ts) is told to run,
 * and the binary the test-tools script builds (scripts/tools/pins.sh; a test keeps them equal).
 */
export const TRAEFIK_VERSION = "v3.6.12";
export const TRAEFIK_NAMESPACE = "traefik";
/** The Traefik pods of the chart (its `app.kubernetes.io/name` label). */
export const TRAEFIK_POD_LABELS = { "app.kubernetes.io/name": "traefik" } as const;
/** The GatewayClass plinth writes for the Traefik it installs. */
export const GATEWAY_CLASS = "traefik";
/** Traefik's Gateway API controller name (what a GatewayClass names it by). */
export const TRAEFIK_CONTROLLER_NAME = "traefik.io/gateway-controller";

/**
 * Traefik's entry points. A Gateway listener names one by its port (Traefik matches listener ports
 * to entry-point ports), so the Gateway's listeners say 8000 and 8443; the chart's LoadBalancer
 * Service publishes them as 80 and 443.
 */
export const TRAEFIK_ENTRY_POINTS = {
  web: { port: 8000, exposedPort: 80 },
  websecure: { port: 8443, exposedPort: 443 },
} as const;

/**
 * Traefik's Prometheus metrics entry point, as the pinned chart (39.0.7) names it: the pod's
 * container port `metrics` (the chart names each container port after its `ports` key), on 9100,
 * serving `/metrics`. Not on the LoadBalancer Service (`expose.default: false`): Prometheus scrapes
 * the pods (a PodMonitor), and only Prometheus is admitted to the port.
 */
export const TRAEFIK_METRICS = { entryPoint: "metrics", port: 9100, path: "/metrics" } as const;

/** The Middleware API group and kind an HTTPRoute's ExtensionRef filter names. */
export const TRAEFIK_MIDDLEWARE = {
  group: "traefik.io",
  kind: "Middleware",
  apiVersion: "traefik.io/v1alpha1",
} as const;

/**
 * Every header oauth2-proxy may return on its auth endpoint starts so. ForwardAuth deletes each
 * request header matching this before it copies the auth response's: a client cannot bring one.
 * Case-insensitive and with `_` for `-`, so `X_Auth_Request_Email` goes too (ingress-nginx drops
 * underscored headers; a backend that folds `_` into `-` would otherwise believe it).
 */
export const AUTH_HEADERS_REGEX = "(?i)^x[-_]auth[-_]request[-_]";

/** The most of an auth response Traefik reads (its default is no limit, which it warns about). */
export const AUTH_RESPONSE_MAX_BYTES = 64 * 1024;

/**
 * A ForwardAuth middleware body: every request asks oauth2-proxy's auth endpoint first (with
 * `allowed_groups` where a surface narrows the groups), and only its 2xx lets the request on.
 * `sessionCookies`: the session cookie's names, as oauth2-proxy may split it (SESSION_COOKIES).
 */
export function forwardAuthMiddleware(
  authUrl: string,
  sessionCookies: readonly string[],
): { forwardAuth: Record<string, unknown> } {
  return {
    forwardAuth: {
      address: authUrl,
      // The client's X-Forwarded-* are not believed; Traefik sends its own.
      trustForwardHeader: false,
      authResponseHeadersRegex: AUTH_HEADERS_REGEX,
      // oauth2-proxy's answers are a few hundred bytes; without a bound Traefik reads any size.
      maxResponseBodySize: AUTH_RESPONSE_MAX_BYTES,
      // oauth2-proxy refreshes a session on the auth call (--cookie-refresh) and answers 202 with
      // the new cookie; Traefik drops an allowed answer's cookies unless named here, and the
      // browser would keep presenting the old session until it expires.
      addAuthCookiesToResponse: [...sessionCookies],
    },
  };
}

/** Where oauth2-proxy starts a sign-in; `{url}` is the request's own URL (a whitelisted host). */
export const SIGN_IN_QUERY = "/oauth2/start?rd={url}";

/**
 * An Errors middleware body that turns the auth endpoint's 401 into oauth2-proxy's sign-in
 * redirect (nginx's `auth-signin`): the browser is sent to the identity provider, then back.
 * `service` is the file provider's service name locally, a Service reference in the cluster.
 */
export function signInMiddleware<Service>(service: Service): { errors: Record<string, unknown> } {
  return {
    errors: {
      status: ["401"],
      // oauth2-proxy answers /oauth2/start with a 302 to the identity provider; keep it a redirect.
      statusRewrites: { "401": 302 },
      service,
      query: SIGN_IN_QUERY,
    },
  };
}

/**
 * How many of an IPv6 client's addresses count as one client: its /64, the block a single host or
 * site is normally given (RFC 6177), so rotating addresses inside it does not buy a fresh bucket.
 * IPv4 addresses are taken whole.
 */
export const RATE_LIMIT_IPV6_SUBNET = 64;

/**
 * A RateLimit middleware body: a token bucket per client address of `burst` requests, refilled at
 * `average` per `period` (Traefik's default, one second). Over it Traefik answers 429 with
 * Retry-After itself, before any later middleware (oauth2-proxy's check) or the backend runs.
 *
 * The client is the connection's remote address as Traefik sees it (`ipStrategy` with neither
 * `depth` nor `excludedIPs`), never X-Forwarded-For, which the client writes: in the cluster
 * Traefik's LoadBalancer Service keeps the client's address (`externalTrafficPolicy: Local`).
 * Traefik keeps the buckets in memory, per router (one per path of an HTTPRoute rule) and per
 * replica: a client spread over two replicas may get up to twice the rate.
 */
export function rateLimitMiddleware(limit: {
  readonly average: number;
  readonly burst: number;
  /** A Go duration (`1s`, `1m`). @default "1s" */
  readonly period?: string;
}): { rateLimit: Record<string, unknown> } {
  // Traefik reads an average of 0 as no limit at all, and a burst below 1 as 1.
  for (const key of ["average", "burst"] as const) {
    if (!Number.isInteger(limit[key]) || limit[key] < 1)
      throw new Error(`rate limit ${key} must be a whole number of requests, at least 1; got ${limit[key]}`);
  }
  return {
    rateLimit: {
      average: limit.average,
      period: limit.period ?? "1s",
      burst: limit.burst,
      sourceCriterion: { ipStrategy: { ipv6Subnet: RATE_LIMIT_IPV6_SUBNET } },
    },
  };
}

/** A Chain middleware body: the named middlewares, in order (the sign-in redirect wraps the check). */
export function chainMiddleware(names: readonly string[]): { chain: { middlewares: { name: string }[] } } {
  return { chain: { middlewares: names.map((name) => ({ name })) } };
}

/** The HSTS header every HTTPS route answers with (ingress-nginx's `hsts` settings). */
export function hstsHeader(maxAgeSeconds: number): { name: string; value: string } {
  return { name: "Strict-Transport-Security", value: `max-age=${maxAgeSeconds}; includeSubDomains` };
}
