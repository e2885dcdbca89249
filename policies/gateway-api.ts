/**
 * The Gateway API edge (Gateway, HTTPRoute, Traefik Middleware), judged as ingress-auth.ts judges
 * Ingresses: every listener that carries routes terminates TLS with a cert-manager certificate, or
 * only redirects to https; every Gateway with a plain HTTP listener redirects it; admin surfaces sit
 * behind a ForwardAuth to oauth2-proxy that the stack itself declares; the inference service is
 * never reached by a catch-all; every protected route limits each client's rate before it asks
 * oauth2-proxy; no identity header ever comes from the client; and no listener takes routes from
 * every namespace.
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs } from "@pulumi/policy";
import { TRAEFIK_MIDDLEWARE } from "../components/gateway/traefik.js";
import { oauth2ProxyEndpoint } from "../components/oauth2-proxy/contract.js";
import { certificateCovers } from "./ingress-auth.js";
import {
  adminConfig,
  catchAllConfig,
  OAUTH2_PATH,
  OPERATOR_PATH_LIST,
  OWASP_AUTH,
  protectedReason,
  type AdminConfig,
} from "./lib/admin-surfaces.js";
import {
  appliedMiddlewares,
  attachmentsOf,
  describe,
  GATEWAY_V1,
  gatewayApiKind,
  gatewayOf,
  gatewaysOf,
  HTTPROUTE_V1,
  httpRouteOf,
  httpRoutesOf,
  IDENTITY_HEADER_NAME,
  IDENTITY_HEADER_REGEX,
  IDENTITY_HEADERS,
  identityHeadersKept,
  isOauth2ProxyAuth,
  isTraefikMiddleware,
  limitsRate,
  MIDDLEWARE,
  middlewareOf,
  middlewaresOf,
  namespaceLabels,
  NOT_GATEWAY_READ,
  pathMatchesOf,
  redirectsToHttps,
  ruleProtection,
  serviceBackendsOf,
  takesEveryRequest,
  type GatewayView,
  type HTTPRouteFilter,
  type HTTPRouteView,
  type Listener,
} from "./lib/gateway-api.js";
import { chartObjectsChecked } from "./lib/helm-charts.js";
import { mayReachOperatorPath, nginxMatches, operatorSamples } from "./lib/ingress-nginx.js";
import { admitsEveryNamespace, namespaceOf } from "./lib/kubernetes.js";
import { configOf, literal } from "./lib/policy.js";
import type { PlinthPolicy, PlinthResourcePolicy, PlinthStackPolicy } from "./lib/policy.js";
import { isOperatorPath } from "../service/contract/operator-paths.js";

const NSA_CISA_TLS = "NSA/CISA Kubernetes Hardening Guidance (encrypt traffic in transit)";
const GATEWAY_OBJECTS_IN_CHARTS = chartObjectsChecked("Gateways, HTTPRoutes and Middlewares");
const CERT_MANAGER_ISSUERS = ["cert-manager.io/cluster-issuer", "cert-manager.io/issuer"];
const CERTIFICATE_TYPE = /^kubernetes:cert-manager\.io\/[^:]+:Certificate$/;

/** The auth endpoint a protecting ForwardAuth must ask: plinth's oauth2-proxy, as its component says. */
const DEFAULT_AUTH_URL = oauth2ProxyEndpoint("oauth2-proxy", "auth").authUrl;
const authUrlProperty = {
  oauth2ProxyAuthUrl: {
    type: "string" as const,
    description:
      "oauth2-proxy's auth endpoint: the address a protecting ForwardAuth Middleware must ask (optionally with allowed_groups, allowed_emails or allowed_email_domains).",
    default: DEFAULT_AUTH_URL,
  },
};
const gatewayAdminConfig = { properties: { ...adminConfig.properties, ...authUrlProperty } };
const gatewayCatchAllConfig = { properties: { ...catchAllConfig.properties, ...authUrlProperty } };
const gatewayAuthConfig = { properties: { ...authUrlProperty } };

/** A protecting filter, as a fix names it. */
function protectFilterHint(route: HTTPRouteView, rule: number, authUrl: string): string {
  return `Add to spec.rules[${rule}].filters { type: "ExtensionRef", extensionRef: { group: "${TRAEFIK_MIDDLEWARE.group}", kind: "${TRAEFIK_MIDDLEWARE.kind}", name: "${route.name}-protect" } } and declare that Middleware in namespace ${route.namespace}, a Chain to a ForwardAuth with address "${authUrl}"`;
}

function where(route: HTTPRouteView): string {
  return describe("HTTPRoute", route.name, route.namespace);
}

function listenerAt(gateway: GatewayView, listener: Listener): string {
  return `${describe("Gateway", gateway.name, gateway.namespace)} listener "${listener.name}"`;
}

