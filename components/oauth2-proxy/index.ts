/**
 * OAuth2Proxy: oauth2-proxy in front of everything that is not the public API. Written as plain
 * Kubernetes objects (Deployment, Service, Secret, Ingress for /oauth2, PDB, NetworkPolicy); the
 * cookie secret comes from @pulumi/random and stays a Pulumi secret. `protect()` returns the
 * ingress-nginx annotations that make an Ingress require a signed-in user of an allowed domain.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { IngressClassRef } from "../shared/ingress.js";
import { tlsIngress } from "../shared/ingress.js";
import { selectorLabels, standardLabels } from "../shared/labels.js";
import { podSecurityNamespace } from "../shared/namespace.js";
import { ingressOnlyFrom, type Peer } from "../shared/network-policy.js";
import { hardenedContainer, hardenedPodSpec, httpProbes, type Resources } from "../shared/workload.js";

export interface OAuth2ProxyArgs {
  readonly provider: k8s.Provider;
  /** oauth2-proxy image pinned by digest. */
  readonly image: string;
  /** Parent DNS domain: the proxy serves auth.<domain> and sets its cookie for .<domain>. */
  readonly domain: string;
  readonly oidc: {
    /** OIDC issuer URL (https). */
    readonly issuerUrl: string;
    readonly clientId: string;
    /** The client secret, as a Pulumi secret. */
    readonly clientSecret: pulumi.Input<string>;
  };
  /** Only users whose email is in one of these domains get through. */
  readonly allowedEmailDomains: readonly string[];
  readonly ingress: IngressClassRef;
  /** The ingress controller pods: the only peer allowed to call the proxy. */
  readonly controllerPeer: Peer;
  /** @default "auth" */
  readonly namespace?: string;
  /** @default 2 */
  readonly replicas?: number;
  /** @default requests 50m/64Mi, limits 500m/256Mi */
  readonly resources?: Resources;
}

const HTTP_PORT = 4180;
const METRICS_PORT = 44180;
/**
 * How the proxy keeps sessions and answers nginx, whatever the addresses: secure cookies, PKCE,
 * an auth-only upstream (202) that returns the X-Auth-Request-* headers. The local stack
 * (stack/local) runs the binary with the same flags.
 */
