/**
 * OAuth2Proxy: oauth2-proxy in front of everything that is not the public API. Written as plain
 * Kubernetes objects (Deployment, Service, Secret, PDB, NetworkPolicy, and on each protected host a
 * public route of /oauth2 through the edge); the cookie secret comes from @pulumi/random and stays a
 * Pulumi secret. The edge puts a route behind it (`oauth2ProxyEndpoint` in ./contract.ts says where
 * it answers).
 *
 * Sessions are per host: each protected host signs its users in on its own /oauth2 path and gets a
 * host-only `__Host-` cookie, so no other host under the domain (a sibling app, a taken-over
 * subdomain) ever receives a session. Signing in to a second host is one redirect through the
 * identity provider's own session.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { Edge } from "../shared/edge.js";
import { selectorLabels, standardLabels } from "../shared/labels.js";
import { podSecurityNamespace } from "../shared/namespace.js";
import { ingressOnlyFrom } from "../shared/network-policy.js";
import { hardenedContainer, hardenedPodSpec, httpProbes, type Resources } from "../shared/workload.js";
import { clusterService } from "../shared/service.js";
import { groupFlags, HTTP_PORT, oauth2ProxyEndpoint, SESSION_FLAGS, SIGN_IN_RATE_LIMIT } from "./contract.js";

export interface OAuth2ProxyArgs {
  readonly provider: k8s.Provider;
  /** oauth2-proxy image pinned by digest. */
  readonly image: string;
  /**
   * The hosts whose routes it guards (api.<domain>, mlflow.<domain>, grafana.<domain>): each gets
   * /oauth2 routed to the proxy, and each must be a redirect URI of the OIDC client
   * (`https://<host>/oauth2/callback`).
   */
  readonly hosts: readonly string[];
  readonly oidc: {
    /** OIDC issuer URL (https). */
    readonly issuerUrl: string;
    readonly clientId: string;
    /** The client secret, as a Pulumi secret. */
    readonly clientSecret: pulumi.Input<string>;
  };
  /** Only users whose email is in one of these domains get through. */
  readonly allowedEmailDomains: readonly string[];
  /**
   * Only members of one of these identity-provider groups get through (every group that grants a
   * role: the admin and the ops-read groups); the service maps the groups it is sent to roles.
   */
  readonly allowedGroups: readonly string[];
  /** @default "groups" */
  readonly groupsClaim?: string;
  /** @default "openid email profile groups" */
  readonly scope?: string;
  /** The edge that publishes the /oauth2 routes; its proxy pods are the only peer allowed to call this one. */
  readonly edge: Edge;
  /** @default "auth" */
  readonly namespace?: string;
  /** @default 2 */
  readonly replicas?: number;
  /** @default requests 50m/64Mi, limits 500m/256Mi */
  readonly resources?: Resources;
}

const METRICS_PORT = 44180;

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
    if (args.allowedGroups.length === 0) {
      throw new pulumi.ResourceError(
        "allowedGroups must not be empty: every signed-in user of the domains would reach the admin surfaces",
        this,
      );
    }
    if (!args.oidc.issuerUrl.startsWith("https://")) {
      throw new pulumi.ResourceError(`oidc.issuerUrl must be https; got ${args.oidc.issuerUrl}`, this);
    }
    const child = { parent: this, provider: args.provider };
    // Each host's Ingress is named by its first label.
    const labelsOfHosts = args.hosts.map((host) => host.split(".")[0]);
    if (args.hosts.length === 0 || new Set(labelsOfHosts).size !== args.hosts.length) {
      throw new pulumi.ResourceError(
        `hosts must be at least one, with distinct first labels; got [${args.hosts.join(", ")}]`,
        this,
      );
    }
    this.namespace = args.namespace ?? "auth";
    const app = name;
    const labels = standardLabels(app, "auth-proxy");
    const selector = selectorLabels(app, "auth-proxy");
    const endpoint = oauth2ProxyEndpoint(app, this.namespace);
    this.authUrl = endpoint.authUrl;
    this.signinUrl = endpoint.signinUrl;

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
        ...groupFlags(args),
        `--http-address=0.0.0.0:${HTTP_PORT}`,
        `--metrics-address=0.0.0.0:${METRICS_PORT}`,
        // No --redirect-url: the callback is on the host the user signs in to (X-Forwarded-Host),
        // and no --cookie-domain: the cookie stays on that host.
        ...args.hosts.map((host) => `--whitelist-domain=${host}`),
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
    const service = clusterService(
      `${name}-service`,
      { name: app, namespace: this.namespace, labels, selector, port: { name: "http", number: HTTP_PORT } },
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
      [{ port: HTTP_PORT, from: [args.edge.controllerPeer] }],
      inNamespace,
    );
    for (const host of args.hosts) {
      const label = host.split(".")[0]!;
      // Public: the sign-in, callback and sign-out pages of each host, rate limited per client
      // where the edge can (SIGN_IN_RATE_LIMIT says why).
      args.edge.publish(
        `${name}-ingress-${label}`,
        {
          namespace: this.namespace,
          host,
          paths: [{ path: "/oauth2", pathType: "Prefix" }],
          serviceName: service.metadata.name,
          servicePort: { name: "http", number: HTTP_PORT },
          labels,
          tlsSecretName: `${app}-${label}-tls`,
          perClientRateLimit: SIGN_IN_RATE_LIMIT,
        },
        inNamespace,
      );
    }
    this.registerOutputs({
      authUrl: this.authUrl,
      signinUrl: this.signinUrl,
      cookieSecret: this.cookieSecret,
    });
  }
}