/** Every filter of a rule: its own, then each backendRef's. */
function filtersOf(rule: HTTPRouteView["rules"][number]): { filter: HTTPRouteFilter; at: string }[] {
  return [
    ...(rule.filters ?? []).map((filter, k) => ({ filter, at: `filters[${k}]` })),
    ...(rule.backendRefs ?? []).flatMap((ref, b) =>
      (ref.filters ?? []).map((filter, k) => ({ filter, at: `backendRefs[${b}].filters[${k}]` })),
    ),
  ];
}

/** Whether cert-manager writes the certificate Secret `namespace/name` for `hostname`. */
function issuedByCertManager(
  gateway: GatewayView,
  ref: { name: string; namespace?: string },
  hostname: string | undefined,
  certificates: PolicyResource[],
): boolean {
  // cert-manager's Gateway support issues every listener's certificate of an annotated Gateway.
  if (CERT_MANAGER_ISSUERS.some((key) => gateway.annotations[key])) return true;
  const namespace = ref.namespace ?? gateway.namespace;
  return certificates.some((certificate) => {
    const props = certificate.props as { spec?: { secretName?: string; dnsNames?: string[] } };
    return (
      namespaceOf(certificate.props as Record<string, unknown>) === namespace &&
      props.spec?.secretName === ref.name &&
      hostname !== undefined &&
      (props.spec?.dnsNames ?? []).some((name) => certificateCovers(name, hostname))
    );
  });
}

export const gatewayListenerTls: PlinthStackPolicy = {
  name: "gateway-listener-tls",
  description:
    "Every HTTPS listener of a Gateway terminates TLS for its hostname with a certificate cert-manager issues; no listener carries clear-text TCP or UDP.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Credentials, tokens and predictions crossing the internet in clear text through a Gateway listener; hand-made certificates that expire unnoticed.",
    answers: [NSA_CISA_TLS, "anti-pattern: manually rotated certificates"],
    covers: `Stack-wide: each listener of every ${GATEWAY_V1}. HTTPS: tls.mode must be Terminate (its default), spec.listeners[].hostname set, tls.certificateRefs non-empty, and each certificateRef issued by cert-manager: the Gateway carries ${CERT_MANAGER_ISSUERS.join(" or ")} (cert-manager's Gateway support), or a cert-manager.io Certificate of the stack in the reference's namespace (the Gateway's by default) has that spec.secretName and a dnsNames entry covering the hostname (exactly, or a wildcard for one leftmost label, RFC 6125). TLS: Terminate needs certificateRefs as HTTPS does; Passthrough passes (TLS reaches the backend). TCP and UDP listeners are reported. HTTP listeners are gateway-http-listener-redirect-only's and gateway-http-redirect's.`,
    limits: `The named issuer is not checked to exist, nor the certificate's Secret, nor a certificateRef to a kind other than Secret; a ReferenceGrant for a certificate in another namespace is not required. ${NOT_GATEWAY_READ}`,
    charts: GATEWAY_OBJECTS_IN_CHARTS,
    chartReach: "objects",
  },
  validateStack: (args, report) => {
    const certificates = args.resources.filter((r) => CERTIFICATE_TYPE.test(r.type));
    for (const gateway of gatewaysOf(args.resources)) {
      gateway.listeners.forEach((listener, i) => {
        const at = listenerAt(gateway, listener);
        const path = `spec.listeners[${i}]`;
        if (listener.protocol === "TCP" || listener.protocol === "UDP") {
          report(
            `${at} carries clear-text ${listener.protocol}. Remove ${path}, or make it an HTTPS listener with tls.certificateRefs.`,
            gateway.resource.urn,
          );
          return;
        }
        if (listener.protocol !== "HTTPS" && listener.protocol !== "TLS") return;
        const mode = listener.tls?.mode ?? "Terminate";
        if (mode !== "Terminate") {
          if (listener.protocol === "HTTPS")
            report(
              `${at} is HTTPS with tls.mode ${literal(mode)}, so it terminates no TLS. Set ${path}.tls.mode to "Terminate" with certificateRefs.`,
              gateway.resource.urn,
            );
          return;
        }
        if (listener.protocol === "HTTPS" && !listener.hostname) {
          report(
            `${at} has no hostname, so no certificate can cover what it serves. Set ${path}.hostname to the one host it serves.`,
            gateway.resource.urn,
          );
        }
        const refs = listener.tls?.certificateRefs ?? [];
        if (refs.length === 0) {
          report(
            `${at} terminates TLS without a certificate. Set ${path}.tls.certificateRefs to [{ name: "<host>-tls" }] and annotate the Gateway with cert-manager.io/cluster-issuer.`,
            gateway.resource.urn,
          );
          return;
        }
        refs.forEach((ref, j) => {
          if (!issuedByCertManager(gateway, ref, listener.hostname, certificates)) {
            report(
              `${at} serves certificate Secret "${ref.namespace ?? gateway.namespace}/${ref.name}", which cert-manager does not issue for ${listener.hostname ?? "its host"} (${path}.tls.certificateRefs[${j}]). Set metadata.annotations["cert-manager.io/cluster-issuer"] on the Gateway to the ClusterIssuer's name, or add a cert-manager Certificate with spec.secretName "${ref.name}" and dnsNames covering the hostname.`,
              gateway.resource.urn,
            );
          }
        });
      });
    }
  },
};

