/**
 * What is an admin surface, for every edge (ingress-nginx Ingresses and Gateway API HTTPRoutes
 * alike): the inference service's operator routes (bare and under a model's name), and whole
 * Services or hosts (MLflow, Grafana, Prometheus, Alertmanager); oauth2-proxy's own sign-in path,
 * which must stay reachable without a session; and the inference Service, which must never be
 * reached by a catch-all. One definition, so both edges protect exactly the same things.
 */
import { isOperatorPath, OPERATOR_PATHS } from "../../service/contract/operator-paths.js";

export const OWASP_AUTH = "OWASP Top 10 (A01 Broken Access Control)";

/** The operator paths, as a catalog entry lists them. */
export const OPERATOR_PATH_LIST = OPERATOR_PATHS.map(({ path }) => path).join(", ");

/** Pack config of the admin-route rules (admin-paths-behind-oauth2-proxy and its Gateway twin). */
export const adminConfig = {
  properties: {
    protectedPathPrefixes: {
      type: "array" as const,
      items: { type: "string" as const },
      description:
        "Path prefixes that only signed-in operators may reach (default: the inference service's operator routes).",
      default: OPERATOR_PATHS.map(({ path }) => path),
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
    signInService: {
      type: "string" as const,
      description:
        "oauth2-proxy's Service as namespace/name: the only backend of the /oauth2 sign-in path a protected host may route without the auth annotations.",
      default: "auth/oauth2-proxy",
    },
  },
};

export interface AdminConfig {
  protectedPathPrefixes: string[];
  protectedBackendPattern: string;
  protectedHostPattern: string;
  signInService: string;
}

/** oauth2-proxy's own path on every protected host (sign-in, callback, sign-out). */
export const OAUTH2_PATH = "/oauth2";

/** One route as the admin rules judge it: a host, a literal path, a backend Service's name. */
export interface RouteTarget {
  host: string;
  path: string;
  service: string;
}

/**
 * Why a route reaches an admin surface ("path /admin", `Service "mlflow"`, "host grafana.<domain>"),
 * or undefined: its path equals or lies below a protected prefix or a model's operator route, its
 * Service is an admin surface, or its host is. Paths are compared literally.
 */
export function protectedReason(route: RouteTarget, config: AdminConfig): string | undefined {
  const prefix = config.protectedPathPrefixes.find((p) => route.path === p || route.path.startsWith(`${p}/`));
  // A model's operator routes (/models/<name>/admin, ...) as well as the bare ones.
  if (prefix || isOperatorPath(route.path)) return `path ${route.path}`;
  if (new RegExp(config.protectedBackendPattern).test(route.service)) return `Service "${route.service}"`;
  if (new RegExp(config.protectedHostPattern).test(route.host)) return `host ${route.host}`;
  return undefined;
}

/** Pack config of the catch-all rules (no-catch-all-to-inference and its Gateway twin). */
export const catchAllConfig = {
  properties: {
    inferenceBackendPattern: {
      type: "string" as const,
      description: "Regular expression on the Service names of the inference service.",
      default: "inference",
    },
  },
};
