/**
 * How the Gateway API (gateway.networking.k8s.io, any version) and Traefik's Middleware
 * (traefik.io) read, for every policy: a Gateway's listeners, which listeners an HTTPRoute attaches
 * to (parentRefs by name, sectionName and port; allowedRoutes by namespace and kind; hostnames that
 * intersect), what a rule matches (no match is PathPrefix `/`), where it sends a request, and whether
 * it sits behind oauth2-proxy (an ExtensionRef to a Middleware that is, or chains to, a ForwardAuth
 * at oauth2-proxy's auth endpoint, resolved through the stack's own Middlewares).
 */
import type { PolicyResource } from "@pulumi/policy";
import { AUTH_HEADERS_REGEX, TRAEFIK_MIDDLEWARE } from "../../components/gateway/traefik.js";
import { AUTH_RESPONSE_HEADERS } from "../../components/oauth2-proxy/contract.js";
import {
  type LabelSelector,
  metadataOf,
  NAMESPACE_NAME_LABEL,
  namespaceOf,
  objectName,
  selects,
} from "./kubernetes.js";

export const GATEWAY_GROUP = "gateway.networking.k8s.io";

/** What a view is read from: a stack's resource, or the resource a resource policy validates. */
export type Subject = Pick<PolicyResource, "props" | "name" | "urn">;

const GATEWAY_API_TYPE = /^kubernetes:gateway\.networking\.k8s\.io\/[^:]+:([A-Za-z]+)$/;
const TRAEFIK_TYPE = /^kubernetes:traefik\.io\/[^:]+:([A-Za-z]+)$/;

/** The Gateway API kind a resource type names (any version), or undefined. */
export function gatewayApiKind(type: string): string | undefined {
  return GATEWAY_API_TYPE.exec(type)?.[1];
}

/** Whether a resource type is Traefik's Middleware (traefik.io, any version). */
export function isTraefikMiddleware(type: string): boolean {
  return TRAEFIK_TYPE.exec(type)?.[1] === TRAEFIK_MIDDLEWARE.kind;
}

/** For the catalog: the resources these rules read, by type. */
export const GATEWAY_V1 =
  "Gateway of gateway.networking.k8s.io (any version: `kubernetes:gateway.networking.k8s.io/<version>:Gateway`)";
export const HTTPROUTE_V1 =
  "HTTPRoute of gateway.networking.k8s.io (any version: `kubernetes:gateway.networking.k8s.io/<version>:HTTPRoute`)";
export const MIDDLEWARE =
  "Traefik Middleware of traefik.io (any version: `kubernetes:traefik.io/<version>:Middleware`)";
/** For the catalog: what no Gateway rule reads. */
export const NOT_GATEWAY_READ =
  "GRPCRoute, TLSRoute, TCPRoute and UDPRoute, ListenerSets, `<Kind>Patch` resources, Middlewares of the retired traefik.containo.us group, and middlewares Traefik attaches to an entry point in its static configuration are not read.";

/** A parentRef, with the API's defaults filled in. */
export interface ParentRef {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface Listener {
  name: string;
  port: number;
  protocol: string;
  hostname?: string;
  tls?: {
    mode?: string;
    certificateRefs?: { group?: string; kind?: string; name: string; namespace?: string }[];
  };
  allowedRoutes?: {
    namespaces?: { from?: string; selector?: LabelSelector };
    kinds?: { group?: string; kind: string }[];
  };
}

export interface GatewayView {
  resource: Subject;
  name: string;
  namespace: string;
  annotations: Record<string, string>;
  listeners: Listener[];
}

export interface PathMatch {
  type: string;
  value: string;
}

export interface HTTPRouteMatch {
  path?: { type?: string; value?: string };
  headers?: unknown[];
  queryParams?: unknown[];
  method?: string;
}

export interface HTTPRouteFilter {
  type: string;
  requestRedirect?: {
    scheme?: string;
    hostname?: string;
    path?: unknown;
    port?: number;
    statusCode?: number;
  };
  urlRewrite?: {
    hostname?: string;
    path?: { type: string; replaceFullPath?: string; replacePrefixMatch?: string };
  };
  requestHeaderModifier?: {
    set?: { name: string; value: string }[];
    add?: { name: string; value: string }[];
  };
  extensionRef?: { group: string; kind: string; name: string };
}

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  filters?: HTTPRouteFilter[];
}

export interface HTTPRouteRule {
  matches?: HTTPRouteMatch[];
  filters?: HTTPRouteFilter[];
  backendRefs?: BackendRef[];
}

