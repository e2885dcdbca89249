/**
 * How ingress-nginx reads an Ingress, for every policy: its routes (default backend included),
 * annotation booleans as Go's ParseBool, and how a request path is matched (Exact, Prefix by path
 * segment, ImplementationSpecific as a string prefix, and on a host where any Ingress sets
 * use-regex or rewrite-target, every path as a case-insensitive regular expression anchored at the
 * start), with what that means for the service's operator routes.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { PolicyResource } from "@pulumi/policy";
import type { Unwrap } from "@pulumi/pulumi";
import { isOperatorPath, OPERATOR_PATHS } from "../../service/contract/operator-paths.js";

export const NGINX = "nginx.ingress.kubernetes.io";

export type IngressSpec = Unwrap<k8s.types.input.networking.v1.IngressSpec>;

export function annotationsOf(props: Record<string, unknown>): Record<string, string> {
  return (props.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
}

export interface Route {
  host: string;
  path: string;
  pathType: string;
  service: string;
  /** Where the route is written, e.g. spec.rules[0].http.paths[1]. */
  at: string;
}

/** Every (host, path) -> Service an Ingress routes, its default backend included as a catch-all. */
export function routesOf(spec: IngressSpec | undefined): Route[] {
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

/** ingress-nginx reads annotation booleans as Go's strconv.ParseBool does. */
export function annotationTrue(value: string | undefined): boolean {
  return value !== undefined && ["1", "t", "T", "TRUE", "true", "True"].includes(value.trim());
}

export function ingressesOf(resources: PolicyResource[]): PolicyResource[] {
  return resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:Ingress");
}

/** "/", "" and regex wildcards such as "/.*" or "/(.*)" match every request path. */
export const CATCH_ALL_PATH = /^\/?(\(?\.\*\)?)?$/;

/** Characters that make a path a pattern rather than a literal. */
export const REGEX_SYNTAX = /[.*+?()[\]{}|^$\\]/;

/**
 * The text every request path a regular-expression route matches must start with (ingress-nginx
 * anchors it at the start, case-insensitively): the characters before the first metacharacter,
 * less the last one when a quantifier follows it. Undefined when an alternation outside any group
 * (`/a|/admin`) lets the match start elsewhere.
 */
export function literalPrefix(pattern: string): string | undefined {
  let depth = 0;
  for (const char of pattern) {
    if (char === "(") depth++;
    else if (char === ")") depth--;
    else if (char === "|" && depth === 0) return undefined;
  }
  const end = pattern.search(REGEX_SYNTAX);
  if (end < 0) return pattern;
  return /[?*{]/.test(pattern[end]!) ? pattern.slice(0, Math.max(0, end - 1)) : pattern.slice(0, end);
}

/**
 * Whether request paths starting with `prefix` may be operator routes (compared case-insensitively,
 * as nginx matches a regex path): the prefix leads into one, or lies inside one.
 */
export function mayReachOperatorPath(prefix: string): boolean {
  const lower = prefix.toLowerCase();
  // A model's operator routes lie under /models/<name>: a prefix up to or inside a name may lead
  // into them; past the name, what follows is read as a bare path.
  if (MODELS.startsWith(lower)) return true;
  if (lower.startsWith(MODELS)) {
    const slash = lower.indexOf("/", MODELS.length);
    if (slash < 0) return true;
    return reachesBareOperatorPath(lower.slice(slash));
  }
  return reachesBareOperatorPath(lower);
}

const MODELS = "/models/";

function reachesBareOperatorPath(lower: string): boolean {
  return OPERATOR_PATHS.some(({ path }) => path.startsWith(lower) || lower.startsWith(path));
}

/**
 * Whether a rewrite-target can produce an operator path: a fixed one that is, or one whose text
 * before its first capture reference (`/predict/$1`) does not pin a first path segment other than
 * theirs (`/$2`, `$1`, `/adm$1`).
 */
export function rewriteMayReachOperatorPath(rewrite: string): boolean {
  const dollar = rewrite.indexOf("$");
  if (dollar < 0) return isOperatorPath(rewrite.split("?")[0]!.replace(/\/+$/, "") || "/");
  const fixed = /^(\/[^/$]+)\//.exec(rewrite.slice(0, dollar));
  return fixed === null || mayReachOperatorPath(`${fixed[1]}/`);
}

/**
 * Operator request paths to test a route against: each operator path, and one below it when it has
 * any; bare, and under a model's name (`/models/<name>/admin`), the name taken from the route's
 * own path when it has one (`/models/churn` reaches churn's), else a stand-in.
 */
export function operatorSamples(routePath = ""): string[] {
  const model = /^\/models\/([^/]+)/.exec(routePath)?.[1] ?? "any-model";
  return OPERATOR_PATHS.flatMap(({ path, exact }) => (exact ? [path] : [path, `${path}/x`])).flatMap(
    (path) => [path, `/models/${model}${path}`],
  );
}

/**
 * Hosts on which ingress-nginx reads every path as a regular expression: `use-regex` on any
 * Ingress of a host applies to all the host's paths, whichever Ingress writes them.
 */
export function hostsWithRegexPaths(ingresses: PolicyResource[]): Set<string> {
  const hosts = new Set<string>();
  for (const ingress of ingresses) {
    // rewrite-target turns on regex paths for the host as use-regex does (ingress-nginx's
    // enforceRegexModifier).
    const annotations = annotationsOf(ingress.props);
    if (!annotationTrue(annotations[`${NGINX}/use-regex`]) && !annotations[`${NGINX}/rewrite-target`])
      continue;
    for (const route of routesOf(ingress.props.spec)) hosts.add(route.host);
  }
  return hosts;
}

/**
 * Whether ingress-nginx sends `requestPath` to `route`'s backend: as a case-insensitive regular
 * expression anchored at the start on a regex host (an invalid one is taken to match), else Exact
 * as equality, Prefix by path segments, ImplementationSpecific as a plain string prefix.
 */
export function nginxMatches(route: Route, requestPath: string, regexHost: boolean): boolean {
  if (regexHost) {
    try {
      return new RegExp(`^${route.path}`, "i").test(requestPath);
    } catch {
      return true;
    }
  }
  if (route.pathType === "Exact") return requestPath === route.path;
  if (route.pathType === "Prefix") {
    const prefix = route.path.replace(/\/+$/, "");
    return prefix === "" || requestPath === prefix || requestPath.startsWith(`${prefix}/`);
  }
  return requestPath.startsWith(route.path);
}
