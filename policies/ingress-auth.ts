/**
 * Ingress and authentication: every Ingress terminates TLS with a cert-manager certificate and
 * redirects plain HTTP; admin surfaces sit behind oauth2-proxy; the public host exposes only the
 * inference API's own paths, never a catch-all that would also reach its admin routes.
 */
import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import type { PolicyResource } from "@pulumi/policy";
import type { Unwrap } from "@pulumi/pulumi";
import { objectName } from "./lib/kubernetes.js";
import { configOf, literal } from "./lib/policy.js";
import type { PlinthPolicy, PlinthResourcePolicy, PlinthStackPolicy } from "./lib/policy.js";

type IngressSpec = Unwrap<k8s.types.input.networking.v1.IngressSpec>;

const NGINX = "nginx.ingress.kubernetes.io";
const AUTH_URL = `${NGINX}/auth-url`;
const AUTH_SIGNIN = `${NGINX}/auth-signin`;
const OWASP_AUTH = "OWASP Top 10 (A01 Broken Access Control)";

function annotationsOf(props: Record<string, unknown>): Record<string, string> {
  return (props.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
}

export const ingressTlsCertManager: PlinthResourcePolicy = {
  name: "ingress-tls-cert-manager",
  description: "Every Ingress host is served over TLS with a certificate issued by cert-manager.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Credentials, tokens and predictions crossing the internet in clear text; hand-made certificates that expire unnoticed.",
    answers: [
      "NSA/CISA Kubernetes Hardening Guidance (encrypt traffic in transit)",
      "anti-pattern: manually rotated certificates",
    ],
  },
  validateResource: validateResourceOfType(k8s.networking.v1.Ingress, (ingress, args, report) => {
    const name = objectName(args.props, args.name);
    const annotations = annotationsOf(args.props);
    if (!annotations["cert-manager.io/cluster-issuer"] && !annotations["cert-manager.io/issuer"]) {
      report(
        `Ingress "${name}" names no cert-manager issuer. Set metadata.annotations["cert-manager.io/cluster-issuer"] to the ClusterIssuer's name.`,
      );
    }
    const tls = ingress.spec?.tls ?? [];
    if (tls.length === 0) {
      report(
        `Ingress "${name}" has no TLS. Set spec.tls to [{ hosts: [<host>], secretName: "<name>-tls" }].`,
      );
      return;
    }
    tls.forEach((entry, i) => {
      if (!entry.secretName)
        report(
          `Ingress "${name}" spec.tls[${i}] has no secretName. Set spec.tls[${i}].secretName for cert-manager to write the certificate to.`,
        );
    });
    const tlsHosts = new Set(tls.flatMap((entry) => entry.hosts ?? []));
    (ingress.spec?.rules ?? []).forEach((rule, i) => {
      if (!rule.host) {
        report(
          `Ingress "${name}" spec.rules[${i}] has no host, so it cannot be covered by TLS. Set spec.rules[${i}].host.`,
        );
      } else if (!tlsHosts.has(rule.host)) {
        report(
          `Ingress "${name}" serves host "${rule.host}" without TLS. Add "${rule.host}" to spec.tls[].hosts.`,
        );
      }
    });
  }),
};

export const ingressSslRedirect: PlinthResourcePolicy = {
  name: "ingress-ssl-redirect",
  description: "Every Ingress redirects plain HTTP to HTTPS.",
  enforcementLevel: "mandatory",
  severity: "medium",
  metadata: {
    protectsAgainst:
      "Clients (and cookies without the Secure flag) talking plain HTTP to an endpoint that also serves HTTPS.",
    answers: [
      "NSA/CISA Kubernetes Hardening Guidance (encrypt traffic in transit)",
      "OWASP Transport Layer Security Cheat Sheet",
    ],
  },
  validateResource: validateResourceOfType(k8s.networking.v1.Ingress, (_ingress, args, report) => {
    const annotations = annotationsOf(args.props);
    const redirect = annotations[`${NGINX}/ssl-redirect`];
    const forced = annotations[`${NGINX}/force-ssl-redirect`];
    if (redirect === "false" || forced === "false" || (redirect !== "true" && forced !== "true")) {
      report(
        `Ingress "${objectName(args.props, args.name)}" does not redirect HTTP to HTTPS. Set metadata.annotations["${NGINX}/force-ssl-redirect"] to "true".`,
      );
    }
  }),
};

