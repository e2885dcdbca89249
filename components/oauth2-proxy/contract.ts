/**
 * How oauth2-proxy answers, whatever runs it (the cluster's Deployment, the local stack's process)
 * and whoever puts a route behind it (either edge, the policy pack that judges them): its flags,
 * its auth endpoint and the identity headers it sets. Loads nothing, so the policy pack and the
 * local stack import it without the component's providers.
 */
import type { AuthEndpoint, PerClientRateLimit } from "../shared/edge.js";

/** Where the proxy listens (its Service port too). */
export const HTTP_PORT = 4180;
/**
 * How the proxy keeps sessions and answers nginx, whatever the addresses: secure cookies, PKCE,
 * an auth-only upstream (202) that returns the X-Auth-Request-* headers. The local stack
 * (stack/local) runs the binary with the same flags.
 */
export const SESSION_COOKIE = "__Host-oauth2_proxy";
/**
 * The names the session may be set under: oauth2-proxy splits a cookie over 4 KB into
 * `<name>_0`, `<name>_1`, ... (an OIDC session with its tokens can pass that).
 */
export const SESSION_COOKIES: readonly string[] = [
  SESSION_COOKIE,
  ...[0, 1, 2, 3].map((i) => `${SESSION_COOKIE}_${i}`),
];
export const SESSION_FLAGS: readonly string[] = [
  "--cookie-secure=true",
  "--cookie-httponly=true",
  "--cookie-samesite=lax",
  // The prefix makes browsers refuse the cookie unless it is Secure, on path / and host-only.
  `--cookie-name=${SESSION_COOKIE}`,
  "--cookie-expire=8h",
  "--cookie-refresh=1h",
  "--code-challenge-method=S256",
  "--reverse-proxy=true",
  "--set-xauthrequest=true",
  "--upstream=static://202",
  "--skip-provider-button=true",
  "--silence-ping-logging=true",
];
/** Headers oauth2-proxy returns on /oauth2/auth and nginx forwards upstream (overwriting any the client sent). */
export const AUTH_RESPONSE_HEADERS = ["X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups"];

/**
 * The edge's limit per client address on the proxy's own /oauth2 routes (the sign-in flow), tighter
 * than a protected route's: a person signs in with a handful of requests (/oauth2/start, the
 * identity provider, /oauth2/callback; a few more with several tabs open when the session ends),
 * while each /oauth2/start mints a CSRF cookie and each /oauth2/callback makes the proxy redeem a
 * code at the identity provider, so a client looping on them makes both work for nothing. 20 at
 * once and 10 a second (some three sign-ins a second, sustained) still let an office behind one
 * address sign in at nine.
 */
export const SIGN_IN_RATE_LIMIT: PerClientRateLimit = { average: 10, burst: 20 };

/**
 * Where the proxy named `name` in `namespace` answers: known before it is created, so the edge that
 * publishes its routes can put other routes behind it.
 */
export function oauth2ProxyEndpoint(name: string, namespace = "auth"): AuthEndpoint {
  return {
    authUrl: `http://${name}.${namespace}.svc.cluster.local:${HTTP_PORT}/oauth2/auth`,
    // Sign-in on the host asked for: its callback sets that host's cookie.
    signinUrl: "https://$host/oauth2/start?rd=$escaped_request_uri",
    sessionCookies: SESSION_COOKIES,
    service: { name, namespace, port: HTTP_PORT },
  };
}

/** Who gets through by group, and where the groups come from (the platform's and the local stack's). */
export function groupFlags(args: {
  readonly allowedGroups: readonly string[];
  readonly groupsClaim?: string;
  readonly scope?: string;
}): string[] {
  return [
    `--scope=${args.scope ?? "openid email profile groups"}`,
    `--oidc-groups-claim=${args.groupsClaim ?? "groups"}`,
    ...args.allowedGroups.map((group) => `--allowed-group=${group}`),
  ];
}

/** The nginx external-auth annotations for a protected Ingress. */
export function protectedIngressAnnotations(authUrl: string, signinUrl: string): Record<string, string> {
  return {
    "nginx.ingress.kubernetes.io/auth-url": authUrl,
    "nginx.ingress.kubernetes.io/auth-signin": signinUrl,
    "nginx.ingress.kubernetes.io/auth-response-headers": AUTH_RESPONSE_HEADERS.join(","),
  };
}
