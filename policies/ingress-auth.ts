/**
 * Ingress and authentication: every Ingress terminates TLS with a cert-manager certificate and
 * redirects plain HTTP; admin surfaces sit behind oauth2-proxy; the public host exposes only the
 * inference API's own paths, never a catch-all that would also reach its admin routes.
 */
import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import { OPERATOR_PATHS } from "../service/contract/operator-paths.js";
import {
  adminConfig,
  catchAllConfig,
  OAUTH2_PATH,
  OPERATOR_PATH_LIST,
  OWASP_AUTH,
  protectedReason,
  type AdminConfig,
} from "./lib/admin-surfaces.js";
import { chartObjectsChecked } from "./lib/helm-charts.js";
import {
  annotationsOf,
  annotationTrue,
  CATCH_ALL_PATH,
  hostsWithRegexPaths,
  ingressesOf,
  literalPrefix,
  mayReachOperatorPath,
  NGINX,
  nginxMatches,
  operatorSamples,
  REGEX_SYNTAX,
  rewriteMayReachOperatorPath,
  routesOf,
  type Route,
} from "./lib/ingress-nginx.js";
import { objectName } from "./lib/kubernetes.js";
import { configOf, literal } from "./lib/policy.js";
import type { PlinthPolicy, PlinthResourcePolicy, PlinthStackPolicy } from "./lib/policy.js";

const AUTH_URL = `${NGINX}/auth-url`;
const AUTH_SIGNIN = `${NGINX}/auth-signin`;

/** For the catalog: the Ingresses every rule here reads (validateResourceOfType and ingressesOf alike). */
const INGRESS_V1 = "Ingress of networking.k8s.io/v1 (`kubernetes:networking.k8s.io/v1:Ingress`)";
/** For the catalog: what no rule here reads. */
const NOT_INGRESS_V1 =
  "Gateway API objects (Gateway, HTTPRoute) are not read here: gateway-api.ts judges them. Ingresses of networking.k8s.io/v1beta1 or extensions/v1beta1, and IngressPatch, are not read.";
/** For the catalog: the controller the annotation rules assume. */
const INGRESS_NGINX_ONLY =
  "spec.ingressClassName is not read: every Ingress is judged as ingress-nginx would serve it.";
/** For the catalog: what {@link hasOauth2ProxyAuth} requires. */
const OAUTH2_PROXY_ANNOTATIONS =
  "the three oauth2-proxy annotations (nginx.ingress.kubernetes.io/auth-url containing /oauth2/auth, auth-signin containing /oauth2/start, auth-response-headers listing X-Auth-Request-Email)";
const INGRESSES_IN_CHARTS = chartObjectsChecked("Ingresses");

/**
 * Whether a certificate for `name` covers `host` (RFC 6125): the same name, or a wildcard
 * `*.example.com` standing for exactly one leftmost label (api.example.com, not a.b.example.com,
 * nor example.com itself).
 */