export const SESSION_FLAGS: readonly string[] = [
  "--cookie-secure=true",
  "--cookie-httponly=true",
  "--cookie-samesite=lax",
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

export class OAuth2Proxy extends pulumi.ComponentResource {
  public readonly namespace: string;
  /** In-cluster URL nginx calls to check a session. */
  public readonly authUrl: string;
  /** Public URL users are sent to for sign-in. */
  public readonly signinUrl: string;
  public readonly cookieSecret: pulumi.Output<string>;

  constructor(name: string, args: OAuth2ProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("plinth:oauth2-proxy:OAuth2Proxy", name, {}, opts);
    if (args.allowedEmailDomains.length === 0) {
      throw new pulumi.ResourceError(
        "allowedEmailDomains must not be empty: it would admit every account of the issuer",
        this,
      );
    }
    if (!args.oidc.issuerUrl.startsWith("https://")) {
      throw new pulumi.ResourceError(`oidc.issuerUrl must be https; got ${args.oidc.issuerUrl}`, this);
    }
    const child = { parent: this, provider: args.provider };
    this.namespace = args.namespace ?? "auth";
    const host = `auth.${args.domain}`;
    const app = name;
    const labels = standardLabels(app, "auth-proxy");
    const selector = selectorLabels(app, "auth-proxy");
    this.authUrl = `http://${app}.${this.namespace}.svc.cluster.local:${HTTP_PORT}/oauth2/auth`;
    this.signinUrl = `https://${host}/oauth2/start?rd=$scheme://$host$escaped_request_uri`;

    const namespace = podSecurityNamespace(`${name}-ns`, this.namespace, "restricted", child);
    const inNamespace = { ...child, dependsOn: [namespace] };

    // oauth2-proxy needs 16, 24 or 32 bytes for AES; 32 URL-safe characters are 32 bytes.
    const cookie = new random.RandomPassword(
      `${name}-cookie-secret`,
      { length: 32, special: false },
      { parent: this },
    );
    this.cookieSecret = pulumi.secret(cookie.result);
    const secret = new k8s.core.v1.Secret(
      `${name}-secrets`,
      {
        metadata: { name: `${app}-secrets`, namespace: this.namespace, labels },
        type: "Opaque",
        stringData: {
          "client-secret": pulumi.secret(args.oidc.clientSecret),
          "cookie-secret": this.cookieSecret,
        },
      },
      inNamespace,
    );

    const fromSecret = (key: string) => ({ secretKeyRef: { name: secret.metadata.name, key } });
    const container = hardenedContainer({
      name: "oauth2-proxy",
      image: args.image,
      args: [
        "--provider=oidc",
        `--oidc-issuer-url=${args.oidc.issuerUrl}`,
        `--client-id=${args.oidc.clientId}`,
        ...args.allowedEmailDomains.map((domain) => `--email-domain=${domain}`),
        `--http-address=0.0.0.0:${HTTP_PORT}`,
        `--metrics-address=0.0.0.0:${METRICS_PORT}`,
        `--redirect-url=https://${host}/oauth2/callback`,
        `--cookie-domain=.${args.domain}`,
        `--whitelist-domain=.${args.domain}`,
        ...SESSION_FLAGS,
      ],
      env: [
        { name: "OAUTH2_PROXY_CLIENT_SECRET", valueFrom: fromSecret("client-secret") },
        { name: "OAUTH2_PROXY_COOKIE_SECRET", valueFrom: fromSecret("cookie-secret") },
      ],
      ports: [
        { name: "http", containerPort: HTTP_PORT },
        { name: "metrics", containerPort: METRICS_PORT },
      ],
      resources: args.resources ?? {
        requests: { cpu: "50m", memory: "64Mi" },
        limits: { cpu: "500m", memory: "256Mi" },
      },
      probes: httpProbes("http", "/ready", "/ping"),
    });
    const replicas = args.replicas ?? 2;
    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: { name: app, namespace: this.namespace, labels },
        spec: {
          replicas,
          selector: { matchLabels: selector },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: { labels },
            spec: hardenedPodSpec({ containers: [container], spreadBy: selector }),
          },
        },
      },
      inNamespace,
    );
    const service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: app, namespace: this.namespace, labels },
        spec: {
          type: "ClusterIP",
          selector,
          ports: [{ name: "http", port: HTTP_PORT, targetPort: "http", protocol: "TCP" }],
        },
      },
      inNamespace,
    );
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      {
        metadata: { name: app, namespace: this.namespace, labels },
        spec: { minAvailable: 1, selector: { matchLabels: selector } },
      },
      inNamespace,
    );
    ingressOnlyFrom(
      `${name}-netpol`,
      this.namespace,
      selector,
      labels,
      [{ port: HTTP_PORT, from: [args.controllerPeer] }],
      inNamespace,
    );
    tlsIngress(
      `${name}-ingress`,
      {
        namespace: this.namespace,
        host,
        paths: [{ path: "/oauth2", pathType: "Prefix" }],
        serviceName: service.metadata.name,
        servicePort: "http",
        ingress: args.ingress,
        labels,
        tlsSecretName: `${app}-tls`,
      },
      inNamespace,
    );
    this.registerOutputs({
      authUrl: this.authUrl,
      signinUrl: this.signinUrl,
      cookieSecret: this.cookieSecret,
    });
  }

  /** Annotations that put an Ingress behind this proxy: no session of an allowed domain, no entry. */
  protect(): Record<string, string> {
    return protectedIngressAnnotations(this.authUrl, this.signinUrl);
  }
}

/** The nginx external-auth annotations for a protected Ingress. */
export function protectedIngressAnnotations(authUrl: string, signinUrl: string): Record<string, string> {
  return {
    "nginx.ingress.kubernetes.io/auth-url": authUrl,
    "nginx.ingress.kubernetes.io/auth-signin": signinUrl,
    "nginx.ingress.kubernetes.io/auth-response-headers": AUTH_RESPONSE_HEADERS.join(","),
  };
}