export const gatewayHttpListenerRedirectOnly: PlinthStackPolicy = {
  name: "gateway-http-listener-redirect-only",
  description:
    "A Gateway's plain HTTP listener carries only routes that redirect to https: no HTTPRoute forwards a plain-HTTP request to a backend.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "The API, the admin surfaces or the sign-in flow answered over plain HTTP because a route attached to the HTTP listener as well as (or instead of) the HTTPS one: sessions and tokens readable on the wire.",
    answers: [NSA_CISA_TLS, "OWASP Transport Layer Security Cheat Sheet"],
    covers: `Stack-wide: every ${HTTPROUTE_V1} attached to a listener of protocol HTTP of a Gateway in the stack, as the Gateway API attaches it: a parentRef naming the Gateway (group, kind, namespace defaulting to the route's), its sectionName and port if set (a parentRef without sectionName attaches to every listener), the listener's allowedRoutes (namespaces from Same by default, All, or Selector matched against the stack's Namespace labels or the kubernetes.io/metadata.name label; kinds), and hostnames that intersect. Each of its rules must carry a RequestRedirect filter with scheme https; any other rule is reported.`,
    limits: `Routes attached to Gateways outside the stack are not judged. A Selector on labels of a namespace the stack does not declare is taken to admit the route (a possible false positive, never a miss). ${NOT_GATEWAY_READ}`,
    charts: GATEWAY_OBJECTS_IN_CHARTS,
    chartReach: "objects",
  },
  validateStack: (args, report) => {
    const gateways = gatewaysOf(args.resources);
    const namespaces = namespaceLabels(args.resources);
    for (const route of httpRoutesOf(args.resources)) {
      const plain = attachmentsOf(route, gateways, namespaces).filter((a) => a.listener.protocol === "HTTP");
      for (const attachment of plain) {
        route.rules.forEach((rule, i) => {
          if (redirectsToHttps(rule)) return;
          const backends = serviceBackendsOf(rule).map((ref) => `Service "${ref.name}"`);
          const ref = route.parentRefs[attachment.parentRef]!;
          report(
            `${where(route)} spec.rules[${i}] ${backends.length > 0 ? `forwards plain HTTP to ${backends.join(", ")}` : "answers plain HTTP"} on ${listenerAt(attachment.gateway, attachment.listener)} (through spec.parentRefs[${attachment.parentRef}]). ${ref.sectionName === undefined ? `Set spec.parentRefs[${attachment.parentRef}].sectionName to the Gateway's HTTPS listener` : `Attach the route to the Gateway's HTTPS listener (spec.parentRefs[${attachment.parentRef}].sectionName)`}; on the HTTP listener, only a rule with a RequestRedirect filter { scheme: "https", statusCode: 301 } belongs.`,
            route.resource.urn,
          );
        });
      }
    }
  },
};

export const gatewayHttpRedirect: PlinthStackPolicy = {
  name: "gateway-http-redirect",
  description: "Every plain HTTP listener of a Gateway redirects every request to https.",
  enforcementLevel: "mandatory",
  severity: "medium",
  metadata: {
    protectsAgainst:
      "Clients that type the host without https:// (and cookies without the Secure flag) talking plain HTTP, or getting a 404 that teaches users to ignore the scheme.",
    answers: [NSA_CISA_TLS, "OWASP Transport Layer Security Cheat Sheet"],
    covers: `Stack-wide: each listener of protocol HTTP of every ${GATEWAY_V1} must have an ${HTTPROUTE_V1} of the stack attached to it (attachment as gateway-http-listener-redirect-only reads it) with a rule that carries a RequestRedirect filter with scheme https and takes every request: no matches, or a match whose path is PathPrefix \`/\` (or unset) with no header, query or method condition.`,
    limits: `The redirect's hostnames are not compared with the hosts the HTTPS listeners serve, nor its port or status code judged; a Gateway without an HTTP listener needs no redirect (clients then get no answer on port 80). HSTS (the ResponseHeaderModifier on HTTPS routes) is not judged. ${NOT_GATEWAY_READ}`,
    charts: GATEWAY_OBJECTS_IN_CHARTS,
    chartReach: "objects",
  },
  validateStack: (args, report) => {
    const gateways = gatewaysOf(args.resources);
    const namespaces = namespaceLabels(args.resources);
    const attached = httpRoutesOf(args.resources).flatMap((route) =>
      attachmentsOf(route, gateways, namespaces).map((attachment) => ({ route, attachment })),
    );
    for (const gateway of gateways) {
      gateway.listeners.forEach((listener, i) => {
        if (listener.protocol !== "HTTP") return;
        const redirected = attached.some(
          ({ route, attachment }) =>
            // By URN and name: under the engine the policy SDK hands out a new object at every read
            // of a nested property, so the same listener is never the same object twice.
            attachment.gateway.resource.urn === gateway.resource.urn &&
            attachment.listener.name === listener.name &&
            route.rules.some((rule) => redirectsToHttps(rule) && takesEveryRequest(rule)),
        );
        if (!redirected) {
          report(
            `${listenerAt(gateway, listener)} (spec.listeners[${i}]) does not redirect HTTP to HTTPS. Add an HTTPRoute in namespace ${gateway.namespace} with parentRefs [{ name: "${gateway.name}", sectionName: "${listener.name}" }] and one rule whose only filter is { type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }.`,
            gateway.resource.urn,
          );
        }
      });
    }
  },
};

