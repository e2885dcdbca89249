/**
 * Users signed in through oauth2-proxy, named by the `X-Auth-Request-Email` header the proxy sets.
 * Only when OPS_OIDC_TRUST_HEADERS=true: with the flag off the header is ignored entirely, so a
 * client cannot claim an identity by sending it. With it on, the deployment must guarantee the
 * header can only come from the proxy (the platform's NetworkPolicy admits the pod only from it).
 * A user whose email domain is in OPS_OIDC_ALLOWED_EMAIL_DOMAINS holds the admin role.
 */
import type { FastifyRequest } from "fastify";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { Principal } from "./principal.js";

export const OIDC_EMAIL_HEADER = "x-auth-request-email";
/** A plain address: one @, no spaces, a dotted domain. Anything else from the proxy is refused. */
const EMAIL = /^[^\s@",;<>]{1,64}@([a-z0-9-]+(?:\.[a-z0-9-]+)+)$/i;

/** The OPS_OIDC_* settings (service/ops/settings.ts). */
export interface ProxyUserSettings {
  readonly oidcTrustHeaders: boolean;
  readonly oidcAllowedEmailDomains: readonly string[];
}

export class ProxyUsers {
  constructor(private readonly settings: ProxyUserSettings) {}

  /**
   * The user the proxy names, or undefined when it names none or is not trusted; throws 403 for an
   * address that is malformed or outside the allowed domains.
   */
  identify(request: FastifyRequest): Principal | undefined {
    const header = request.headers[OIDC_EMAIL_HEADER];
    if (!this.settings.oidcTrustHeaders || header === undefined) return undefined;
    const value = Array.isArray(header) ? undefined : header.trim();
    const match = value === undefined ? null : EMAIL.exec(value);
    if (match === null) {
      throw new ApiError(ErrorCode.FORBIDDEN, `${OIDC_EMAIL_HEADER} is not a single email address`);
    }
    const domain = match[1]!.toLowerCase();
    if (!this.settings.oidcAllowedEmailDomains.includes(domain)) {
      throw new ApiError(
        ErrorCode.FORBIDDEN,
        `email domain ${domain} is not allowed to administer this service`,
      );
    }
    return { identity: `email:${value!.toLowerCase()}`, method: "oauth2-proxy", roles: ["admin"] };
  }
}
