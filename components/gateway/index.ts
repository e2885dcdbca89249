/**
 * GatewayEdge: the internet edge on the Gateway API (the default edge, issue #23). Traefik from a
 * pinned chart (its Gateway API and Kubernetes CRD providers, the cluster's only LoadBalancer
 * Service), cert-manager with its Gateway API support, an ACME ClusterIssuer whose HTTP-01 solver
 * routes through plinth's Gateway, and the Gateway itself: one HTTP listener that only redirects
 * to HTTPS, one HTTPS listener per host with a cert-manager certificate.
 *
 * A component publishes a route through {@link GatewayEdge.publish}: an HTTPRoute on its host's
 * listener, HSTS on every response, and, when protected, Traefik Middlewares that limit each
 * client's rate and ask oauth2-proxy first (components/gateway/traefik.ts). An existing cluster's Traefik can be reused
 * (`reuse.controller`): plinth then installs no Traefik and writes its Gateway on that class.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { certManagerValues, installCertManager } from "../ingress-tls/index.js";
import {
  authUrlFor,
  dependingOn,
  PROTECTED_ROUTE_RATE_LIMIT,
  scrapedBy,
  type AuthEndpoint,
  type Edge,
  type PerClientRateLimit,
  type PodMetricsTarget,
  type PublishArgs,
} from "../shared/edge.js";
import { acmeClusterIssuer, chartInOwnNamespace, type CertManagerReuse } from "../shared/edge-charts.js";
import { CHARTS } from "../shared/helm.js";
import { acmeSolverPods } from "../shared/ingress.js";
import { CRDS_FROM_CLUSTER_ANNOTATION } from "../shared/labels.js";
import { podSecurityNamespace } from "../shared/namespace.js";
import {
  ANYONE,
  chartNamespacePolicies,
  scrapeRule,
  type ChartPods,
  type Peer,
  type Source,
} from "../shared/network-policy.js";
import {
  chainMiddleware,
  forwardAuthMiddleware,
  GATEWAY_CLASS,
  hstsHeader,
  rateLimitMiddleware,
  signInMiddleware,
  TRAEFIK_CONTROLLER_NAME,
  TRAEFIK_ENTRY_POINTS,
  TRAEFIK_METRICS,
  TRAEFIK_MIDDLEWARE,
  TRAEFIK_NAMESPACE,
  TRAEFIK_POD_LABELS,
  TRAEFIK_VERSION,
} from "./traefik.js";

/** A host on the Gateway and the namespaces whose routes it admits. */
export interface GatewayHost {
  readonly host: string;
  readonly routeNamespaces: readonly string[];
}