/** Hosts a route answers on: its own hostnames, else those of the listeners it attaches to, else any. */
function hostsOf(route: HTTPRouteView, listenerHosts: string[]): string[] {
  if (route.hostnames.length > 0) return route.hostnames;
  return listenerHosts.length > 0 ? listenerHosts : ["*"];
}

/** Whether a rule is oauth2-proxy's own sign-in path: PathPrefix /oauth2 to exactly the proxy's Service, unrewritten. */
function isSignInRule(
  route: HTTPRouteView,
  rule: HTTPRouteView["rules"][number],
  signInService: string,
): boolean {
  const backends = serviceBackendsOf(rule);
  return (
    backends.length > 0 &&
    backends.length === (rule.backendRefs ?? []).length &&
    backends.every((ref) => `${ref.namespace ?? route.namespace}/${ref.name}` === signInService) &&
    pathMatchesOf(rule).every((m) => m.type === "PathPrefix" && m.value === OAUTH2_PATH) &&
    (rule.matches ?? []).length > 0 &&
    filtersOf(rule).every(({ filter }) => filter.type !== "URLRewrite")
  );
}

export const gatewayAdminRoutesBehindOauth2Proxy: PlinthStackPolicy = {
  name: "gateway-admin-routes-behind-oauth2-proxy",
  description: `Admin routes of HTTPRoutes (the inference service's operator routes ${OPERATOR_PATH_LIST}, bare or under a model's name /models/<name>; MLflow, Grafana, Prometheus) carry an ExtensionRef filter to a Traefik Middleware of the stack that is, or chains to, a ForwardAuth asking oauth2-proxy's auth endpoint.`,
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: gatewayAdminConfig,
  metadata: {
    protectsAgainst:
      "Anyone on the internet reaching model management (MLflow), dashboards or the service's admin panel through the Gateway; a protection the pack cannot see (a Middleware declared elsewhere) standing in for one it can.",
    answers: [OWASP_AUTH, "anti-pattern: admin UI exposed without authentication"],
    configured:
      "protectedPathPrefixes, protectedBackendPattern, protectedHostPattern, signInService (shared with admin-paths-behind-oauth2-proxy), oauth2ProxyAuthUrl",
    covers: `Stack-wide: every rule of each ${HTTPROUTE_V1} that forwards to a Service (backendRefs of kind Service in the core group) and is not protected. Protected: one of the rule's own filters is an ExtensionRef to group ${TRAEFIK_MIDDLEWARE.group}, kind ${TRAEFIK_MIDDLEWARE.kind}, naming a ${MIDDLEWARE} of the stack in the route's namespace that has a forwardAuth whose address is oauth2ProxyAuthUrl (alone, or with a query of allowed_groups, allowed_emails or allowed_email_domains only), or a chain whose middlewares (namespace defaulting to the chain's) resolve so, followed recursively, with no errors middleware ahead of the check whose service is not oauth2-proxy's (the Service oauth2ProxyAuthUrl names: it would answer the requests oauth2-proxy turns away). Reported: a rule whose match path (no match is PathPrefix \`/\`) equals or lies below a protectedPathPrefixes entry or a model's operator route, one of whose Services matches protectedBackendPattern, or whose host (spec.hostnames, else the hostnames of the stack's listeners it attaches to) matches protectedHostPattern; except oauth2-proxy's sign-in rule (only PathPrefix \`${OAUTH2_PATH}\` matches, every backend exactly signInService as namespace/name, no URLRewrite).`,
    limits: `Paths are compared literally, as admin-paths-behind-oauth2-proxy compares them: a PathPrefix \`/\` or a regular expression to the inference Service is gateway-no-catch-all-to-inference's. A Middleware name with a provider suffix (\`name@file\`), or one not declared in the stack, is not followed and counts as unprotected. ExtensionRefs on backendRefs are not read (Traefik applies rule filters). Whether the ForwardAuth strips identity headers is forwardauth-strips-identity-headers'. ${NOT_GATEWAY_READ}`,
    charts: GATEWAY_OBJECTS_IN_CHARTS,
    chartReach: "objects",
  },
  validateStack: (args, report) => {
    const config = configOf<AdminConfig & { oauth2ProxyAuthUrl: string }>(gatewayAdminConfig, args);
    const gateways = gatewaysOf(args.resources);
    const namespaces = namespaceLabels(args.resources);
    const middlewares = middlewaresOf(args.resources);
    for (const route of httpRoutesOf(args.resources)) {
      const listenerHosts = attachmentsOf(route, gateways, namespaces).flatMap((a) =>
        a.listener.hostname ? [a.listener.hostname] : [],
      );
      const hosts = hostsOf(route, [...new Set(listenerHosts)]);
      route.rules.forEach((rule, i) => {
        const backends = serviceBackendsOf(rule);
        if (backends.length === 0) return;
        const protection = ruleProtection(rule, route.namespace, middlewares, config.oauth2ProxyAuthUrl);
        if (protection.protected || isSignInRule(route, rule, config.signInService)) return;
        const exposed = new Set<string>();
        pathMatchesOf(rule).forEach((match, j) => {
          const at = (rule.matches ?? []).length > 0 ? `spec.rules[${i}].matches[${j}]` : `spec.rules[${i}]`;
          for (const host of hosts)
            for (const backend of backends) {
              const reason = protectedReason({ host, path: match.value, service: backend.name }, config);
              if (reason) exposed.add(`${reason} (${at})`);
            }
        });
        if (exposed.size > 0) {
          report(
            `${where(route)} exposes ${[...exposed].join(", ")} without oauth2-proxy: ${protection.why}. ${protectFilterHint(route, i, config.oauth2ProxyAuthUrl)}.`,
            route.resource.urn,
          );
        }
      });
    }
  },
};