export interface HTTPRouteView {
  resource: Subject;
  name: string;
  namespace: string;
  parentRefs: ParentRef[];
  hostnames: string[];
  rules: HTTPRouteRule[];
}

/** `HTTPRoute "admin" (namespace plinth)`: how a finding names an object of a namespace. */
export function describe(kind: string, name: string, namespace: string): string {
  return `${kind} "${name}" (namespace ${namespace})`;
}

function specOf(props: Record<string, unknown>): Record<string, unknown> {
  return (props.spec ?? {}) as Record<string, unknown>;
}

export function gatewayOf(resource: Subject): GatewayView {
  const props = resource.props as Record<string, unknown>;
  return {
    resource,
    name: objectName(props, resource.name),
    namespace: namespaceOf(props),
    annotations: (metadataOf(props).annotations ?? {}) as Record<string, string>,
    listeners: (specOf(props).listeners ?? []) as Listener[],
  };
}

export function httpRouteOf(resource: Subject): HTTPRouteView {
  const props = resource.props as Record<string, unknown>;
  const namespace = namespaceOf(props);
  const spec = specOf(props);
  const parentRefs = ((spec.parentRefs ?? []) as Partial<ParentRef>[]).map((ref) => ({
    ...ref,
    group: ref.group ?? GATEWAY_GROUP,
    kind: ref.kind ?? "Gateway",
    namespace: ref.namespace ?? namespace,
    name: ref.name ?? "",
  }));
  return {
    resource,
    name: objectName(props, resource.name),
    namespace,
    parentRefs,
    hostnames: (spec.hostnames ?? []) as string[],
    rules: (spec.rules ?? []) as HTTPRouteRule[],
  };
}

export function gatewaysOf(resources: PolicyResource[]): GatewayView[] {
  return resources.filter((r) => gatewayApiKind(r.type) === "Gateway").map(gatewayOf);
}

export function httpRoutesOf(resources: PolicyResource[]): HTTPRouteView[] {
  return resources.filter((r) => gatewayApiKind(r.type) === "HTTPRoute").map(httpRouteOf);
}

/** The path matches of a rule: no match, or a match without a path, is PathPrefix `/` (the API's default). */
export function pathMatchesOf(rule: HTTPRouteRule): PathMatch[] {
  const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{}];
  return matches.map((match) => ({
    type: match.path?.type ?? "PathPrefix",
    value: match.path?.value ?? "/",
  }));
}

/** The Services a rule forwards to (a backendRef's kind defaults to Service in the core group). */
export function serviceBackendsOf(rule: HTTPRouteRule): BackendRef[] {
  return (rule.backendRefs ?? []).filter(
    (ref) => (ref.group ?? "") === "" && (ref.kind ?? "Service") === "Service",
  );
}

/** A rule's RequestRedirect filter to https, if it has one: such a rule answers every request with a redirect. */
export function redirectsToHttps(rule: HTTPRouteRule): boolean {
  return (rule.filters ?? []).some(
    (filter) =>
      filter.type === "RequestRedirect" && filter.requestRedirect?.scheme?.toLowerCase() === "https",
  );
}

/** Whether a redirect rule takes every request of its listener: no match, or a bare PathPrefix `/` one. */
export function takesEveryRequest(rule: HTTPRouteRule): boolean {
  const matches = rule.matches ?? [];
  if (matches.length === 0) return true;
  return matches.some(
    (match) =>
      (match.path === undefined || (match.path.type ?? "PathPrefix") === "PathPrefix") &&
      (match.path?.value ?? "/").replace(/\/+$/, "") === "" &&
      (match.headers ?? []).length === 0 &&
      (match.queryParams ?? []).length === 0 &&
      match.method === undefined,
  );
}

/**
 * Whether two hostnames (a listener's and a route's) can name the same request host. A leading
 * `*.` stands for one or more labels, as the Gateway API reads it (`*.example.com` matches
 * `a.b.example.com`, never `example.com`).
 */
export function hostnamesIntersect(a: string, b: string): boolean {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  if (x === y) return true;
  const suffix = (wild: string) => wild.slice(1); // ".example.com"
  if (x.startsWith("*.") && y.startsWith("*."))
    return suffix(x).endsWith(suffix(y)) || suffix(y).endsWith(suffix(x));
  if (x.startsWith("*.")) return y.endsWith(suffix(x));
  if (y.startsWith("*.")) return x.endsWith(suffix(y));
  return false;
}