export interface GatewayEdgeArgs {
  /** Provider of the target cluster. */
  readonly provider: k8s.Provider;
  /** Cloud of the cluster: picks the load balancer flavour (NLB on aws). */
  readonly cloud: "aws" | "gcp" | "existing";
  readonly acme: {
    /** Contact for Let's Encrypt. */
    readonly email: string;
    /** ACME directory URL (Let's Encrypt staging for staging stacks). */
    readonly server: string;
  };
  /**
   * Where the API server calls admission webhooks from (Cluster.apiServerSources): cert-manager's
   * webhook admits only these. Required (non-empty) unless cert-manager is reused.
   */
  readonly apiServerSources: readonly Source[];
  /**
   * Every host plinth publishes (api.<domain>, mlflow.<domain>, grafana.<domain>): each gets its own
   * HTTPS listener `https-<first label>` and certificate Secret `<first label>-tls`, which admits
   * HTTPRoutes from `routeNamespaces` only (the host's service and oauth2-proxy's): a namespace
   * cannot put a route on another host, where it would see that host's session cookie.
   */
  readonly hosts: readonly GatewayHost[];
  /** oauth2-proxy, which a protected route's Middlewares call. */
  readonly auth: AuthEndpoint;
  /**
   * Who scrapes Traefik's Prometheus metrics (its `metrics` entry point, TRAEFIK_METRICS) and
   * cert-manager's controller (CERT_MANAGER_METRICS): the charts' NetworkPolicies admit these pods,
   * and no one else, to the metrics ports, and the edge then names them as its `metricsTarget` and
   * `certManagerMetricsTarget`. The program passes the Prometheus pods (`prometheusPeerOf`). Each is
   * used only where plinth installs that chart: a reused Traefik's or cert-manager's
   * NetworkPolicies and scraping are its owners'.
   * @default [] (no one: the metrics ports admit nothing and the edge has no metrics targets)
   */
  readonly metricsScrapers?: readonly Peer[];
  /** Traefik replicas. @default 2 */
  readonly replicas?: number;
  /** Strict-Transport-Security max-age in seconds, sent by every HTTPS route. @default 31536000 (one year) */
  readonly hstsMaxAgeSeconds?: number;
  /** Namespace of plinth's Gateway (and of its certificates and the ACME solvers). @default "plinth-edge" */
  readonly namespace?: string;
  /**
   * What an existing cluster already runs, reused instead of installed. @default {} (install Traefik
   * and cert-manager)
   */
  readonly reuse?: {
    /**
     * The cluster's Traefik (Gateway API and Kubernetes CRD providers on, cross-namespace references
     * allowed): plinth's Gateway names its GatewayClass, plinth's NetworkPolicies admit its pods.
     */
    readonly controller?: { readonly implementation: "traefik"; readonly gatewayClassName: string } & Peer;
    /**
     * The cluster's cert-manager, with its Gateway API support on (`config.enableGatewayAPI`); its
     * `clusterIssuer` is used as it is (it must solve HTTP-01 through a Gateway, or DNS-01).
     */
    readonly certManager?: CertManagerReuse;
  };
}

export const GATEWAY_NAME = "plinth";
export const EDGE_NAMESPACE = "plinth-edge";
/** The Gateway listener cert-manager's HTTP-01 solver routes attach to, and the HTTPS redirect. */
export const HTTP_LISTENER = "http";
const GATEWAY_GROUP = "gateway.networking.k8s.io";
const GATEWAY_API_VERSION = `${GATEWAY_GROUP}/v1`;
/**
 * The component this one takes over from on a stack moving from the Ingress path. Named as that
 * one was ("ingress" in infra/program.ts) and aliased to its type, its cert-manager release,
 * namespace, NetworkPolicies and ClusterIssuer keep their URNs and names: they are updated in
 * place, and only the edge itself (ingress-nginx and the Ingresses) is replaced.
 */
const INGRESS_TLS_TYPE = "plinth:ingress-tls:IngressTls";

/** The HTTPS listener of a host: `https-<first label>`. */
export function httpsListenerName(host: string): string {
  return `https-${firstLabel(host)}`;
}

/** The Secret of a host's certificate (in the Gateway's namespace): `<first label>-tls`. */
export function certificateSecretName(host: string): string {
  return `${firstLabel(host)}-tls`;
}

function firstLabel(host: string): string {
  return host.split(".")[0]!;
}

/**
 * Who reaches the Traefik pods: anyone on the two entry points, `metricsScrapers` (Prometheus) on
 * the metrics port, no one else.
 */
export function traefikPods(metricsScrapers: readonly Peer[] = []): ChartPods[] {
  return [
    {
      name: "proxy",
      podLabels: TRAEFIK_POD_LABELS,
      rules: [
        { port: TRAEFIK_ENTRY_POINTS.web.port, from: ANYONE },
        { port: TRAEFIK_ENTRY_POINTS.websecure.port, from: ANYONE },
        ...scrapeRule(TRAEFIK_METRICS.port, metricsScrapers),
      ],
    },
  ];
}

/** The namespaces Traefik reads: the Gateway's and every host's route namespaces. */
export function watchedNamespaces(edgeNamespace: string, hosts: readonly GatewayHost[]): string[] {
  return [...new Set([edgeNamespace, ...hosts.flatMap(({ routeNamespaces }) => routeNamespaces)])];
}

