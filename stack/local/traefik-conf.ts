/**
 * Traefik's configuration for the local stack's edge: the controller the cluster's Gateway path runs
 * (components/gateway/traefik.ts), with the file provider standing in for the Gateway API provider.
 *
 * The static configuration: the contract's two entry points (`web` on the local HTTP port, which
 * redirects every request to `websecure`; `websecure` on the HTTPS port), the file provider, no API
 * or dashboard, no ping entry point (readiness is a request through the edge), and an access log
 * file when asked for.
 *
 * The dynamic configuration (one file): the run's certificate as the default of the TLS store (a
 * client asking for 127.0.0.1 sends no SNI), and one router per published path on the API host,
 * from edge-routes.ts (the list nginx-conf.ts renders too): the public paths straight to their
 * service process, the protected ones through the contract's middlewares (the per-client rate
 * limit, then the sign-in Errors middleware wrapping the ForwardAuth one, in a Chain), as the
 * cluster's HTTPRoutes reference them by ExtensionRef. Every router answers with the contract's HSTS
 * header; oauth2-proxy's /oauth2/ paths go to it on every host behind the sign-in flow's own
 * per-client limit, as the cluster's /oauth2 routes are; with MLflow behind the edge, its host goes
 * to it behind the admin-only gate (`allowed_groups`), as the cluster's MLflow route is. The public
 * API has no edge limit, as in the cluster (the service limits each API key). Anything else matches no
 * router and Traefik answers its own 404.
 *
 * What nginx adds that Traefik does too, so the service sees the same: X-Forwarded-For set to the
 * client's address (Traefik drops the client's X-Forwarded-* unless the entry point trusts it, and
 * no entry point here does), X-Forwarded-Proto/-Host, X-Real-Ip, the Host header passed on; the
 * edge token on every request to a service process (overwriting a client's); a 5 MiB request body
 * limit (nginx's client_max_body_size; Traefik's Buffering middleware, which also buffers as nginx's
 * proxy buffering does); the upstream connect and response-header timeouts of ingress-nginx's
 * defaults (5 s, 60 s); a pool of 320 idle connections per service process (nginx's keepalive).
 */
import {
  chainMiddleware,
  forwardAuthMiddleware,
  hstsHeader,
  rateLimitMiddleware,
  signInMiddleware,
  type TRAEFIK_ENTRY_POINTS,
} from "../../components/gateway/traefik.js";
import { SESSION_COOKIES, SIGN_IN_RATE_LIMIT } from "../../components/oauth2-proxy/contract.js";
import { PROTECTED_ROUTE_RATE_LIMIT } from "../../components/shared/edge.js";
import type { IngressPath } from "../../components/shared/ingress.js";
import { edgeRoutes, processPorts, type EdgeModelRoute } from "./edge-routes.js";

type EntryPoint = keyof typeof TRAEFIK_ENTRY_POINTS;
/** The entry points' names: the contract's, on the local ports. */
export const WEB: EntryPoint = "web";
export const WEBSECURE: EntryPoint = "websecure";

/** ingress-nginx's `hsts-max-age` default, as nginx-conf.ts sends it. */
export const HSTS_MAX_AGE_SECONDS = 31_536_000;
/** nginx's client_max_body_size 5m. */
export const MAX_REQUEST_BODY_BYTES = 5 * 1024 * 1024;
/** nginx's upstream keepalive (see nginx-conf.ts). */
const MAX_IDLE_CONNS_PER_HOST = 320;

/** The middlewares' names in the dynamic configuration. */
export const MIDDLEWARES = {
  hsts: "hsts",
  edgeToken: "edge-token",
  bodyLimit: "body-limit",
  /** A protected route's limit per client (PROTECTED_ROUTE_RATE_LIMIT). */
  rateLimit: "rate-limit",
  /** oauth2-proxy's /oauth2 routes' limit per client (SIGN_IN_RATE_LIMIT). */
  signInRateLimit: "sign-in-rate-limit",
  signIn: "sign-in",
  forwardAuth: "forward-auth",
  /** [rate-limit, sign-in, forward-auth]: what a protected route carries. */
  protect: "protect",
  forwardAuthAdmins: "forward-auth-admins",
  /** [rate-limit, sign-in, forward-auth-admins]: the admin-only surfaces (MLflow). */
  protectAdmins: "protect-admins",
} as const;

