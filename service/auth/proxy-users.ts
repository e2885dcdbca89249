/**
 * Users signed in through oauth2-proxy, named by the `X-Auth-Request-Email` header the proxy sets
 * and given roles by the identity provider's groups (`X-Auth-Request-Groups`). Only when
 * OPS_OIDC_TRUST_HEADERS=true: with the flag off the headers are ignored entirely, so a client
 * cannot claim an identity by sending them. With it on, the headers must only come from the edge:
 * the edge overwrites them on every protected route, the cluster's NetworkPolicy keeps other
 * callers off the port, and where that cannot hold (the local stack, any process on the machine)
 * the edge adds a token (OPS_OIDC_EDGE_TOKEN_SHA256) without which the headers are ignored.
 *
 * The email domain admits (OPS_OIDC_ALLOWED_EMAIL_DOMAINS); only groups grant roles
 * (OPS_OIDC_ADMIN_GROUPS, OPS_OIDC_OPS_READ_GROUPS), so a new account in the company's domain is
 * not an admin by existing.
 */
import { hash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { Principal } from "./principal.js";
import type { Role } from "./roles.js";

export const OIDC_EMAIL_HEADER = "x-auth-request-email";
export const OIDC_GROUPS_HEADER = "x-auth-request-groups";
/** Added by the edge (never by a client: the edge sets it on every route it forwards). */
export const EDGE_TOKEN_HEADER = "x-plinth-edge-token";
/** A plain address: one @, no spaces, a dotted domain. Anything else from the proxy is refused. */
const EMAIL = /^[^\s@",;<>]{1,64}@([a-z0-9-]+(?:\.[a-z0-9-]+)+)$/i;

/** The OPS_OIDC_* settings (service/ops/settings.ts). */
export interface ProxyUserSettings {
  readonly oidcTrustHeaders: boolean;
  readonly oidcAllowedEmailDomains: readonly string[];
  readonly oidcAdminGroups: readonly string[];
  readonly oidcOpsReadGroups: readonly string[];
  readonly oidcEdgeTokenSha256?: string | undefined;
}

/** One-shot `crypto.hash`: no Hash object per request, as for API keys (./api-keys.ts). */
function sha256(text: string): Buffer {
  return hash("sha256", text, "buffer");
}

/** oauth2-proxy joins the groups with commas; anything else (a repeated header) names none. */
function groupsOf(header: string | string[] | undefined): Set<string> {
  if (typeof header !== "string") return new Set();
  return new Set(
    header
      .split(",")
      .map((g) => g.trim())
      .filter((g) => g !== ""),
  );
}

export class ProxyUsers {
  private readonly edgeToken: Buffer | undefined;

  constructor(private readonly settings: ProxyUserSettings) {
    const digest = settings.oidcEdgeTokenSha256;
    this.edgeToken = digest === undefined ? undefined : Buffer.from(digest, "hex");
  }

  /** True when the request came through the edge (or no edge token is configured). */
  private fromEdge(request: FastifyRequest): boolean {
    if (this.edgeToken === undefined) return true;
    const token = request.headers[EDGE_TOKEN_HEADER];
    return typeof token === "string" && timingSafeEqual(sha256(token), this.edgeToken);
  }

  /**
   * The user the proxy names, or undefined when it names none or is not trusted; throws 403 for an
   * address that is malformed or outside the allowed domains.
   */
  identify(request: FastifyRequest): Principal | undefined {
    const header = request.headers[OIDC_EMAIL_HEADER];
    if (!this.settings.oidcTrustHeaders || header === undefined || !this.fromEdge(request)) return undefined;
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
    const groups = groupsOf(request.headers[OIDC_GROUPS_HEADER]);
    const inAny = (names: readonly string[]) => names.some((name) => groups.has(name));
    const roles: Role[] = [];
    if (inAny(this.settings.oidcAdminGroups)) roles.push("admin");
    if (inAny(this.settings.oidcOpsReadGroups)) roles.push("ops-read");
    return { identity: `email:${value!.toLowerCase()}`, method: "oauth2-proxy", roles };
  }
}