/** Annotations for Traefik's Service per cloud: a network load balancer on AWS (as ingress-nginx's). */
function loadBalancerAnnotations(cloud: GatewayEdgeArgs["cloud"]): Record<string, string> {
  if (cloud === "aws") {
    return {
      "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
      "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
    };
  }
  return {};
}

/**
 * Traefik chart values: only the Gateway API provider and the CRD provider (its Middlewares), no
 * Ingress provider, no chart-made Gateway or GatewayClass (plinth writes both), no dashboard, no
 * trust in client X-Forwarded-* headers, restricted-compliant pods.
 */
export function traefikValues(
  args: Pick<GatewayEdgeArgs, "cloud" | "replicas"> & { readonly watchedNamespaces: readonly string[] },
): Record<string, unknown> {
  // Both providers read plinth's namespaces only: a Gateway, IngressRoute, Middleware or TLSOption
  // another namespace writes is never served by this Traefik (it could route to plinth's Services
  // around oauth2-proxy, or set TLS for every host).
  const namespaces = [...args.watchedNamespaces];
  return {
    image: { tag: TRAEFIK_VERSION },
    deployment: { replicas: args.replicas ?? 2 },
    podDisruptionBudget: { enabled: true, minAvailable: 1 },
    providers: {
      kubernetesGateway: { enabled: true, experimentalChannel: false, namespaces },
      // allowCrossNamespace: each protected route's sign-in Middleware (Errors) names oauth2-proxy's
      // Service in namespace auth, from the route's own namespace; Traefik refuses such a reference
      // unless this is on. ExternalName Services stay refused.
      // Within the watched namespaces only.
      kubernetesCRD: {
        enabled: true,
        namespaces,
        allowCrossNamespace: true,
        allowExternalNameServices: false,
      },
      kubernetesIngress: { enabled: false },
    },
    gateway: { enabled: false },
    gatewayClass: { enabled: false },
    ingressClass: { enabled: false },
    ingressRoute: { dashboard: { enabled: false } },
    api: { dashboard: false },
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    ports: {
      web: {
        port: TRAEFIK_ENTRY_POINTS.web.port,
        exposedPort: TRAEFIK_ENTRY_POINTS.web.exposedPort,
        forwardedHeaders: { insecure: false, trustedIPs: [] },
      },
      websecure: {
        port: TRAEFIK_ENTRY_POINTS.websecure.port,
        exposedPort: TRAEFIK_ENTRY_POINTS.websecure.exposedPort,
        forwardedHeaders: { insecure: false, trustedIPs: [] },
        http3: { enabled: false },
      },
      // The metrics entry point on the pods only (never on the LoadBalancer Service), on the port
      // the NetworkPolicy admits Prometheus to and the PodMonitor names.
      [TRAEFIK_METRICS.entryPoint]: {
        port: TRAEFIK_METRICS.port,
        expose: { default: false },
        exposedPort: TRAEFIK_METRICS.port,
        protocol: "TCP",
      },
    },
    service: {
      type: "LoadBalancer",
      annotations: loadBalancerAnnotations(args.cloud),
      spec: { externalTrafficPolicy: "Local" },
    },
    // Entry-point series (traefik_entrypoint_requests_total by code: PlinthEdgeErrorsHigh) and
    // router series (which route the errors are on).
    metrics: {
      prometheus: {
        entryPoint: TRAEFIK_METRICS.entryPoint,
        addEntryPointsLabels: true,
        addRoutersLabels: true,
      },
    },
    // One JSON line per request on stdout: what the cluster's log pipeline keeps for the edge.
    logs: { access: { enabled: true, format: "json" } },
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
    podSecurityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: TRAEFIK_POD_LABELS },
      },
    ],
  };
}

/** cert-manager's values on the Gateway path: as on the Ingress path, with its Gateway API support on. */
export function gatewayCertManagerValues(): Record<string, unknown> {
  return {
    ...certManagerValues(),
    config: {
      apiVersion: "controller.config.cert-manager.io/v1alpha1",
      kind: "ControllerConfiguration",
      enableGatewayAPI: true,
    },
  };
}

