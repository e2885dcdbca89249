/**
 * IngressTls: the Ingress path of the edge (`plinth:edge: ingress-nginx`). ingress-nginx was retired
 * by the Kubernetes project in March 2026 (no releases, no security patches): this component stays
 * only for clusters that already run it; the default edge is the Gateway API (components/gateway).
 *
 * ingress-nginx (the cluster's only LoadBalancer Service) and cert-manager from pinned
 * charts, and an ACME ClusterIssuer (HTTP-01 through nginx). The controller sends HSTS and
 * redirects HTTP to HTTPS everywhere; snippets are disabled so no Ingress can inject nginx config.
 * Each chart's namespace denies ingress to every pod but these: the controller's 80 and 443 to
 * anyone, and the two admission webhooks to where the API server calls from (on EKS that is the
 * VPC, which holds the pods as well).
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { acmeClusterIssuer, chartInOwnNamespace, type CertManagerReuse } from "../shared/edge-charts.js";
import { CHARTS } from "../shared/helm.js";
import { protectedIngressAnnotations } from "../oauth2-proxy/contract.js";
import {
  authUrlFor,
  scrapedBy,
  type AuthEndpoint,
  type Edge,
  type PodMetricsTarget,
  type PublishArgs,
} from "../shared/edge.js";
import { tlsIngress, type IngressClassRef } from "../shared/ingress.js";
import { ANYONE, scrapeRule, type ChartPods, type Peer, type Source } from "../shared/network-policy.js";

export interface IngressTlsArgs {
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
   * Where the API server calls admission webhooks from (Cluster.apiServerSources): the webhooks of
   * the charts plinth installs admit only these. Required (non-empty) unless both charts are reused.
   */
  readonly apiServerSources: readonly Source[];
  /** oauth2-proxy, which a protected route's auth annotations call. */
  readonly auth: AuthEndpoint;
  /**
   * Who scrapes cert-manager's controller metrics (CERT_MANAGER_METRICS): its NetworkPolicy admits
   * these pods, and no one else, to the metrics port, and the edge then names it as its
   * `certManagerMetricsTarget`. The program passes the Prometheus pods. Unused when cert-manager is
   * reused. @default [] (no one)
   */
  readonly metricsScrapers?: readonly Peer[];
  /** Controller replicas. @default 2 */
  readonly replicas?: number;
  /** Strict-Transport-Security max-age in seconds. @default 31536000 (one year) */
  readonly hstsMaxAgeSeconds?: number;
  /**
   * The IngressClass of the controller plinth installs (unused with `reuse.controller`). Mark it the
   * cluster's default only on a cluster plinth owns: a second default makes the API server refuse
   * every Ingress that names no class.
   * @default { name: "nginx", default: true } on aws and gcp, { name: "plinth-nginx", default: false } on
   * existing (a stock ingress-nginx already there has class "nginx" and its controller value)
   */
  readonly ingressClass?: { readonly name?: string; readonly default?: boolean };
  /**
   * What an existing cluster already runs, reused instead of installed. The reused controller's
   * own settings (HSTS, redirects, snippets) are its owners'; the policy pack still judges every
   * Ingress plinth writes. @default {} (install ingress-nginx and cert-manager)
   */
  readonly reuse?: {
    /** Only ingress-nginx: the oauth2-proxy protection is its auth annotations. */
    readonly controller?: { readonly implementation: "ingress-nginx"; readonly className: string } & Peer;
    readonly certManager?: CertManagerReuse;
  };
}

export const INGRESS_NAMESPACE = "ingress-nginx";
export const CERT_MANAGER_NAMESPACE = "cert-manager";
export const INGRESS_CLASS = "nginx";
/**
 * The class on an existing cluster: not "nginx", whose controller value (k8s.io/ingress-nginx) a
 * stock ingress-nginx already there would share, and two controllers of one value both serve every
 * Ingress of either class.
 */
export const EXISTING_INGRESS_CLASS = "plinth-nginx";

/** The IngressClass of the installed controller: plinth's default class only where plinth owns the cluster. */
function installedClass(args: IngressTlsArgs): { name: string; isDefault: boolean } {
  return {
    name: args.ingressClass?.name ?? (args.cloud === "existing" ? EXISTING_INGRESS_CLASS : INGRESS_CLASS),
    isDefault: args.ingressClass?.default ?? args.cloud !== "existing",
  };
}

/** The ports ingress-nginx's controller pods listen on (chart defaults). */
export const CONTROLLER_PORTS = { http: 80, https: 443, webhook: 8443 } as const;
/** cert-manager's webhook port (the chart's `webhook.securePort`). */
const CERT_MANAGER_WEBHOOK_PORT = 10250;
/**
 * cert-manager's controller pods, as its chart labels them (read in the chart's templates of recent
 * v1 releases, the PodMonitor's among them; not checked against v1.21.1's here).
 */