/** The namespaces the stack declares (core/v1 Namespace), by name, with their labels. */
export function namespaceLabels(resources: PolicyResource[]): Map<string, Record<string, string>> {
  const found = new Map<string, Record<string, string>>();
  for (const r of resources.filter((r) => r.type === "kubernetes:core/v1:Namespace")) {
    const name = objectName(r.props as Record<string, unknown>, r.name);
    found.set(name, {
      ...(metadataOf(r.props as Record<string, unknown>).labels ?? {}),
      [NAMESPACE_NAME_LABEL]: name,
    });
  }
  return found;
}

/**
 * Whether a listener's allowedRoutes admits routes from `namespace`. `from` defaults to Same. A
 * Selector is matched against the namespace's labels when the stack declares it; otherwise against
 * its name label alone when the selector reads nothing else, and taken to admit it when it reads
 * labels the pack cannot see (a rule that looks for a forwarding route must not miss one).
 */
export function admitsNamespace(
  listener: Listener,
  gatewayNamespace: string,
  namespace: string,
  namespaces: Map<string, Record<string, string>>,
): boolean {
  const from = listener.allowedRoutes?.namespaces?.from ?? "Same";
  if (from === "All") return true;
  if (from === "Same") return namespace === gatewayNamespace;
  if (from !== "Selector") return false;
  const selector = listener.allowedRoutes?.namespaces?.selector;
  if (!selector) return false;
  const declared = namespaces.get(namespace);
  if (declared) return selects(selector, declared);
  const keys = [
    ...Object.keys(selector.matchLabels ?? {}),
    ...(selector.matchExpressions ?? []).map((expression) => expression.key),
  ];
  if (keys.some((key) => key !== NAMESPACE_NAME_LABEL)) return true;
  return selects(selector, { [NAMESPACE_NAME_LABEL]: namespace });
}

/** Whether a listener accepts HTTPRoutes: its allowedRoutes.kinds, else its protocol's default kinds. */
function admitsHTTPRoute(listener: Listener): boolean {
  const kinds = listener.allowedRoutes?.kinds;
  if (kinds && kinds.length > 0)
    return kinds.some((k) => k.kind === "HTTPRoute" && (k.group ?? GATEWAY_GROUP) === GATEWAY_GROUP);
  return listener.protocol === "HTTP" || listener.protocol === "HTTPS";
}

export interface Attachment {
  gateway: GatewayView;
  listener: Listener;
  /** Index of the parentRef that attaches it. */
  parentRef: number;
}

/**
 * The listeners of the stack's Gateways a route attaches to: named by a parentRef (group, kind,
 * namespace, name; sectionName and port narrowing it to listeners), admitting the route's namespace
 * and kind, and with a hostname the route's hostnames intersect (a route or listener without
 * hostnames takes any).
 */
export function attachmentsOf(
  route: HTTPRouteView,
  gateways: GatewayView[],
  namespaces: Map<string, Record<string, string>>,
): Attachment[] {
  const found: Attachment[] = [];
  route.parentRefs.forEach((ref, i) => {
    if (ref.group !== GATEWAY_GROUP || ref.kind !== "Gateway") return;
    for (const gateway of gateways) {
      if (gateway.name !== ref.name || gateway.namespace !== ref.namespace) continue;
      for (const listener of gateway.listeners) {
        if (ref.sectionName !== undefined && ref.sectionName !== listener.name) continue;
        if (ref.port !== undefined && ref.port !== listener.port) continue;
        if (!admitsHTTPRoute(listener)) continue;
        if (!admitsNamespace(listener, gateway.namespace, route.namespace, namespaces)) continue;
        if (
          listener.hostname &&
          route.hostnames.length > 0 &&
          !route.hostnames.some((host) => hostnamesIntersect(listener.hostname!, host))
        )
          continue;
        found.push({ gateway, listener, parentRef: i });
      }
    }
  });
  return found;
}

/** oauth2-proxy's auth-endpoint query parameters that narrow who is let through (never widen). */
const NARROWING_QUERY = new Set(["allowed_groups", "allowed_emails", "allowed_email_domains"]);

/**
 * Whether a ForwardAuth address is oauth2-proxy's auth endpoint: `authUrl` itself, or with a query
 * made only of the parameters that narrow who passes (`?allowed_groups=admins`).
 */
export function isOauth2ProxyAuth(address: unknown, authUrl: string): boolean {
  if (typeof address !== "string") return false;
  const [base, query] = address.split(/\?(.*)/s, 2) as [string, string | undefined];
  if (base !== authUrl) return false;
  if (query === undefined) return true;
  const params = [...new URLSearchParams(query).keys()];
  return params.length > 0 && params.every((key) => NARROWING_QUERY.has(key));
}