export const gatewayNoCatchAllToInference: PlinthStackPolicy = {
  name: "gateway-no-catch-all-to-inference",
  description:
    "Unprotected HTTPRoute rules send only explicit API paths (PathPrefix or Exact) to the inference service: never `/`, a regular expression, a rewrite onto an operator route, or a prefix that takes one in.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: gatewayCatchAllConfig,
  metadata: {
    protectsAgainst:
      "A catch-all `/` on the public host also exposing the service's /admin and /ops routes through the Gateway, where a client could forge X-Auth-Request-Email because oauth2-proxy never saw the request.",
    answers: [OWASP_AUTH, "anti-pattern: catch-all route to a service that also serves admin paths"],
    configured: "inferenceBackendPattern (shared with no-catch-all-to-inference), oauth2ProxyAuthUrl",
    covers: `Stack-wide: every rule of each ${HTTPROUTE_V1} with a Service backendRef whose name matches inferenceBackendPattern, unless the rule is protected as gateway-admin-routes-behind-oauth2-proxy reads it. Reported per match (no match is PathPrefix \`/\`): a PathPrefix \`/\`; any RegularExpression (its matching is implementation-specific, and Traefik does not anchor it); a PathPrefix or Exact path that the Gateway API's matching (Exact as equality, PathPrefix by whole path segments, case-sensitively) sends ${OPERATOR_PATH_LIST}, a path below a prefix among them, or the same under /models/<name>, to. Reported per rule: a URLRewrite filter (the rule's or a backendRef's) whose ReplaceFullPath is an operator route, or whose ReplacePrefixMatch can lead into one (\`/\`, \`/models/<name>\`).`,
    limits: `Only the operator paths of service/contract/operator-paths.ts are tried, with one sample path below each prefix. Header, query and method conditions of a match are ignored (they narrow, never widen). ${NOT_GATEWAY_READ}`,
    charts: GATEWAY_OBJECTS_IN_CHARTS,
    chartReach: "objects",
  },
  validateStack: (args, report) => {
    const config = configOf<{ inferenceBackendPattern: string; oauth2ProxyAuthUrl: string }>(
      gatewayCatchAllConfig,
      args,
    );
    const inference = new RegExp(config.inferenceBackendPattern);
    const middlewares = middlewaresOf(args.resources);
    for (const route of httpRoutesOf(args.resources)) {
      route.rules.forEach((rule, i) => {
        const targets = serviceBackendsOf(rule).filter((ref) => inference.test(ref.name));
        if (targets.length === 0) return;
        if (ruleProtection(rule, route.namespace, middlewares, config.oauth2ProxyAuthUrl).protected) return;
        const service = targets.map((ref) => `"${ref.name}"`).join(", ");
        const to = `to the inference Service ${service} without oauth2-proxy`;
        for (const { filter, at } of filtersOf(rule)) {
          const path = filter.type === "URLRewrite" ? filter.urlRewrite?.path : undefined;
          if (!path) continue;
          const full = path.type === "ReplaceFullPath" ? path.replaceFullPath : undefined;
          const prefix = path.type === "ReplacePrefixMatch" ? path.replacePrefixMatch : undefined;
          if (
            (full !== undefined && isOperatorPath(full)) ||
            (prefix !== undefined && mayReachOperatorPath(prefix))
          ) {
            report(
              `${where(route)} spec.rules[${i}].${at} rewrites public paths to ${literal(full ?? prefix)} ${to}: a request can be rewritten onto an operator route (${OPERATOR_PATH_LIST}). Remove the URLRewrite filter or rewrite to a fixed public path.`,
              route.resource.urn,
            );
          }
        }
        pathMatchesOf(rule).forEach((match, j) => {
          const at =
            (rule.matches ?? []).length > 0
              ? `spec.rules[${i}].matches[${j}]`
              : `spec.rules[${i}] (no matches: PathPrefix "/")`;
          if (match.type === "RegularExpression") {
            report(
              `${where(route)} ${at} sends the regular expression ${literal(match.value)} ${to}: it may match an operator route (${OPERATOR_PATH_LIST}). Use PathPrefix or Exact matches of the public API paths.`,
              route.resource.urn,
            );
            return;
          }
          if (match.type === "PathPrefix" && match.value.replace(/\/+$/, "") === "") {
            report(
              `${where(route)} ${at} sends every path ${to}. Match only the public API prefixes (e.g. PathPrefix /predict, /v2).`,
              route.resource.urn,
            );
            return;
          }
          const pathType = match.type === "Exact" ? "Exact" : "Prefix";
          const reached = operatorSamples(match.value).filter((sample) =>
            nginxMatches({ host: "*", path: match.value, pathType, service: "", at }, sample, false),
          );
          if (reached.length > 0) {
            report(
              `${where(route)} ${at} (${match.type} ${literal(match.value)}) sends the operator route${reached.length > 1 ? "s" : ""} ${reached.join(", ")} ${to}. Narrow the match to the public API, or protect the rule with the oauth2-proxy Middleware.`,
              route.resource.urn,
            );
          }
        });
      });
    }
  },
};