/** Annotations that inject raw nginx configuration into the controller. */
const SNIPPET_ANNOTATION = /^nginx\.ingress\.kubernetes\.io\/[a-z-]*snippet$/;

export const ingressNoSnippetAnnotations: PlinthResourcePolicy = {
  name: "ingress-no-snippet-annotations",
  description: "Ingresses must not carry nginx *-snippet annotations.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Raw nginx configuration injected through an Ingress: it can read the controller's service-account token and every TLS secret (CVE-2021-25742), or undo auth.",
    answers: [
      "Kubernetes security advisory CVE-2021-25742 (ingress-nginx custom snippets)",
      "ingress-nginx documentation: allow-snippet-annotations",
    ],
  },
  validateResource: validateResourceOfType(k8s.networking.v1.Ingress, (_ingress, args, report) => {
    for (const key of Object.keys(annotationsOf(args.props))) {
      if (SNIPPET_ANNOTATION.test(key)) {
        report(
          `Ingress "${objectName(args.props, args.name)}" injects nginx configuration through "${key}". Remove metadata.annotations["${key}"]; put the setting in the controller's Helm values.`,
        );
      }
    }
  }),
};

interface Route {
  host: string;
  path: string;
  pathType: string;
  service: string;
  /** Where the route is written, e.g. spec.rules[0].http.paths[1]. */
  at: string;
}

/** Every (host, path) -> Service an Ingress routes, its default backend included as a catch-all. */
function routesOf(spec: IngressSpec | undefined): Route[] {
  const routes: Route[] = [];
  const fallback = spec?.defaultBackend?.service?.name;
  if (fallback)
    routes.push({ host: "*", path: "/", pathType: "Prefix", service: fallback, at: "spec.defaultBackend" });
  (spec?.rules ?? []).forEach((rule, i) =>
    (rule.http?.paths ?? []).forEach((path, j) => {
      const service = path.backend?.service?.name;
      if (!service) return;
      routes.push({
        host: rule.host ?? "*",
        path: path.path ?? "/",
        pathType: path.pathType ?? "ImplementationSpecific",
        service,
        at: `spec.rules[${i}].http.paths[${j}]`,
      });
    }),
  );
  return routes;
}

function hasOauth2ProxyAuth(annotations: Record<string, string>): boolean {
  return Boolean(
    annotations[AUTH_URL]?.includes("/oauth2/auth") && annotations[AUTH_SIGNIN]?.includes("/oauth2/start"),
  );
}

function ingressesOf(resources: PolicyResource[]): PolicyResource[] {
  return resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:Ingress");
}

const adminConfig = {
  properties: {
    protectedPathPrefixes: {
      type: "array" as const,
      items: { type: "string" as const },
      description: "Path prefixes that only signed-in operators may reach.",
      default: ["/admin", "/ops"],
    },
    protectedBackendPattern: {
      type: "string" as const,
      description: "Regular expression on backend Service names that are admin surfaces as a whole.",
      default: "mlflow|grafana|prometheus|alertmanager",
    },
    protectedHostPattern: {
      type: "string" as const,
      description: "Regular expression on hosts that are admin surfaces as a whole.",
      default: "^(mlflow|grafana|prometheus|alertmanager)\\.",
    },
  },
};

interface AdminConfig {
  protectedPathPrefixes: string[];
  protectedBackendPattern: string;
  protectedHostPattern: string;
}

