/**
 * The service's operator routes: the only paths where it accepts a user named by oauth2-proxy
 * (`X-Auth-Request-Email`), trusted because only the protected Ingress routes them and nginx
 * overwrites that header there with oauth2-proxy's answer. Part of the contract: the platform
 * publishes exactly these behind oauth2-proxy (components/inference/routes.ts), the policy pack
 * protects them by default (policies/ingress-auth.ts), and a test checks every route of the
 * service that accepts oauth2-proxy users lies under one of them.
 *
 * Every process serves them twice: bare (`/admin`, what the stack's default model publishes) and
 * under its own model's name ({@link modelOperatorPaths}: `/models/<MODEL_NAME>/admin`, ...), so a
 * stack of several models publishes each model's operator routes to that model's process.
 *
 * `exact`: the path alone; otherwise the path and everything below it.
 */
import { MODEL_NAME_PATTERN } from "./model-name.js";

export interface OperatorPath {
  readonly path: string;
  readonly exact: boolean;
}

export const OPERATOR_PATHS = [
  { path: "/admin", exact: false },
  { path: "/ops", exact: false },
  { path: "/reload-model", exact: true },
] as const satisfies readonly OperatorPath[];

/**
 * Where a process serves its operator routes under its model's name: `/models/<name>` (the prefix
 * of its prediction routes by name). Throws for a name MODEL_NAME would not accept.
 */
export function modelOperatorPrefix(name: string): string {
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw new Error(`model name ${JSON.stringify(name.slice(0, 140))} is not like fashion-classifier`);
  }
  return `/models/${name}`;
}

/**
 * The operator routes of the process whose MODEL_NAME is `name`, under its name:
 * `/models/<name>/admin`, `/models/<name>/ops` and `/models/<name>/reload-model`, in
 * {@link OPERATOR_PATHS}' order. Only a process's MODEL_NAME has them, never a MODEL_REPOSITORY model.
 */
export function modelOperatorPaths(name: string): OperatorPath[] {
  const prefix = modelOperatorPrefix(name);
  return OPERATOR_PATHS.map(({ path, exact }) => ({ path: `${prefix}${path}`, exact }));
}

/** A per-model path: `/models/<a model name>` and the rest, or undefined. */
const MODEL_PREFIXED = /^\/models\/([^/]+)(\/.*)$/;

/**
 * Whether `url` (a route path, or a request path without its query) is an operator route: a bare
 * one, or one under a model's name (`/models/<name>/ops/summary`).
 */
export function isOperatorPath(url: string): boolean {
  const perModel = MODEL_PREFIXED.exec(url);
  const rest = perModel !== null && MODEL_NAME_PATTERN.test(perModel[1]!) ? perModel[2]! : url;
  return OPERATOR_PATHS.some(({ path, exact }) => rest === path || (!exact && rest.startsWith(`${path}/`)));
}