export const gatewayProtectedRoutesRateLimited: PlinthStackPolicy = {
  name: "gateway-protected-routes-rate-limited",
  description:
    "Every HTTPRoute rule behind oauth2-proxy limits each client's rate before the edge asks oauth2-proxy: a Traefik rateLimit Middleware comes before the ForwardAuth in what its ExtensionRef filters apply.",
  enforcementLevel: "mandatory",
  severity: "medium",
  configSchema: gatewayAuthConfig,
  metadata: {
    protectsAgainst:
      "One client, signed in or not, making oauth2-proxy (and its session store) answer an auth sub-request for every request it can send to an admin route: the edge's own check turned into a way to exhaust the sign-in service for everyone.",
    answers: ["OWASP API Security Top 10 (API4:2023 Unrestricted Resource Consumption)"],
    configured: "oauth2ProxyAuthUrl (shared with gateway-admin-routes-behind-oauth2-proxy)",
    covers: `Stack-wide: every rule of each ${HTTPROUTE_V1} that is protected as gateway-admin-routes-behind-oauth2-proxy reads it. The Middlewares its own ExtensionRef filters (group ${TRAEFIK_MIDDLEWARE.group}, kind ${TRAEFIK_MIDDLEWARE.kind}) apply are listed in Traefik's order, each filter in turn and a chain replaced by its links (namespace defaulting to the chain's, followed recursively); a ${MIDDLEWARE} with spec.rateLimit.average above 0 must come before the first forwardAuth whose address is oauth2ProxyAuthUrl (alone or narrowed by allowed_groups, allowed_emails or allowed_email_domains).`,
    limits: `The limit's values, its sourceCriterion and its period are not judged (the program's are pinned by its tests), nor whether Traefik keeps it per replica. A limit set in Traefik's static configuration on the entry point, or by a Middleware of another provider (\`name@file\`), is not seen and counts as none. Unprotected routes (oauth2-proxy's own /oauth2, the public API) need no limit here. ${NOT_GATEWAY_READ}`,
    charts: GATEWAY_OBJECTS_IN_CHARTS,
    chartReach: "objects",
  },
  validateStack: (args, report) => {
    const config = configOf<{ oauth2ProxyAuthUrl: string }>(gatewayAuthConfig, args);
    const middlewares = middlewaresOf(args.resources);
    for (const route of httpRoutesOf(args.resources)) {
      route.rules.forEach((rule, i) => {
        if (!ruleProtection(rule, route.namespace, middlewares, config.oauth2ProxyAuthUrl).protected) return;
        const applied = appliedMiddlewares(rule, route.namespace, middlewares);
        const auth = applied.findIndex((m) =>
          isOauth2ProxyAuth(m.spec.forwardAuth?.address, config.oauth2ProxyAuthUrl),
        );
        const limit = applied.findIndex(limitsRate);
        if (limit >= 0 && limit < auth) return;
        const order = applied.map((m) => `${m.namespace}/${m.name}`).join(", ");
        report(
          `${where(route)} spec.rules[${i}] asks oauth2-proxy with no rate limit per client before it (its Middlewares, in order: ${order}). Declare a Middleware "${route.name}-rate-limit" in namespace ${route.namespace} with spec.rateLimit { average, burst, sourceCriterion: { ipStrategy: {} } } and make it the first link of the chain its ExtensionRef names.`,
          route.resource.urn,
        );
      });
    }
  },
};

