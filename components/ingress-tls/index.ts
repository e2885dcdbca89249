/**
 * IngressTls: ingress-nginx (the cluster's only LoadBalancer Service) and cert-manager from pinned
 * charts, and an ACME ClusterIssuer (HTTP-01 through nginx). The controller sends HSTS and
 * redirects HTTP to HTTPS everywhere; snippets are disabled so no Ingress can inject nginx config.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, pinnedRelease } from "../shared/helm.js";
import type { IngressClassRef } from "../shared/ingress.js";
import { podSecurityNamespace } from "../shared/namespace.js";
import type { Peer } from "../shared/network-policy.js";

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
    readonly certManager?: { readonly clusterIssuer?: string };
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
          labelSelector: {
            matchLabels: {
              "app.kubernetes.io/name": "ingress-nginx",
              "app.kubernetes.io/component": "controller",
            },
          },
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
    prometheus: { enabled: true },
    resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
  };
}

export class IngressTls extends pulumi.ComponentResource {
  /** Ingress class and issuer for the components that publish Ingresses. */
  public readonly ingress: IngressClassRef;
  /** The controller pods: the only peer allowed to reach public ports. */
  public readonly controllerPeer: Peer;
  public readonly clusterIssuerName: pulumi.Output<string>;

  constructor(name: string, args: IngressTlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("plinth:ingress-tls:IngressTls", name, {}, opts);
    if (!args.acme.server.startsWith("https://")) {
      throw new pulumi.ResourceError(
        `acme.server must be an https ACME directory URL; got ${args.acme.server}`,
        this,
      );
    }
    const child = { parent: this, provider: args.provider };
    const reuse = args.reuse ?? {};
    const installed: pulumi.Resource[] = [];
    if (reuse.controller === undefined) {
      const nginxNamespace = podSecurityNamespace(`${name}-nginx-ns`, INGRESS_NAMESPACE, "baseline", child);
      installed.push(
        pinnedRelease(
          `${name}-nginx`,
          CHARTS.ingressNginx,
          nginxNamespace.metadata.name,
          ingressNginxValues(args),
          child,
        ),
      );
    }
    if (reuse.certManager === undefined) {
      const certManagerNamespace = podSecurityNamespace(
        `${name}-cert-manager-ns`,
        CERT_MANAGER_NAMESPACE,
        "restricted",
        child,
      );
      installed.push(
        pinnedRelease(
          `${name}-cert-manager`,
          CHARTS.certManager,
          certManagerNamespace.metadata.name,
          certManagerValues(),
          child,
        ),
      );
    }
    const className = reuse.controller?.className ?? installedClass(args).name;

    // The issuer needs cert-manager's CRDs and webhook, and the class its solver uses. A cluster's
    // own issuer is used as it is: plinth never overwrites an object it does not own.
    const issuerName =
      reuse.certManager?.clusterIssuer ??
      new k8s.apiextensions.CustomResource(
        `${name}-issuer`,
        {
          apiVersion: "cert-manager.io/v1",
          kind: "ClusterIssuer",
          // On a cluster with its own cert-manager, "letsencrypt" may well exist already: plinth's
          // own issuer then gets a name no one else uses, so it never adopts or deletes theirs.
          metadata: {
            name: reuse.certManager ? "plinth-letsencrypt" : "letsencrypt",
            labels: { "app.kubernetes.io/part-of": "plinth" },
          },
          spec: {
            acme: {
              email: args.acme.email,
              server: args.acme.server,
              privateKeySecretRef: { name: "letsencrypt-account-key" },
              solvers: [{ http01: { ingress: { ingressClassName: className } } }],
            },
          },
        },
        { ...child, dependsOn: installed },
      ).metadata.name;

    this.clusterIssuerName = pulumi.output(issuerName);
    this.ingress = { className, clusterIssuer: this.clusterIssuerName };
    this.controllerPeer = reuse.controller
      ? { namespace: reuse.controller.namespace, podLabels: reuse.controller.podLabels }
      : {
          namespace: INGRESS_NAMESPACE,
          podLabels: {
            "app.kubernetes.io/name": "ingress-nginx",
            "app.kubernetes.io/component": "controller",
          },
        };
    this.registerOutputs({ clusterIssuerName: this.clusterIssuerName, ingressClassName: className });
  }
}