export class GatewayEdge extends pulumi.ComponentResource implements Edge {
  /** The Traefik pods: the only peer allowed to reach published Services. */
  public readonly controllerPeer: Peer;
  /** Traefik's metrics port, when plinth installs Traefik and admits `metricsScrapers` to it. */
  public readonly metricsTarget: PodMetricsTarget | undefined;
  /** cert-manager's controller metrics, when plinth installs cert-manager and admits `metricsScrapers`. */
  public readonly certManagerMetricsTarget: PodMetricsTarget | undefined;
  public readonly clusterIssuerName: pulumi.Output<string>;
  public readonly gatewayClassName: string;
  /** What a route needs to exist first: the release that installs the Gateway API and Traefik CRDs, and the Gateway. */
  private readonly routeDependencies: pulumi.Resource[];
  private readonly auth: AuthEndpoint;
  private readonly hosts: readonly string[];
  private readonly hstsMaxAgeSeconds: number;
  private readonly namespace: string;
  /** On a reused Traefik the Gateway API and traefik.io CRDs are the cluster's: said on each object. */
  private readonly crAnnotations: Record<string, string>;

  constructor(name: string, args: GatewayEdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(
      "plinth:gateway:GatewayEdge",
      name,
      {},
      {
        ...opts,
        aliases: [...(opts?.aliases ?? []), { type: INGRESS_TLS_TYPE }],
      },
    );
    if (!args.acme.server.startsWith("https://")) {
      throw new pulumi.ResourceError(
        `acme.server must be an https ACME directory URL; got ${args.acme.server}`,
        this,
      );
    }
    const hosts = args.hosts.map(({ host }) => host);
    const labelsOfHosts = hosts.map(firstLabel);
    if (hosts.length === 0 || new Set(labelsOfHosts).size !== hosts.length) {
      throw new pulumi.ResourceError(
        `hosts must be at least one, with distinct first labels (each names a listener); got [${hosts.join(", ")}]`,
        this,
      );
    }
    const unreachable = args.hosts.find(({ routeNamespaces }) => routeNamespaces.length === 0);
    if (unreachable) {
      throw new pulumi.ResourceError(
        `hosts: no namespace could attach a route to ${unreachable.host} (routeNamespaces is empty)`,
        this,
      );
    }
    const reuse = args.reuse ?? {};
    if (reuse.certManager === undefined && args.apiServerSources.length === 0) {
      throw new pulumi.ResourceError(
        "apiServerSources: cert-manager's admission webhook needs the CIDRs the API server calls from",
        this,
      );
    }
    const child = { parent: this, provider: args.provider };
    const labels = { "app.kubernetes.io/part-of": "plinth" };
    this.crAnnotations = reuse.controller ? { [CRDS_FROM_CLUSTER_ANNOTATION]: "cluster" } : {};
    this.auth = args.auth;
    this.hosts = hosts;
    this.hstsMaxAgeSeconds = args.hstsMaxAgeSeconds ?? 31_536_000;
    this.namespace = args.namespace ?? EDGE_NAMESPACE;

    // Traefik, unless the cluster's is reused; its release installs the Gateway API (standard
    // channel) and traefik.io CRDs, which everything below names.
    const crds: pulumi.Resource[] = [];
    let gatewayClass: pulumi.Resource | undefined;
    if (reuse.controller === undefined) {
      const traefik = chartInOwnNamespace(`${name}-traefik`, TRAEFIK_NAMESPACE, "restricted", labels, child, {
        pin: CHARTS.traefik,
        values: traefikValues({ ...args, watchedNamespaces: watchedNamespaces(this.namespace, args.hosts) }),
        pods: traefikPods(args.metricsScrapers),
      });
      crds.push(traefik);
      gatewayClass = new k8s.apiextensions.CustomResource(
        `${name}-gateway-class`,
        {
          apiVersion: GATEWAY_API_VERSION,
          kind: "GatewayClass",
          metadata: { name: GATEWAY_CLASS, labels },
          spec: {
            controllerName: TRAEFIK_CONTROLLER_NAME,
            description: "Traefik installed by plinth: plinth's Gateway",
          },
        },
        { ...child, dependsOn: [traefik] },
      );
    }
    this.gatewayClassName = reuse.controller?.gatewayClassName ?? GATEWAY_CLASS;
    this.controllerPeer = reuse.controller
      ? { namespace: reuse.controller.namespace, podLabels: reuse.controller.podLabels }
      : { namespace: TRAEFIK_NAMESPACE, podLabels: TRAEFIK_POD_LABELS };
    this.metricsTarget =
      reuse.controller === undefined
        ? scrapedBy(args.metricsScrapers, {
            namespace: TRAEFIK_NAMESPACE,
            podLabels: TRAEFIK_POD_LABELS,
            port: TRAEFIK_METRICS.entryPoint,
            path: TRAEFIK_METRICS.path,
          })
        : undefined;

    // cert-manager, as on the Ingress path (same names: see INGRESS_TLS_TYPE) with its Gateway API
    // support on. It reads the Gateway API CRDs when it starts, so it follows the Traefik release.
    const issuerDependencies: pulumi.Resource[] = [...crds];
    if (reuse.certManager === undefined) {
      const certManager = installCertManager(name, args, gatewayCertManagerValues(), labels, child, crds);
      issuerDependencies.push(certManager.release);
      this.certManagerMetricsTarget = certManager.metricsTarget;
    }

    const gatewayRef = {
      group: GATEWAY_GROUP,
      kind: "Gateway",
      name: GATEWAY_NAME,
      namespace: this.namespace,
    };
    const issuerName =
      reuse.certManager?.clusterIssuer ??
      acmeClusterIssuer(
        `${name}-issuer`,
        {
          acme: args.acme,
          certManagerReused: reuse.certManager !== undefined,
          // The solver's HTTPRoute attaches to the Gateway's HTTP listener, in the Gateway's
          // namespace (where the listener certificates and so the solver pods are).
          http01: { gatewayHTTPRoute: { parentRefs: [{ ...gatewayRef, sectionName: HTTP_LISTENER }] } },
          labels,
        },
        { ...child, dependsOn: issuerDependencies },
      );
    this.clusterIssuerName = pulumi.output(issuerName);

    // plinth's Gateway, in a namespace of its own: only the redirect and the ACME solvers' routes
    // live there, and only the solver pods run there (admitted from Traefik alone).
    const edgeNamespace = podSecurityNamespace(`${name}-ns`, this.namespace, "restricted", child);
    const inEdgeNamespace = { ...child, dependsOn: [edgeNamespace] };
    chartNamespacePolicies(
      name,
      this.namespace,
      [acmeSolverPods(this.controllerPeer)],
      labels,
      inEdgeNamespace,
    );
    const gateway = new k8s.apiextensions.CustomResource(
      `${name}-gateway`,
      {
        apiVersion: GATEWAY_API_VERSION,
        kind: "Gateway",
        metadata: {
          name: GATEWAY_NAME,
          namespace: this.namespace,
          labels,
          annotations: {
            ...this.crAnnotations,
            // cert-manager's gateway-shim issues a Certificate per HTTPS listener's Secret.
            "cert-manager.io/cluster-issuer": this.clusterIssuerName,
            // `pulumi up` waits until the controller accepts the Gateway, and fails if it never
            // does (a wrong class, no controller). Not Programmed: listeners whose certificate is
            // not issued yet (DNS not moved) are expected on a first up.
            "pulumi.com/waitFor": "condition=Accepted",
          },
        },
        spec: {
          gatewayClassName: this.gatewayClassName,
          listeners: [
            {
              name: HTTP_LISTENER,
              port: TRAEFIK_ENTRY_POINTS.web.port,
              protocol: "HTTP",
              // The redirect and the ACME solvers only: no component's route answers over HTTP.
              allowedRoutes: {
                namespaces: { from: "Same" },
                kinds: [{ group: GATEWAY_GROUP, kind: "HTTPRoute" }],
              },
            },
            ...args.hosts.map(({ host, routeNamespaces }) => ({
              name: httpsListenerName(host),
              port: TRAEFIK_ENTRY_POINTS.websecure.port,
              protocol: "HTTPS",
              hostname: host,
              tls: {
                mode: "Terminate",
                certificateRefs: [{ group: "", kind: "Secret", name: certificateSecretName(host) }],
              },
              allowedRoutes: {
                namespaces: {
                  from: "Selector",
                  selector: {
                    matchExpressions: [
                      {
                        key: "kubernetes.io/metadata.name",
                        operator: "In",
                        values: [...routeNamespaces],
                      },
                    ],
                  },
                },
                kinds: [{ group: GATEWAY_GROUP, kind: "HTTPRoute" }],
              },
            })),
          ],
        },
      },
      { ...child, dependsOn: [edgeNamespace, ...crds, ...(gatewayClass ? [gatewayClass] : [])] },
    );
    // HTTP to HTTPS, every host, every path (the ACME solvers' routes name a host and an exact
    // path, so they take precedence over this one).
    new k8s.apiextensions.CustomResource(
      `${name}-https-redirect`,
      {
        apiVersion: GATEWAY_API_VERSION,
        kind: "HTTPRoute",
        metadata: {
          name: `${GATEWAY_NAME}-https-redirect`,
          namespace: this.namespace,
          labels,
          ...(reuse.controller ? { annotations: this.crAnnotations } : {}),
        },
        spec: {
          parentRefs: [{ ...gatewayRef, sectionName: HTTP_LISTENER }],
          rules: [
            {
              matches: [{ path: { type: "PathPrefix", value: "/" } }],
              filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }],
            },
          ],
        },
      },
      { ...child, dependsOn: [...crds, gateway] },
    );
    this.routeDependencies = [...crds, gateway];
    this.registerOutputs({
      clusterIssuerName: this.clusterIssuerName,
      gatewayClassName: this.gatewayClassName,
      gatewayName: GATEWAY_NAME,
      gatewayNamespace: this.namespace,
    });
  }

  /**
   * An HTTPRoute `name` in `args.namespace` on the host's HTTPS listener: one rule matching every
   * path (a PathPrefix or Exact match per path, as the Ingress lists them), HSTS on the response, the
   * Service as the backend. A protected route also gets four Middlewares in its namespace,
   * `<name>-rate-limit` (per client address: `perClientRateLimit`, by default
   * PROTECTED_ROUTE_RATE_LIMIT), `<name>-auth` (ForwardAuth to oauth2-proxy), `<name>-sign-in` (its
   * 401 turned into the sign-in redirect) and `<name>-protect` (the three chained in that order:
   * limit, sign-in, auth), which the rule names by an ExtensionRef filter. A public route with a
   * `perClientRateLimit` (oauth2-proxy's /oauth2) gets `<name>-rate-limit` alone, named so.
   */
  publish(name: string, args: PublishArgs, opts: pulumi.CustomResourceOptions): pulumi.Resource[] {
    if (!this.hosts.includes(args.host)) {
      throw new pulumi.ResourceError(
        `${name}: host ${args.host} has no listener on the Gateway (hosts: ${this.hosts.join(", ")})`,
        this,
      );
    }
    if (args.paths.length === 0) {
      throw new pulumi.ResourceError(`${name}: a route publishes at least one path`, this);
    }
    const limit = args.perClientRateLimit ?? (args.protect ? PROTECTED_ROUTE_RATE_LIMIT : undefined);
    const after = dependingOn(opts, this.routeDependencies);
    const middlewares = args.protect
      ? this.protectMiddlewares(name, args, limit, after)
      : limit
        ? [this.middleware(name, "rate-limit", args, this.rateLimit(name, limit), after)]
        : [];
    // The one Middleware the route names: the protect chain (which starts with the limit), or the
    // limit alone.
    const named = middlewares.at(-1);
    const route = new k8s.apiextensions.CustomResource(
      name,
      {
        apiVersion: GATEWAY_API_VERSION,
        kind: "HTTPRoute",
        metadata: { name, namespace: args.namespace, labels: args.labels, ...this.annotations() },
        spec: {
          parentRefs: [
            {
              group: GATEWAY_GROUP,
              kind: "Gateway",
              name: GATEWAY_NAME,
              namespace: this.namespace,
              sectionName: httpsListenerName(args.host),
            },
          ],
          hostnames: [args.host],
          // One rule: HTTPRoute allows 16 rules but 64 matches a rule, and every path shares the
          // filters and backend.
          rules: [
            {
              matches: args.paths.map(({ path, pathType }) => ({
                path: { type: pathType === "Exact" ? "Exact" : "PathPrefix", value: path },
              })),
              filters: [
                {
                  type: "ResponseHeaderModifier",
                  responseHeaderModifier: { set: [hstsHeader(this.hstsMaxAgeSeconds)] },
                },
                ...(named
                  ? [
                      {
                        type: "ExtensionRef",
                        extensionRef: {
                          group: TRAEFIK_MIDDLEWARE.group,
                          kind: TRAEFIK_MIDDLEWARE.kind,
                          name: `${name}-${args.protect ? "protect" : "rate-limit"}`,
                        },
                      },
                    ]
                  : []),
              ],
              backendRefs: [
                { group: "", kind: "Service", name: args.serviceName, port: args.servicePort.number },
              ],
            },
          ],
        },
      },
      named ? dependingOn(after, [named]) : after,
    );
    return [...middlewares, route];
  }

  /** `{ annotations }` when there are any (a reused Traefik's CRDs), else nothing. */
  private annotations(): { annotations?: Record<string, string> } {
    return Object.keys(this.crAnnotations).length > 0 ? { annotations: this.crAnnotations } : {};
  }

  /**
   * `<name>-rate-limit`, `<name>-auth`, `<name>-sign-in` and `<name>-protect`, the chain the route
   * names: [rate-limit, sign-in, auth]. The limit comes first so that a client over it is refused
   * before the edge asks oauth2-proxy anything.
   */
  private protectMiddlewares(
    name: string,
    args: PublishArgs,
    limit: PerClientRateLimit | undefined,
    opts: pulumi.CustomResourceOptions,
  ): k8s.apiextensions.CustomResource[] {
    const rateLimit = limit
      ? [this.middleware(name, "rate-limit", args, this.rateLimit(name, limit), opts)]
      : [];
    const auth = this.middleware(
      name,
      "auth",
      args,
      forwardAuthMiddleware(authUrlFor(this.auth.authUrl, args.protect?.groups), this.auth.sessionCookies),
      opts,
    );
    const signIn = this.middleware(name, "sign-in", args, signInMiddleware(this.auth.service), opts);
    const links = [...(limit ? [`${name}-rate-limit`] : []), `${name}-sign-in`, `${name}-auth`];
    const chain = this.middleware(
      name,
      "protect",
      args,
      chainMiddleware(links),
      dependingOn(opts, [...rateLimit, auth, signIn]),
    );
    return [...rateLimit, auth, signIn, chain];
  }

  /** A route's limit as Traefik's body; a limit Traefik would misread is the caller's error. */
  private rateLimit(name: string, limit: PerClientRateLimit): Record<string, unknown> {
    try {
      return rateLimitMiddleware(limit);
    } catch (error) {
      throw new pulumi.ResourceError(`${name}: perClientRateLimit: ${(error as Error).message}`, this);
    }
  }

  /** The Middleware `<name>-<suffix>` in the route's namespace. */
  private middleware(
    name: string,
    suffix: string,
    args: PublishArgs,
    spec: Record<string, unknown>,
    opts: pulumi.CustomResourceOptions,
  ): k8s.apiextensions.CustomResource {
    return new k8s.apiextensions.CustomResource(
      `${name}-${suffix}`,
      {
        apiVersion: TRAEFIK_MIDDLEWARE.apiVersion,
        kind: TRAEFIK_MIDDLEWARE.kind,
        metadata: {
          name: `${name}-${suffix}`,
          namespace: args.namespace,
          labels: args.labels,
          ...this.annotations(),
        },
        spec,
      },
      opts,
    );
  }
}