export const forwardAuthStripsIdentityHeaders: PlinthResourcePolicy = {
  name: "forwardauth-strips-identity-headers",
  description: `Every Traefik ForwardAuth Middleware replaces the identity headers (${IDENTITY_HEADERS.join(", ")}) with the auth server's answer, and does not trust the client's X-Forwarded-* headers.`,
  enforcementLevel: "mandatory",
  severity: "critical",
  metadata: {
    protectsAgainst:
      "A signed-in user (or anyone, where oauth2-proxy answers 2xx) sending X-Auth-Request-Email or -Groups and being whoever they name on an admin route; forged X-Forwarded-* steering the auth check.",
    answers: [
      OWASP_AUTH,
      "oauth2-proxy documentation: configuring Traefik ForwardAuth (authResponseHeaders)",
    ],
    covers: `Every ${MIDDLEWARE} with spec.forwardAuth: trustForwardHeader must not be true, and each of ${IDENTITY_HEADERS.join(", ")} (components/oauth2-proxy AUTH_RESPONSE_HEADERS, the headers oauth2-proxy answers with and the service reads) must be listed in authResponseHeaders (case-insensitively) or matched by authResponseHeadersRegex (tried, as Traefik tries it, on the canonical header name; a leading \`(?i)\` read as Go reads it). The program's regex is ${literal(IDENTITY_HEADER_REGEX)}.`,
    limits: `A regular expression is read with JavaScript's engine: Go syntax it does not accept counts as stripping nothing. Headers oauth2-proxy may send beyond those three (X-Auth-Request-Preferred-Username, -Access-Token) are not required. Whether a route uses the Middleware is gateway-admin-routes-behind-oauth2-proxy's. ${NOT_GATEWAY_READ}`,
    charts: chartObjectsChecked("Middlewares"),
    chartReach: "objects",
  },
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (!isTraefikMiddleware(args.type))
      return args.notApplicable("Policy only applies to Traefik Middlewares");
    const middleware = middlewareOf(args);
    const forwardAuth = middleware.spec.forwardAuth;
    if (!forwardAuth) return;
    const name = describe("Middleware", middleware.name, middleware.namespace);
    if (forwardAuth.trustForwardHeader === true) {
      report(
        `${name} trusts the client's X-Forwarded-* headers (spec.forwardAuth.trustForwardHeader true). Set spec.forwardAuth.trustForwardHeader to false.`,
      );
    }
    const kept = identityHeadersKept(forwardAuth);
    if (kept.length > 0) {
      report(
        `${name} lets the client's ${kept.join(", ")} through to the backend: neither spec.forwardAuth.authResponseHeaders lists ${kept.length > 1 ? "them" : "it"} nor spec.forwardAuth.authResponseHeadersRegex matches ${kept.length > 1 ? "them" : "it"}. Set spec.forwardAuth.authResponseHeadersRegex to ${literal(IDENTITY_HEADER_REGEX)}.`,
      );
    }
  },
};