function protectedReason(route: Route, config: AdminConfig): string | undefined {
  const prefix = config.protectedPathPrefixes.find((p) => route.path === p || route.path.startsWith(`${p}/`));
  if (prefix) return `path ${route.path}`;
  if (new RegExp(config.protectedBackendPattern).test(route.service)) return `Service "${route.service}"`;
  if (new RegExp(config.protectedHostPattern).test(route.host)) return `host ${route.host}`;
  return undefined;
}

export const adminPathsBehindOauth2Proxy: PlinthStackPolicy = {
  name: "admin-paths-behind-oauth2-proxy",
  description:
    "Admin routes (/admin, /ops, MLflow, Grafana, Prometheus) are only on Ingresses carrying the oauth2-proxy auth-url and auth-signin annotations.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: adminConfig,
  metadata: {
    protectsAgainst:
      "Anyone on the internet reaching model management (MLflow), dashboards or the service's admin panel; forged identity headers reaching an unauthenticated admin route.",
    answers: [OWASP_AUTH, "anti-pattern: admin UI exposed without authentication"],
    configured: "protectedPathPrefixes, protectedBackendPattern, protectedHostPattern",
  },
  validateStack: (args, report) => {
    const config = configOf<AdminConfig>(adminConfig, args);
    for (const ingress of ingressesOf(args.resources)) {
      if (hasOauth2ProxyAuth(annotationsOf(ingress.props))) continue;
      const exposed = routesOf(ingress.props.spec).flatMap((route) => {
        const reason = protectedReason(route, config);
        return reason ? [`${reason} (${route.at})`] : [];
      });
      if (exposed.length > 0) {
        report(
          `Ingress "${objectName(ingress.props, ingress.name)}" exposes ${exposed.join(", ")} without oauth2-proxy. Move these routes to an Ingress with metadata.annotations["${AUTH_URL}"] = "https://<auth host>/oauth2/auth" and ["${AUTH_SIGNIN}"] = "https://<auth host>/oauth2/start?rd=$escaped_request_uri".`,
          ingress.urn,
        );
      }
    }
  },
};

const catchAllConfig = {
  properties: {
    inferenceBackendPattern: {
      type: "string" as const,
      description: "Regular expression on the Service names of the inference service.",
      default: "inference",
    },
  },
};

/** "/", "" and regex wildcards such as "/.*" or "/(.*)" match every request path. */
const CATCH_ALL_PATH = /^\/?(\(?\.\*\)?)?$/;

export const noCatchAllToInference: PlinthStackPolicy = {
  name: "no-catch-all-to-inference",
  description:
    "The public (unauthenticated) Ingress routes only explicit API paths to the inference service, never a catch-all.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: catchAllConfig,
  metadata: {
    protectsAgainst:
      "A catch-all `/` on the public host also exposing the service's /admin and /ops routes, where a client could forge X-Auth-Request-Email because oauth2-proxy never saw the request.",
    answers: [OWASP_AUTH, "anti-pattern: catch-all route to a service that also serves admin paths"],
    configured: "inferenceBackendPattern",
  },
  validateStack: (args, report) => {
    const { inferenceBackendPattern } = configOf<{ inferenceBackendPattern: string }>(catchAllConfig, args);
    const inference = new RegExp(inferenceBackendPattern);
    for (const ingress of ingressesOf(args.resources)) {
      if (hasOauth2ProxyAuth(annotationsOf(ingress.props))) continue;
      for (const route of routesOf(ingress.props.spec)) {
        if (!inference.test(route.service) || route.pathType === "Exact" || !CATCH_ALL_PATH.test(route.path))
          continue;
        report(
          `Ingress "${objectName(ingress.props, ingress.name)}" sends every path on host ${route.host} to the inference Service "${route.service}" (${route.at}, path ${literal(route.path)}). Route only the public API prefixes (e.g. /predict, /v2) with pathType "Prefix".`,
          ingress.urn,
        );
      }
    }
  },
};

export const ingressAuthPolicies: PlinthPolicy[] = [
  ingressTlsCertManager,
  ingressSslRedirect,
  ingressNoSnippetAnnotations,
  adminPathsBehindOauth2Proxy,
  noCatchAllToInference,
];