const CERT_MANAGER_CONTROLLER_LABELS = {
  "app.kubernetes.io/name": "cert-manager",
  "app.kubernetes.io/component": "controller",
};
/**
 * cert-manager's controller metrics (the Certificates' readiness and renewal), as its chart serves
 * them with `prometheus.enabled`: container port `http-metrics` on 9402, `/metrics` (same source).
 */
export const CERT_MANAGER_METRICS = { port: 9402, portName: "http-metrics", path: "/metrics" } as const;

const CONTROLLER_POD_LABELS = {
  "app.kubernetes.io/name": "ingress-nginx",
  "app.kubernetes.io/component": "controller",
};

/** Who reaches the pods of the ingress-nginx chart: anyone on 80/443, the API server on the webhook. */
export function ingressNginxPods(apiServer: readonly Source[]): ChartPods[] {
  return [
    {
      name: "controller",
      podLabels: CONTROLLER_POD_LABELS,
      rules: [
        { port: CONTROLLER_PORTS.http, from: ANYONE },
        { port: CONTROLLER_PORTS.https, from: ANYONE },
        { port: CONTROLLER_PORTS.webhook, from: apiServer },
      ],
    },
  ];
}

/**
 * Who reaches the pods of the cert-manager chart: the API server on the webhook, `metricsScrapers`
 * (Prometheus) on the controller's metrics port, no one else.
 */
export function certManagerPods(
  apiServer: readonly Source[],
  metricsScrapers: readonly Peer[] = [],
): ChartPods[] {
  const metrics = scrapeRule(CERT_MANAGER_METRICS.port, metricsScrapers);
  return [
    {
      name: "webhook",
      podLabels: { "app.kubernetes.io/name": "webhook", "app.kubernetes.io/component": "webhook" },
      rules: [{ port: CERT_MANAGER_WEBHOOK_PORT, from: apiServer }],
    },
    ...(metrics.length > 0
      ? [{ name: "controller", podLabels: CERT_MANAGER_CONTROLLER_LABELS, rules: metrics }]
      : []),
  ];
}

/**
 * cert-manager from its pinned chart in its own restricted namespace (after `after`), for either
 * edge: its pods admit the API server to the webhook and `metricsScrapers` to the controller's
 * metrics, which are then the returned `metricsTarget` (a PodMonitor of Monitoring's).
 */
export function installCertManager(
  name: string,
  args: { readonly apiServerSources: readonly Source[]; readonly metricsScrapers?: readonly Peer[] },
  values: Record<string, unknown>,
  labels: Record<string, string>,
  child: pulumi.CustomResourceOptions,
  after: readonly pulumi.Resource[] = [],
): { release: pulumi.Resource; metricsTarget: PodMetricsTarget | undefined } {
  const release = chartInOwnNamespace(
    `${name}-cert-manager`,
    CERT_MANAGER_NAMESPACE,
    "restricted",
    labels,
    child,
    { pin: CHARTS.certManager, values, pods: certManagerPods(args.apiServerSources, args.metricsScrapers) },
    after,
  );
  const metricsTarget = scrapedBy(args.metricsScrapers, {
    namespace: CERT_MANAGER_NAMESPACE,
    podLabels: CERT_MANAGER_CONTROLLER_LABELS,
    port: CERT_MANAGER_METRICS.portName,
    path: CERT_MANAGER_METRICS.path,
  });
  return { release, metricsTarget };
}

/** Annotations for the controller's Service per cloud: a network load balancer on AWS. */
function loadBalancerAnnotations(cloud: IngressTlsArgs["cloud"]): Record<string, string> {
  if (cloud === "aws") {
    return {
      "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
      "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
    };
  }
  return {};
}

/** ingress-nginx chart values: HSTS, HTTPS redirect, no snippets, no server tokens. */
export function ingressNginxValues(args: IngressTlsArgs): Record<string, unknown> {
  const replicas = args.replicas ?? 2;
  const { name, isDefault } = installedClass(args);
  return {
    controller: {
      replicaCount: replicas,
      ingressClassResource: {
        name,
        default: isDefault,
        enabled: true,
        // The controller claims only its own class (never Ingresses another controller serves).
        controllerValue: name === INGRESS_CLASS ? "k8s.io/ingress-nginx" : `k8s.io/${name}`,
      },
      ingressClass: name,
      allowSnippetAnnotations: false,
      config: {
        "ssl-redirect": "true",
        "force-ssl-redirect": "true",
        hsts: "true",
        "hsts-max-age": String(args.hstsMaxAgeSeconds ?? 31_536_000),
        "hsts-include-subdomains": "true",
        "server-tokens": "false",
        "ssl-protocols": "TLSv1.2 TLSv1.3",
        "use-forwarded-headers": "false",
        "strict-validate-path-type": "true",
      },
      service: {
        type: "LoadBalancer",
        externalTrafficPolicy: "Local",
        annotations: loadBalancerAnnotations(args.cloud),
      },
      metrics: { enabled: true },
      resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
      podDisruptionBudget: { enabled: true, minAvailable: 1 },
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: "topology.kubernetes.io/zone",
          whenUnsatisfiable: "ScheduleAnyway",
          labelSelector: { matchLabels: CONTROLLER_POD_LABELS },
        },
      ],
    },
    defaultBackend: { enabled: false },
  };
}