export const edgeSetsNoIdentityHeaders: PlinthResourcePolicy = {
  name: "edge-sets-no-identity-headers",
  description:
    "No HTTPRoute filter and no Traefik headers Middleware sets or adds an X-Auth-Request-* request header: only oauth2-proxy's answer may carry who the user is.",
  enforcementLevel: "mandatory",
  severity: "critical",
  metadata: {
    protectsAgainst:
      "An identity written into every request by the edge itself (a RequestHeaderModifier setting X-Auth-Request-Email), making every caller an operator, or a header added after the ForwardAuth replaced it.",
    answers: [OWASP_AUTH, "anti-pattern: identity headers set by configuration"],
    covers: `Every ${HTTPROUTE_V1}: each RequestHeaderModifier filter (the rules' and the backendRefs') whose set or add names a header matching X-Auth-Request-* case-insensitively. Every ${MIDDLEWARE} with spec.headers.customRequestHeaders naming such a header with a non-empty value (an empty value removes the header, which passes). Removing those headers (RequestHeaderModifier remove) passes.`,
    limits: `Headers set by a Middleware of another kind (a plugin), by Traefik's static configuration, or by the backend Service itself are not seen. ${NOT_GATEWAY_READ}`,
    charts: chartObjectsChecked("HTTPRoutes and Middlewares"),
    chartReach: "objects",
  },
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (isTraefikMiddleware(args.type)) {
      const middleware = middlewareOf(args);
      for (const [header, value] of Object.entries(middleware.spec.headers?.customRequestHeaders ?? {})) {
        if (IDENTITY_HEADER_NAME.test(header) && value !== "") {
          report(
            `${describe("Middleware", middleware.name, middleware.namespace)} sets the identity header ${header} on every request (spec.headers.customRequestHeaders). Remove spec.headers.customRequestHeaders[${literal(header)}]: only oauth2-proxy's ForwardAuth answer may carry it.`,
          );
        }
      }
      return;
    }
    if (gatewayApiKind(args.type) !== "HTTPRoute")
      return args.notApplicable("Policy only applies to HTTPRoutes and Traefik Middlewares");
    const route = httpRouteOf(args);
    route.rules.forEach((rule, i) => {
      for (const { filter, at } of filtersOf(rule)) {
        if (filter.type !== "RequestHeaderModifier") continue;
        for (const op of ["set", "add"] as const) {
          for (const header of filter.requestHeaderModifier?.[op] ?? []) {
            if (!IDENTITY_HEADER_NAME.test(header.name)) continue;
            report(
              `${where(route)} spec.rules[${i}].${at} ${op === "set" ? "sets" : "adds"} the identity header ${header.name}. Remove it from requestHeaderModifier.${op}: only oauth2-proxy's ForwardAuth answer may carry it.`,
            );
          }
        }
      }
    });
  },
};

export const gatewayListenerNamespacesRestricted: PlinthResourcePolicy = {
  name: "gateway-listener-namespaces-restricted",
  description:
    "No Gateway listener admits routes from every namespace: allowedRoutes.namespaces is Same (the default) or a Selector naming namespaces.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Any workload's namespace (a team's, a compromised one) attaching an HTTPRoute to the public Gateway and publishing itself, or taking over a host, on the internet without TLS or auth review.",
    answers: [
      "Gateway API documentation: security model (allowedRoutes and the role of the cluster operator)",
      "anti-pattern: shared gateway open to every namespace",
    ],
    covers: `${GATEWAY_V1}: each spec.listeners[].allowedRoutes.namespaces: from must not be All; from Selector needs a selector, and one that matches a namespace carrying only its kubernetes.io/metadata.name label (empty, NotIn, Exists on that label, DoesNotExist on another) admits every namespace and is reported.`,
    limits: `A selector on a label that every namespace of one cluster happens to carry is taken as narrow. ${NOT_GATEWAY_READ}`,
    charts: chartObjectsChecked("Gateways"),
    chartReach: "objects",
  },
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (gatewayApiKind(args.type) !== "Gateway") return args.notApplicable("Policy only applies to Gateways");
    const gateway = gatewayOf(args);
    gateway.listeners.forEach((listener, i) => {
      const namespaces = listener.allowedRoutes?.namespaces;
      const path = `spec.listeners[${i}].allowedRoutes.namespaces`;
      const fix = `Set ${path} to { from: "Selector", selector: { matchLabels: { "kubernetes.io/metadata.name": "<namespace>" } } } (or "Same").`;
      if (namespaces?.from === "All") {
        report(
          `${listenerAt(gateway, listener)} admits routes from every namespace (${path}.from "All"). ${fix}`,
        );
      } else if (
        namespaces?.from === "Selector" &&
        (!namespaces.selector || admitsEveryNamespace(namespaces.selector))
      ) {
        report(
          `${listenerAt(gateway, listener)} admits routes from every namespace (${path}.selector ${namespaces.selector ? "matches any namespace" : "is missing"}). ${fix}`,
        );
      }
    });
  },
};

export const gatewayApiPolicies: PlinthPolicy[] = [
  gatewayListenerTls,
  gatewayHttpListenerRedirectOnly,
  gatewayHttpRedirect,
  gatewayAdminRoutesBehindOauth2Proxy,
  gatewayNoCatchAllToInference,
  gatewayProtectedRoutesRateLimited,
  forwardAuthStripsIdentityHeaders,
  edgeSetsNoIdentityHeaders,
  gatewayListenerNamespacesRestricted,
];
