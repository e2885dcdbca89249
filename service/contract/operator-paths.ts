/**
 * The service's operator routes: the only paths where it accepts a user named by oauth2-proxy
 * (`X-Auth-Request-Email`), trusted because only the protected Ingress routes them and nginx
 * overwrites that header there with oauth2-proxy's answer. Part of the contract: the platform
 * publishes exactly these behind oauth2-proxy (components/inference/routes.ts), the policy pack
 * protects them by default (policies/ingress-auth.ts), and a test checks every route of the
 * service that accepts oauth2-proxy users lies under one of them.
 *
 * `exact`: the path alone; otherwise the path and everything below it.
 */
export const OPERATOR_PATHS = [
  { path: "/admin", exact: false },
  { path: "/ops", exact: false },
  { path: "/reload-model", exact: true },
] as const;

/** Whether `url` (a route path, or a request path without its query) is an operator route. */
export function isOperatorPath(url: string): boolean {
  return OPERATOR_PATHS.some(({ path, exact }) => url === path || (!exact && url.startsWith(`${path}/`)));
}