/** The service names: one per service process, and oauth2-proxy's, MLflow's. */
export const OAUTH2_PROXY_SERVICE = "oauth2-proxy";
export const MLFLOW_SERVICE = "mlflow";
export const serviceOf = (port: number): string => `plinth-service-${port}`;

export interface TraefikConfOptions {
  /** The API host (the routers of the public API and the operator pages match it). */
  readonly host: string;
  readonly httpsPort: number;
  readonly httpPort: number;
  /** The service's API port: the default model's when `models` is given. */
  readonly servicePort: number;
  /** A stack file's models and their processes' ports (see edge-routes.ts). */
  readonly models?: readonly EdgeModelRoute[];
  readonly oauth2ProxyPort: number;
  readonly certFile: string;
  readonly keyFile: string;
  /** Added to every request forwarded to a service process (OPS_OIDC_EDGE_TOKEN_SHA256 holds its hash). */
  readonly edgeToken: string;
  /** Where the dynamic configuration file is (the file provider reads it). */
  readonly dynamicFile: string;
  /** The access log file; unset: no access log. */
  readonly accessLogFile?: string;
  /** MLflow behind the edge on its own host, for the groups that may open it. */
  readonly mlflow?: { readonly host: string; readonly port: number; readonly groups: readonly string[] };
}

/** A Traefik rule matching an Ingress path with its semantics (Prefix matches whole path elements). */
export function pathRule(ingressPath: IngressPath): string {
  const { path, pathType } = ingressPath;
  if (pathType === "Exact") return `Path(\`${path}\`)`;
  return `(Path(\`${path}\`) || PathPrefix(\`${path}/\`))`;
}

/** A router's name for a path: `/models/churn/predict` -> `models-churn-predict`. */
function slug(path: string): string {
  return path.replace(/^\/+/, "").replace(/[^A-Za-z0-9]+/g, "-") || "root";
}

/**
 * The contract's Chain body as the file provider takes it: the Middleware CRD names each link as an
 * object (`{ name, namespace? }`), the file provider's Chain as a plain string, in the same order.
 */
export function fileChain(names: readonly string[]): { chain: { middlewares: string[] } } {
  return { chain: { middlewares: chainMiddleware(names).chain.middlewares.map(({ name }) => name) } };
}

interface Router {
  entryPoints: string[];
  rule: string;
  service: string;
  middlewares: string[];
  tls: Record<string, never>;
}

/** Traefik's static configuration (traefik.yaml), as an object. */
export function traefikStaticConfig(options: TraefikConfOptions): Record<string, unknown> {
  return {
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    entryPoints: {
      [WEB]: {
        address: `127.0.0.1:${options.httpPort}`,
        // Every request, whatever its host or path, to the same URL on https (GET 301, others 308).
        http: { redirections: { entryPoint: { to: WEBSECURE, scheme: "https", permanent: true } } },
      },
      [WEBSECURE]: {
        address: `127.0.0.1:${options.httpsPort}`,
        // Stop promptly on SIGTERM: no one is connected who needs the grace.
        transport: { lifeCycle: { requestAcceptGraceTimeout: "0s", graceTimeOut: "1s" } },
      },
    },
    serversTransport: {
      maxIdleConnsPerHost: MAX_IDLE_CONNS_PER_HOST,
      forwardingTimeouts: { dialTimeout: "5s", responseHeaderTimeout: "60s" },
    },
    providers: {
      // Routers are live as soon as the file is read, not after the default 2 s throttle.
      providersThrottleDuration: "0s",
      file: { filename: options.dynamicFile, watch: false },
    },
    log: { level: "INFO", noColor: true },
    ...(options.accessLogFile === undefined ? {} : { accessLog: { filePath: options.accessLogFile } }),
  };
}

