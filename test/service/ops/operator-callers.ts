/**
 * The callers of the operator routes the auth tests put to the service: API keys with and without
 * an operator role, a JWT secret and issuer, and oauth2-proxy's identity headers for users of an
 * allowed and a foreign domain.
 */
import { SignJWT } from "jose";
import { OPS_HEADERS } from "../rollout/rollout-fixture.js";
import { API_KEY } from "../server/service-fixture.js";

export const OPS_KEY = OPS_HEADERS["x-api-key"];
export const SECRET = "s".repeat(40);
export const READER_HEADERS = { "x-api-key": "reader-key-0123456789abcdef" };
/** The service settings that make those keys and tokens valid. */
export const KEYS = {
  API_KEYS: `tester:${API_KEY},ops:${OPS_KEY},reader:${READER_HEADERS["x-api-key"]}`,
  API_KEY_ROLES: "ops:admin,reader:ops-read",
  JWT_HS256_SECRET: SECRET,
  JWT_ISSUER: "https://issuer.example",
  JWT_AUDIENCE: "plinth",
};
export const EMAIL = "x-auth-request-email";
export const GROUPS = "x-auth-request-groups";
/** The settings that make the service trust oauth2-proxy's headers, with its groups' roles. */
export const TRUSTED_PROXY = {
  OPS_OIDC_TRUST_HEADERS: "true",
  OPS_OIDC_ADMIN_GROUPS: "plinth-admins",
  OPS_OIDC_OPS_READ_GROUPS: "sre-oncall",
};
/** What oauth2-proxy forwards for a signed-in member of the admin group. */
export const ALICE = { [EMAIL]: "alice@example.com", [GROUPS]: "staff,plinth-admins" };
/** What the admin panel sends with every call from the service's own origin. */
export const PANEL = { "x-plinth-csrf": "1", "sec-fetch-site": "same-origin" };

/** An HS256 token for alice with `claims`, as the configured issuer signs it. */
export function token(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ sub: "alice", ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(KEYS.JWT_ISSUER)
    .setAudience(KEYS.JWT_AUDIENCE)
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(SECRET));
}