export function certManagerValues(): Record<string, unknown> {
  return {
    crds: { enabled: true, keep: true },
    replicaCount: 1,
    global: { leaderElection: { namespace: CERT_MANAGER_NAMESPACE } },
    // The controller's metrics port (CERT_MANAGER_METRICS), scraped by Monitoring's PodMonitor
    // plinth-cert-manager. Not the chart's ServiceMonitor or PodMonitor: their CRD comes with
    // kube-prometheus-stack, installed after the edge, and the chart's objects are invisible to
    // the render and the policy pack.
    prometheus: { enabled: true },
    resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
  };
}

export class IngressTls extends pulumi.ComponentResource implements Edge {
  /** Ingress class and issuer for the components that publish Ingresses. */
  public readonly ingress: IngressClassRef;
  /** The controller pods: the only peer allowed to reach public ports. */
  public readonly controllerPeer: Peer;
  public readonly clusterIssuerName: pulumi.Output<string>;
  /** cert-manager's controller metrics, when plinth installs cert-manager and admits `metricsScrapers`. */
  public readonly certManagerMetricsTarget: PodMetricsTarget | undefined;
  private readonly auth: AuthEndpoint;

  constructor(name: string, args: IngressTlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("plinth:ingress-tls:IngressTls", name, {}, opts);
    if (!args.acme.server.startsWith("https://")) {
      throw new pulumi.ResourceError(
        `acme.server must be an https ACME directory URL; got ${args.acme.server}`,
        this,
      );
    }
    const child = { parent: this, provider: args.provider };
    this.auth = args.auth;
    const reuse = args.reuse ?? {};
    if (
      (reuse.controller === undefined || reuse.certManager === undefined) &&
      args.apiServerSources.length === 0
    ) {
      throw new pulumi.ResourceError(
        "apiServerSources: the charts' admission webhooks need the CIDRs the API server calls from",
        this,
      );
    }
    const labels = { "app.kubernetes.io/part-of": "plinth" };
    const installed: pulumi.Resource[] = [];
    if (reuse.controller === undefined) {
      installed.push(
        chartInOwnNamespace(`${name}-nginx`, INGRESS_NAMESPACE, "baseline", labels, child, {
          pin: CHARTS.ingressNginx,
          values: ingressNginxValues(args),
          pods: ingressNginxPods(args.apiServerSources),
        }),
      );
    }
    if (reuse.certManager === undefined) {
      const certManager = installCertManager(name, args, certManagerValues(), labels, child);
      installed.push(certManager.release);
      this.certManagerMetricsTarget = certManager.metricsTarget;
    }
    const className = reuse.controller?.className ?? installedClass(args).name;

    // The issuer needs cert-manager's CRDs and webhook, and the class its solver uses. A cluster's
    // own issuer is used as it is: plinth never overwrites an object it does not own.
    const issuerName =
      reuse.certManager?.clusterIssuer ??
      acmeClusterIssuer(
        `${name}-issuer`,
        {
          acme: args.acme,
          certManagerReused: reuse.certManager !== undefined,
          // A ClusterIP solver Service: the default NodePort would open each solver on every
          // node's address, around the controller and the namespace's NetworkPolicies.
          http01: { ingress: { ingressClassName: className, serviceType: "ClusterIP" } },
          labels,
        },
        { ...child, dependsOn: installed },
      );

    this.clusterIssuerName = pulumi.output(issuerName);
    this.ingress = { className, clusterIssuer: this.clusterIssuerName };
    this.controllerPeer = reuse.controller
      ? { namespace: reuse.controller.namespace, podLabels: reuse.controller.podLabels }
      : { namespace: INGRESS_NAMESPACE, podLabels: CONTROLLER_POD_LABELS };
    this.registerOutputs({ clusterIssuerName: this.clusterIssuerName, ingressClassName: className });
  }

  /**
   * A TLS Ingress of `args.paths` on `args.host`; a protected one carries the oauth2-proxy auth
   * annotations (narrowed to `protect.groups` when set).
   */
  publish(name: string, args: PublishArgs, opts: pulumi.CustomResourceOptions): pulumi.Resource[] {
    const annotations = args.protect
      ? protectedIngressAnnotations(authUrlFor(this.auth.authUrl, args.protect.groups), this.auth.signinUrl)
      : undefined;
    return [
      tlsIngress(
        name,
        {
          namespace: args.namespace,
          host: args.host,
          paths: args.paths,
          serviceName: args.serviceName,
          servicePort: args.servicePort.name ?? args.servicePort.number,
          ingress: this.ingress,
          ...(annotations ? { annotations } : {}),
          labels: args.labels,
          tlsSecretName: args.tlsSecretName,
        },
        opts,
      ),
    ];
  }
}
