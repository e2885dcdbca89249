/**
 * The edge: what publishes a component's routes to the internet with TLS, and puts the protected
 * ones behind oauth2-proxy. Components publish through this interface alone, so none knows whether
 * the stack runs the Gateway API (components/gateway, the default) or the retired ingress-nginx
 * (components/ingress-tls, kept for clusters that run it).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { IngressPath } from "./ingress.js";
import { admitsScrapers, type Peer } from "./network-policy.js";

/** A path a route publishes: a prefix or one exact path, as an Ingress lists it. */
export type RoutePath = IngressPath;

/**
 * A Service port as a route names it. The Gateway API names a backend port by number only; the
 * Ingress path keeps naming it by `name` where it always has (so its objects render as before).
 */
export interface ServicePortRef {
  readonly number: number;
  /** The port's name on the Service; Ingresses name the port so when set. */
  readonly name?: string;
}

/** Where oauth2-proxy answers: its auth endpoint, its sign-in URL and its Service. */
export interface AuthEndpoint {
  /** In-cluster URL of the session check (`/oauth2/auth`). */
  readonly authUrl: string;
  /** Where ingress-nginx sends a browser without a session (nginx variables in it). */
  readonly signinUrl: string;
  /** The session cookie's names (split ones too), which the edge passes back when the auth call renews them. */
  readonly sessionCookies: readonly string[];
  /** The proxy's Service, which Traefik's sign-in redirect calls. */
  readonly service: { readonly name: string; readonly namespace: string; readonly port: number };
}

/** The auth URL narrowed to some groups (oauth2-proxy's `allowed_groups`), or as it is. */
export function authUrlFor(authUrl: string, groups?: readonly string[]): string {
  return groups === undefined
    ? authUrl
    : `${authUrl}?allowed_groups=${groups.map(encodeURIComponent).join(",")}`;
}

/**
 * A limit per client address: a bucket of `burst` requests, refilled at `average` a second. Over
 * it the edge answers 429 before anything behind it (oauth2-proxy, the Service) sees the request.
 */
export interface PerClientRateLimit {
  /** Requests a second one client may keep up. */
  readonly average: number;
  /** Requests one client may send at once (the bucket's size). */
  readonly burst: number;
}

/**
 * The limit a protected route gets unless it names its own. Every request to one makes the edge ask
 * oauth2-proxy first (a ForwardAuth sub-request), so an unlimited client makes oauth2-proxy (and
 * through it the session store) work for every request it sends, signed in or not. The admin
 * surfaces are pages that fire many requests at once: a Grafana dashboard loads its assets and
 * then runs dozens of panel queries together, MLflow's UI a few dozen assets and API calls. 100 at
 * once and 50 a second keep the busiest dashboard of one person (or a few behind one address)
 * well clear of it, and a script hammering an admin route to 50 a second.
 */
export const PROTECTED_ROUTE_RATE_LIMIT: PerClientRateLimit = { average: 50, burst: 100 };

export interface PublishArgs {
  readonly namespace: string;
  /** The one host the route answers on (api.<domain>, mlflow.<domain>, grafana.<domain>). */
  readonly host: string;
  /** Every path published, explicitly: never a catch-all unless the whole host is the Service. */
  readonly paths: readonly RoutePath[];
  readonly serviceName: pulumi.Input<string>;
  readonly servicePort: ServicePortRef;
  readonly labels: Record<string, string>;
  /**
   * The Secret holding the host's certificate on the Ingress path (shared by a host's Ingresses).
   * On the Gateway path the certificate is the Gateway listener's, one per host.
   */
  readonly tlsSecretName: string;
  /**
   * Behind oauth2-proxy: no session of an allowed domain and group, no entry. `groups` narrows the
   * route to some of the allowed groups (a surface with no roles of its own, such as MLflow's
   * registry, is for the admin groups alone). @default undefined (public)
   */
  readonly protect?: { readonly groups?: readonly string[] };
  /**
   * Requests per client address the edge lets through to this route, where the edge has such a
   * limit (the Gateway path's Traefik; the Ingress path has none and ignores this). Set on a route
   * that makes the edge call oauth2-proxy: a protected route (every request is an auth
   * sub-request) and oauth2-proxy's own /oauth2 sign-in routes. Not for the public inference API:
   * the service limits each API key across all its replicas (its Redis store), and a per-address
   * limit at the edge would cut off every client behind one NAT or proxy together.
   * @default PROTECTED_ROUTE_RATE_LIMIT on a protected route on the Gateway path; none on a public one
   */
  readonly perClientRateLimit?: PerClientRateLimit;
}

/**
 * Where pods the edge installs (the edge proxy, cert-manager's controller) serve their Prometheus
 * metrics: what a PodMonitor selects (the pods' namespace and labels, the container port's name and
 * the path).
 */
export interface PodMetricsTarget extends Peer {
  /** The name of the pods' container port that serves the metrics. */
  readonly port: string;
  readonly path: string;
}

/**
 * `target` when someone was admitted to its port, else undefined: a PodMonitor of a port that
 * admits no one would only report it down.
 */
export function scrapedBy(
  scrapers: readonly Peer[] | undefined,
  target: PodMetricsTarget,
): PodMetricsTarget | undefined {
  return admitsScrapers(scrapers) ? target : undefined;
}

export interface Edge {
  /** The edge proxy's pods: the only peer a published Service admits from outside its namespace. */
  readonly controllerPeer: Peer;
  /**
   * The edge proxy's metrics, where plinth installs the proxy and its NetworkPolicies admit the
   * scrapers it was given (the Gateway path's Traefik); undefined where the proxy's metrics are not
   * plinth's to scrape (a reused proxy, ingress-nginx).
   */
  readonly metricsTarget?: PodMetricsTarget;
  /**
   * cert-manager's controller metrics (the Certificates' readiness and expiry), where the edge
   * installs cert-manager and its NetworkPolicies admit the scrapers it was given; undefined where
   * the cluster's own cert-manager is reused (its metrics are its owners').
   */
  readonly certManagerMetricsTarget?: PodMetricsTarget;
  /**
   * Publishes `args.paths` of a Service on `args.host`: an Ingress on ingress-nginx, an HTTPRoute
   * (and its Middlewares when protected) on the Gateway. `name` names the objects; `opts` carry the
   * caller's parent and provider.
   */
  publish(name: string, args: PublishArgs, opts: pulumi.CustomResourceOptions): pulumi.Resource[];
}

/** `opts` with `extra` added to its dependsOn (arrays and single resources alike). */
export function dependingOn(
  opts: pulumi.CustomResourceOptions,
  extra: readonly pulumi.Resource[],
): pulumi.CustomResourceOptions {
  if (extra.length === 0) return opts;
  const existing = opts.dependsOn;
  const before: pulumi.Input<pulumi.Resource>[] =
    existing === undefined
      ? []
      : Array.isArray(existing)
        ? existing
        : [existing as pulumi.Input<pulumi.Resource>];
  return { ...opts, dependsOn: [...before, ...extra] };
}