interface MiddlewareSpec {
  forwardAuth?: {
    address?: string;
    trustForwardHeader?: boolean;
    authResponseHeaders?: string[];
    authResponseHeadersRegex?: string;
  };
  chain?: { middlewares?: { name: string; namespace?: string }[] };
  headers?: { customRequestHeaders?: Record<string, string> };
  rateLimit?: { average?: number; burst?: number; period?: string | number };
  errors?: { service?: { name?: string; namespace?: string; port?: number | string } };
}

/**
 * Whether an Errors middleware's page comes from oauth2-proxy: the Service the auth URL names
 * (`http://<name>.<namespace>.svc...:<port>/oauth2/auth`), the middleware's namespace by default.
 */
function isOauth2ProxyService(
  service: NonNullable<MiddlewareSpec["errors"]>["service"],
  middlewareNamespace: string,
  authUrl: string,
): boolean {
  const url = new URL(authUrl);
  const [name, namespace] = url.hostname.split(".");
  if (service === undefined) return false;
  return (
    service.name === name &&
    (service.namespace ?? middlewareNamespace) === namespace &&
    (service.port === undefined || String(service.port) === url.port)
  );
}

export interface MiddlewareView {
  resource: Subject;
  name: string;
  namespace: string;
  spec: MiddlewareSpec;
}

export function middlewareOf(resource: Subject): MiddlewareView {
  const props = resource.props as Record<string, unknown>;
  return {
    resource,
    name: objectName(props, resource.name),
    namespace: namespaceOf(props),
    spec: specOf(props) as MiddlewareSpec,
  };
}

export function middlewaresOf(resources: PolicyResource[]): Map<string, MiddlewareView> {
  const found = new Map<string, MiddlewareView>();
  for (const r of resources.filter((r) => isTraefikMiddleware(r.type))) {
    const view = middlewareOf(r);
    found.set(`${view.namespace}/${view.name}`, view);
  }
  return found;
}

/** What a rule's ExtensionRef filters come to: protected, or why not. */
export type Protection = { protected: true } | { protected: false; why: string };

/**
 * Whether the Middleware `namespace/name` is, or chains to, a ForwardAuth at oauth2-proxy's auth
 * endpoint; `why` names what it resolved to otherwise. A name Traefik would read as another
 * provider's (`name@file`) or a Middleware not in the stack cannot be judged: not protected.
 */
function resolves(
  namespace: string,
  name: string,
  middlewares: Map<string, MiddlewareView>,
  authUrl: string,
  seen: Set<string>,
): Protection {
  const key = `${namespace}/${name}`;
  if (seen.has(key)) return { protected: false, why: `Middleware ${key} chains back to itself` };
  seen.add(key);
  const middleware = name.includes("@") ? undefined : middlewares.get(key);
  if (!middleware)
    return { protected: false, why: `Middleware ${key} is not in the stack, so what it does cannot be seen` };
  const { forwardAuth, chain } = middleware.spec;
  if (forwardAuth) {
    return isOauth2ProxyAuth(forwardAuth.address, authUrl)
      ? { protected: true }
      : {
          protected: false,
          why: `Middleware ${key} asks ${JSON.stringify(forwardAuth.address ?? null)}, not oauth2-proxy's ${authUrl}`,
        };
  }
  if (chain) {
    const reasons: string[] = [];
    for (const link of chain.middlewares ?? []) {
      // An Errors middleware ahead of the check answers the requests oauth2-proxy turns away: with
      // anything but oauth2-proxy's own sign-in, a client gets another Service's page (and that
      // Service the client's headers) instead of a sign-in.
      const linkNamespace = link.namespace ?? namespace;
      const errors = middlewares.get(`${linkNamespace}/${link.name}`)?.spec.errors;
      if (errors && !isOauth2ProxyService(errors.service, linkNamespace, authUrl)) {
        return {
          protected: false,
          why: `Middleware ${linkNamespace}/${link.name} in ${key} answers refused requests with Service ${JSON.stringify(errors.service?.name ?? null)}'s page, not oauth2-proxy's sign-in`,
        };
      }
      const result = resolves(linkNamespace, link.name, middlewares, authUrl, seen);
      if (result.protected) return result;
      reasons.push(result.why);
    }
    return {
      protected: false,
      why: `Middleware ${key} chains to no ForwardAuth at oauth2-proxy${reasons.length > 0 ? ` (${reasons.join("; ")})` : ""}`,
    };
  }
  return { protected: false, why: `Middleware ${key} is neither a ForwardAuth nor a Chain` };
}