/** Traefik's dynamic configuration (the file provider's file), as an object. */
export function traefikDynamicConfig(options: TraefikConfOptions): {
  http: {
    routers: Record<string, Router>;
    middlewares: Record<string, unknown>;
    services: Record<string, unknown>;
  };
  tls: Record<string, unknown>;
} {
  const oauth2Proxy = `http://127.0.0.1:${options.oauth2ProxyPort}`;
  const hsts = hstsHeader(HSTS_MAX_AGE_SECONDS);
  const middlewares: Record<string, unknown> = {
    [MIDDLEWARES.hsts]: { headers: { customResponseHeaders: { [hsts.name]: hsts.value } } },
    [MIDDLEWARES.edgeToken]: {
      headers: { customRequestHeaders: { "X-Plinth-Edge-Token": options.edgeToken } },
    },
    [MIDDLEWARES.bodyLimit]: { buffering: { maxRequestBodyBytes: MAX_REQUEST_BODY_BYTES } },
    [MIDDLEWARES.rateLimit]: rateLimitMiddleware(PROTECTED_ROUTE_RATE_LIMIT),
    [MIDDLEWARES.signInRateLimit]: rateLimitMiddleware(SIGN_IN_RATE_LIMIT),
    [MIDDLEWARES.signIn]: signInMiddleware(OAUTH2_PROXY_SERVICE),
    [MIDDLEWARES.forwardAuth]: forwardAuthMiddleware(`${oauth2Proxy}/oauth2/auth`, SESSION_COOKIES),
    [MIDDLEWARES.protect]: fileChain([MIDDLEWARES.rateLimit, MIDDLEWARES.signIn, MIDDLEWARES.forwardAuth]),
  };
  const services: Record<string, unknown> = {
    [OAUTH2_PROXY_SERVICE]: { loadBalancer: { servers: [{ url: oauth2Proxy }] } },
  };
  for (const port of processPorts(options.servicePort, options.models)) {
    services[serviceOf(port)] = { loadBalancer: { servers: [{ url: `http://127.0.0.1:${port}` }] } };
  }

  const routers: Record<string, Router> = {};
  const add = (name: string, router: Omit<Router, "entryPoints" | "tls">) => {
    if (name in routers) throw new Error(`two routers named ${name}`);
    routers[name] = { entryPoints: [WEBSECURE], ...router, tls: {} };
  };
  const onHost = (host: string, rule: string) => `Host(\`${host}\`) && ${rule}`;

  for (const route of edgeRoutes(options.servicePort, options.models)) {
    const surface = route.protected ? "protected" : "public";
    add(`api-${surface}-${slug(route.path.path)}`, {
      rule: onHost(options.host, pathRule(route.path)),
      service: serviceOf(route.port),
      middlewares: [
        MIDDLEWARES.hsts,
        ...(route.protected ? [MIDDLEWARES.protect] : []),
        MIDDLEWARES.bodyLimit,
        MIDDLEWARES.edgeToken,
      ],
    });
  }
  const oauth2Route = { path: "/oauth2", pathType: "Prefix" } as const;
  add("api-oauth2", {
    rule: onHost(options.host, pathRule(oauth2Route)),
    service: OAUTH2_PROXY_SERVICE,
    middlewares: [MIDDLEWARES.hsts, MIDDLEWARES.signInRateLimit],
  });

  if (options.mlflow !== undefined) {
    const { host, port, groups } = options.mlflow;
    const query = `allowed_groups=${groups.map(encodeURIComponent).join(",")}`;
    middlewares[MIDDLEWARES.forwardAuthAdmins] = forwardAuthMiddleware(
      `${oauth2Proxy}/oauth2/auth?${query}`,
      SESSION_COOKIES,
    );
    middlewares[MIDDLEWARES.protectAdmins] = fileChain([
      MIDDLEWARES.rateLimit,
      MIDDLEWARES.signIn,
      MIDDLEWARES.forwardAuthAdmins,
    ]);
    services[MLFLOW_SERVICE] = { loadBalancer: { servers: [{ url: `http://127.0.0.1:${port}` }] } };
    add("mlflow", {
      rule: onHost(host, "PathPrefix(`/`)"),
      service: MLFLOW_SERVICE,
      middlewares: [MIDDLEWARES.hsts, MIDDLEWARES.protectAdmins],
    });
    add("mlflow-oauth2", {
      rule: onHost(host, pathRule(oauth2Route)),
      service: OAUTH2_PROXY_SERVICE,
      middlewares: [MIDDLEWARES.hsts, MIDDLEWARES.signInRateLimit],
    });
  }

  const certificate = { certFile: options.certFile, keyFile: options.keyFile };
  return {
    http: { routers, middlewares, services },
    tls: {
      certificates: [certificate],
      // Served to clients that send no SNI (an IP address) or a name no certificate lists.
      stores: { default: { defaultCertificate: certificate } },
      options: { default: { minVersion: "VersionTLS12" } },
    },
  };
}
