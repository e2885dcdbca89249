/**
 * Roles a caller may hold, defined once for API keys (API_KEY_ROLES) and JWTs (the claim named by
 * JWT_ROLES_CLAIM). A caller without a role gets the prediction API only.
 */
import type { Principal } from "./principal.js";

export const ROLES = ["admin", "ops-read", "force-variant"] as const;
/**
 * - `admin`: the operations endpoints and the admin panel.
 * - `ops-read`: `GET /ops/summary` only, nothing that changes or reveals more (the drift check's
 *   identity; a monitoring reader).
 * - `force-variant`: may pin a request to a model variant with `x-plinth-variant`.
 */
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function hasRole(principal: Principal | null | undefined, role: Role): boolean {
  return principal?.roles.includes(role) ?? false;
}

/**
 * Roles named by a JWT claim: an array of strings or one space-separated string (the OAuth
 * `scope` style). Names this service does not define are ignored, so an identity provider may
 * carry roles meant for other services in the same claim.
 */
export function rolesFromClaim(claim: unknown): Role[] {
  const names = typeof claim === "string" ? claim.split(" ") : Array.isArray(claim) ? claim : [];
  const roles = names.filter((n): n is Role => typeof n === "string" && isRole(n));
  return [...new Set(roles)];
}