export function certificateCovers(name: string, host: string): boolean {
  const [certName, hostName] = [name.toLowerCase(), host.toLowerCase()];
  if (certName === hostName) return true;
  if (!certName.startsWith("*.")) return false;
  const dot = hostName.indexOf(".");
  return dot > 0 && hostName.slice(dot + 1) === certName.slice(2);
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
    covers: `${INGRESS_V1}: metadata.annotations must name cert-manager.io/cluster-issuer or cert-manager.io/issuer; spec.tls must have at least one entry, each with a secretName; every spec.rules[].host must be listed in spec.tls[].hosts, exactly or under a wildcard that stands for one leftmost label (RFC 6125), case-insensitively. A rule without a host is reported.`,
    limits: `The named issuer is not checked to exist, and the annotation is required even where a cert-manager Certificate is written separately (kubernetes.io/tls-acme is not accepted in its place). spec.defaultBackend is not judged. ${NOT_INGRESS_V1}`,
    charts: INGRESSES_IN_CHARTS,
    chartReach: "objects",
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
      } else if (![...tlsHosts].some((tlsHost) => certificateCovers(tlsHost, rule.host!))) {
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
    covers: `${INGRESS_V1}: the annotation nginx.ingress.kubernetes.io/force-ssl-redirect or ssl-redirect must be true as Go's strconv.ParseBool reads it (1, t, T, TRUE, true, True; surrounding spaces are trimmed).`,
    limits: `The controller's settings are not read: ingress-nginx already redirects TLS hosts when its ConfigMap's ssl-redirect is on (its default), yet an Ingress without either annotation is reported. ssl-redirect passes even on an Ingress without TLS, where nginx does not redirect (ingress-tls-cert-manager reports the missing TLS), and HSTS is not judged. ${INGRESS_NGINX_ONLY} ${NOT_INGRESS_V1}`,
    charts: INGRESSES_IN_CHARTS,
    chartReach: "objects",
  },
  validateResource: validateResourceOfType(k8s.networking.v1.Ingress, (_ingress, args, report) => {
    const annotations = annotationsOf(args.props);
    const redirect = annotations[`${NGINX}/ssl-redirect`];
    const forced = annotations[`${NGINX}/force-ssl-redirect`];
    // ingress-nginx redirects when force-ssl-redirect is true whatever ssl-redirect says, and with
    // ssl-redirect true on a TLS host whatever force-ssl-redirect says (its nginx.tmpl).
    if (!annotationTrue(forced) && !annotationTrue(redirect)) {
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
    covers: `${INGRESS_V1}: no metadata.annotations key may be nginx.ingress.kubernetes.io/ followed by lowercase letters and dashes ending in snippet (configuration-snippet, server-snippet, auth-snippet, stream-snippet, modsecurity-snippet, ...).`,
    limits: `Only the default annotation prefix is read: a controller started with another --annotations-prefix is not covered. Snippets in the controller's own ConfigMap or Helm values (http-snippet, main-snippet) are not judged, nor annotations whose values have been used to inject configuration (auth-url, auth-tls-match-cn, mirror-target in the 2025 ingress-nginx advisories). ${NOT_INGRESS_V1}`,
    charts: INGRESSES_IN_CHARTS,
    chartReach: "objects",
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

/**
 * oauth2-proxy guards the Ingress: nginx asks it (auth-url), sends strangers to sign in
 * (auth-signin), and overwrites X-Auth-Request-Email with its answer (auth-response-headers):
 * without that last one, a signed-in user could send the header and be whoever they name.
 */
function hasOauth2ProxyAuth(annotations: Record<string, string>): boolean {
  const forwarded = (annotations[`${NGINX}/auth-response-headers`] ?? "")
    .split(",")
    .map((header) => header.trim().toLowerCase());
  return Boolean(
    annotations[AUTH_URL]?.includes("/oauth2/auth") &&
    annotations[AUTH_SIGNIN]?.includes("/oauth2/start") &&
    forwarded.includes("x-auth-request-email") &&
    // `satisfy: any` lets a request through when any access check passes (a whitelist-source-range
    // covering the client, basic auth): oauth2-proxy is then one way in among others.
    (annotations[`${NGINX}/satisfy`] ?? "").trim().toLowerCase() !== "any",
  );
}

/** Annotations that would make an Ingress's /oauth2 reach something other than the proxy's /oauth2. */
const PATH_CHANGING = [
  "rewrite-target",
  "use-regex",
  "app-root",
  "upstream-vhost",
  "configuration-snippet",
  "server-snippet",
];
/**
 * oauth2-proxy's own sign-in path on a protected host (sessions are per host): it must be reachable
 * without a session, and only the proxy answers it. Exactly the configured Service in its namespace,
 * on an Ingress that changes no path.
 */
function isSignInRoute(
  route: Route,
  ingress: { namespace: string; annotations: Record<string, string> },
  signInService: string,
): boolean {
  return (
    route.path === OAUTH2_PATH &&
    route.pathType === "Prefix" &&
    `${ingress.namespace}/${route.service}` === signInService &&
    PATH_CHANGING.every((name) => ingress.annotations[`${NGINX}/${name}`] === undefined)
  );
}

export const adminPathsBehindOauth2Proxy: PlinthStackPolicy = {
  name: "admin-paths-behind-oauth2-proxy",
  description: `Admin routes (the inference service's operator routes ${OPERATOR_PATHS.map(({ path }) => path).join(", ")}, bare or under a model's name /models/<name>; MLflow, Grafana, Prometheus) are only on Ingresses carrying the oauth2-proxy auth-url, auth-signin and auth-response-headers (with X-Auth-Request-Email) annotations.`,
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: adminConfig,
  metadata: {
    protectsAgainst:
      "Anyone on the internet reaching model management (MLflow), dashboards or the service's admin panel; forged identity headers reaching an unauthenticated admin route.",
    answers: [OWASP_AUTH, "anti-pattern: admin UI exposed without authentication"],
    configured: "protectedPathPrefixes, protectedBackendPattern, protectedHostPattern, signInService",
    covers: `Stack-wide: every ${INGRESS_V1} that lacks ${OAUTH2_PROXY_ANNOTATIONS}, or carries them beside a \`satisfy: any\` annotation (any passing access check then lets a request in). Each of its routes (spec.rules[].http.paths[] with a Service backend, and spec.defaultBackend as host \`*\` and path \`/\`) is reported, unless it is oauth2-proxy's own sign-in path (Prefix \`${OAUTH2_PATH}\` to exactly the signInService, namespace/name, on an Ingress without ${PATH_CHANGING.join(", ")}; on every protected host, since sessions are per host), when its path equals or lies below a protectedPathPrefixes entry, its Service name matches protectedBackendPattern, or its host matches protectedHostPattern.`,
    limits: `Paths are compared literally, not as nginx matches them: a regular-expression path, or an ImplementationSpecific prefix shorter than a protected one (\`/adm\`), is not matched here (no-catch-all-to-inference applies nginx's matching to the inference Service). auth-url is only checked to contain \`/oauth2/auth\`, not to reach plinth's oauth2-proxy, and resource backends (backend.resource) are not read. ${NOT_INGRESS_V1}`,
    charts: INGRESSES_IN_CHARTS,
    chartReach: "objects",
  },
  validateStack: (args, report) => {
    const config = configOf<AdminConfig>(adminConfig, args);
    for (const ingress of ingressesOf(args.resources)) {
      const annotations = annotationsOf(ingress.props);
      if (hasOauth2ProxyAuth(annotations)) continue;
      const where = { namespace: ingress.props.metadata?.namespace ?? "default", annotations };
      const exposed = routesOf(ingress.props.spec).flatMap((route) => {
        if (isSignInRoute(route, where, config.signInService)) return [];
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
    covers: `Stack-wide: every route to a Service whose name matches inferenceBackendPattern, on each ${INGRESS_V1} that lacks ${OAUTH2_PROXY_ANNOTATIONS}. Reported: a path other than Exact that is empty, \`/\`, \`/.*\` or \`/(.*)\` (spec.defaultBackend included); a rewrite-target naming an operator path, or with a capture reference (\`$1\`) not preceded by a fixed first path segment other than theirs (\`/predict/$1\` passes, \`/$2\` does not); a path with regular-expression syntax on a host where any Ingress sets use-regex or rewrite-target, unless the text every match must start with (before its first metacharacter, with no alternation outside a group) keeps it off the operator routes, compared case-insensitively (\`/openapi.json\`, \`/v2/models/[^/]+/infer\` pass); and any other path that ingress-nginx's matching (Exact, Prefix by path segment, ImplementationSpecific as a string prefix, regular expressions case-insensitively from the start) sends ${OPERATOR_PATH_LIST}, or a path below a prefix among them, to.`,
    limits: `Only the operator paths of service/contract/operator-paths.ts are tried, with one sample path below each prefix. Whether a host reads paths as regular expressions is learned from this stack's Ingresses only, not from the controller's configuration or objects a helm.sh/v3 Release creates. ${INGRESS_NGINX_ONLY} ${NOT_INGRESS_V1}`,
    charts: INGRESSES_IN_CHARTS,
    chartReach: "objects",
  },
  validateStack: (args, report) => {
    const { inferenceBackendPattern } = configOf<{ inferenceBackendPattern: string }>(catchAllConfig, args);
    const inference = new RegExp(inferenceBackendPattern);
    const ingresses = ingressesOf(args.resources);
    const regexHosts = hostsWithRegexPaths(ingresses);
    for (const ingress of ingresses) {
      const annotations = annotationsOf(ingress.props);
      if (hasOauth2ProxyAuth(annotations)) continue;
      const name = objectName(ingress.props, ingress.name);
      const rewrite = annotations[`${NGINX}/rewrite-target`];
      for (const route of routesOf(ingress.props.spec)) {
        if (!inference.test(route.service)) continue;
        if (route.pathType !== "Exact" && CATCH_ALL_PATH.test(route.path)) {
          report(
            `Ingress "${name}" sends every path on host ${route.host} to the inference Service "${route.service}" (${route.at}, path ${literal(route.path)}). Route only the public API prefixes (e.g. /predict, /v2) with pathType "Prefix".`,
            ingress.urn,
          );
          continue;
        }
        if (rewrite !== undefined && rewriteMayReachOperatorPath(rewrite)) {
          report(
            `Ingress "${name}" rewrites ${route.at} (path ${literal(route.path)}) to ${literal(rewrite)} for the inference Service "${route.service}": a public path can be rewritten onto an operator route (${OPERATOR_PATHS.map((p) => p.path).join(", ")}). Remove metadata.annotations["${NGINX}/rewrite-target"] or make it a fixed path.`,
            ingress.urn,
          );
          continue;
        }
        const regex = regexHosts.has(route.host);
        const prefix = regex ? literalPrefix(route.path) : route.path;
        if (
          regex &&
          REGEX_SYNTAX.test(route.path) &&
          (prefix === undefined || mayReachOperatorPath(prefix))
        ) {
          // Which request paths a regular expression matches cannot be listed; what it must start
          // with can: a pattern whose fixed start keeps it off the operator routes (`/openapi.json`,
          // `/v2/models/[^/]+/infer`) is as safe as a literal.
          report(
            `Ingress "${name}" ${route.at} (path ${literal(route.path)}) is a regular expression on host ${route.host}, which routes to the inference Service "${route.service}" without oauth2-proxy: it may match an operator route. Use literal paths (pathType Exact or Prefix) for the public API.`,
            ingress.urn,
          );
          continue;
        }
        const reached = operatorSamples(route.path).filter((sample) => nginxMatches(route, sample, regex));
        if (reached.length > 0) {
          report(
            `Ingress "${name}" ${route.at} (path ${literal(route.path)}, ${regex ? "a regular expression: use-regex is on for this host" : `pathType ${route.pathType}`}) sends the operator route${reached.length > 1 ? "s" : ""} ${reached.join(", ")} to the inference Service "${route.service}" without oauth2-proxy. Narrow the path to the public API, or move the route to the protected Ingress.`,
            ingress.urn,
          );
        }
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