/**
 * Whether a rule sits behind oauth2-proxy: one of its own filters (not a backendRef's) is an
 * ExtensionRef to a traefik.io Middleware that resolves to a ForwardAuth at `authUrl`.
 */
export function ruleProtection(
  rule: HTTPRouteRule,
  routeNamespace: string,
  middlewares: Map<string, MiddlewareView>,
  authUrl: string,
): Protection {
  const refs = (rule.filters ?? []).flatMap((filter) =>
    filter.type === "ExtensionRef" && filter.extensionRef ? [filter.extensionRef] : [],
  );
  const reasons: string[] = [];
  for (const ref of refs) {
    if (ref.group !== TRAEFIK_MIDDLEWARE.group || ref.kind !== TRAEFIK_MIDDLEWARE.kind) {
      reasons.push(`the ExtensionRef to ${ref.group}/${ref.kind} "${ref.name}" is not a Traefik Middleware`);
      continue;
    }
    const result = resolves(routeNamespace, ref.name, middlewares, authUrl, new Set());
    if (result.protected) return result;
    reasons.push(result.why);
  }
  return {
    protected: false,
    why: reasons.length > 0 ? reasons.join("; ") : "it has no ExtensionRef filter to a Middleware",
  };
}

/**
 * Request headers that carry who the user is: a client must never bring one (the service believes
 * X-Auth-Request-Email and -Groups behind oauth2-proxy). The regex every ForwardAuth should strip
 * them with, and the headers an explicit list must name.
 */
export const IDENTITY_HEADER_REGEX = AUTH_HEADERS_REGEX;
export const IDENTITY_HEADERS: readonly string[] = AUTH_RESPONSE_HEADERS;
/** Any X-Auth-Request-* header name, as a client could spell it (header names are case-insensitive). */
export const IDENTITY_HEADER_NAME = /^x-auth-request-/i;

/**
 * The identity headers a ForwardAuth leaves as the client sent them. Traefik deletes each request
 * header listed in authResponseHeaders, and each whose canonical name (`X-Auth-Request-Email`) the
 * Go regular expression authResponseHeadersRegex matches, before copying oauth2-proxy's answer. A
 * leading `(?i)` is read as Go does; a pattern JavaScript cannot read strips nothing here.
 */
export function identityHeadersKept(forwardAuth: NonNullable<MiddlewareSpec["forwardAuth"]>): string[] {
  const listed = new Set((forwardAuth.authResponseHeaders ?? []).map((h) => h.trim().toLowerCase()));
  let regex: RegExp | undefined;
  const source = forwardAuth.authResponseHeadersRegex;
  if (source) {
    const insensitive = source.startsWith("(?i)");
    try {
      regex = new RegExp(insensitive ? source.slice(4) : source, insensitive ? "i" : "");
    } catch {
      regex = undefined;
    }
  }
  return IDENTITY_HEADERS.filter((header) => !listed.has(header.toLowerCase()) && !regex?.test(header));
}

/**
 * The Middlewares a rule's own ExtensionRef filters apply, in the order Traefik runs them: each
 * filter in turn, a Chain replaced by its links (followed recursively). A reference the pack cannot
 * follow (another provider's `name@file`, not in the stack, a loop) is left out.
 */
export function appliedMiddlewares(
  rule: HTTPRouteRule,
  routeNamespace: string,
  middlewares: Map<string, MiddlewareView>,
): MiddlewareView[] {
  const found: MiddlewareView[] = [];
  const visit = (namespace: string, name: string, seen: Set<string>) => {
    const key = `${namespace}/${name}`;
    const middleware = name.includes("@") || seen.has(key) ? undefined : middlewares.get(key);
    if (!middleware) return;
    const chain = middleware.spec.chain;
    if (!chain) {
      found.push(middleware);
      return;
    }
    for (const link of chain.middlewares ?? [])
      visit(link.namespace ?? namespace, link.name, new Set([...seen, key]));
  };
  for (const filter of rule.filters ?? []) {
    const ref = filter.type === "ExtensionRef" ? filter.extensionRef : undefined;
    if (ref?.group === TRAEFIK_MIDDLEWARE.group && ref.kind === TRAEFIK_MIDDLEWARE.kind)
      visit(routeNamespace, ref.name, new Set());
  }
  return found;
}

/** Whether a Middleware limits the rate (Traefik reads an average of 0, or none, as no limit). */
export function limitsRate(middleware: MiddlewareView): boolean {
  return (middleware.spec.rateLimit?.average ?? 0) > 0;
}
