/**
 * Who is calling: an API key (`x-api-key: <key>` or `Authorization: Bearer <key>`), a JWT
 * (`Authorization: Bearer <jwt>`) or, where a route accepts it, a user named by oauth2-proxy
 * (./proxy-users.ts). The auth hook (./hook.ts) asks for the credentials a route's declaration
 * accepts. Wrong keys and tokens are counted per client address ({@link AuthFailureLimiter}); past
 * the limit, the address gets 429 without its API credentials being looked at.
 */
import type { FastifyRequest } from "fastify";
import { errors as joseErrors } from "jose";
import type { ServiceConfig } from "../config.js";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { Principal } from "./principal.js";
import { ApiKeyVerifier } from "./api-keys.js";
import { AuthFailureLimiter } from "./failure-limit.js";
import { JwtVerifier } from "./jwt.js";
import { onCounted, type Counted, type WindowCounter } from "../limits/window-counter.js";
import { ProxyUsers, type ProxyUserSettings } from "./proxy-users.js";
import type { Access } from "./route-auth.js";

const CHALLENGE = { "www-authenticate": 'Bearer realm="plinth"' };
/** A compact JWS: three base64url segments. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

function invalid(message: string): ApiError {
  return new ApiError(ErrorCode.INVALID_CREDENTIALS, message, CHALLENGE);
}

/** Why a token was refused, in words that do not help an attacker forge one. */
function tokenProblem(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return "token expired";
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `token claim rejected: ${err.claim}`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "token algorithm not accepted";
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "token signed by an unknown key";
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "token signature invalid";
  return "token invalid";
}

export class Authenticator {
  private readonly keys: ApiKeyVerifier;
  private readonly jwt: JwtVerifier | undefined;
  private readonly failures: AuthFailureLimiter;
  private readonly proxyUsers: ProxyUsers;

  /** `limits`: the counter every replica shares (service/limits/); default: this process's memory. */
  constructor(config: ServiceConfig["auth"], proxyUsers: ProxyUserSettings, limits?: WindowCounter) {
    this.keys = new ApiKeyVerifier(config.apiKeys);
    this.jwt = config.jwt === undefined ? undefined : new JwtVerifier(config.jwt);
    this.failures = new AuthFailureLimiter(config.failureLimit, limits);
    this.proxyUsers = new ProxyUsers(proxyUsers);
  }

  async init(): Promise<void> {
    await this.jwt?.init();
  }

  /**
   * The caller by the credentials `access` accepts: a trusted oauth2-proxy user first (the proxy
   * vouches for every request it forwards), then API credentials. Undefined when the request
   * presents none of them and the route admits anonymous requests; otherwise as
   * {@link authenticate}, and 403 for a proxy user who is refused.
   */
  identify(request: FastifyRequest, access: Access): Counted<Principal | undefined> {
    if (access.accepts.includes("oauth2-proxy")) {
      const user = this.proxyUsers.identify(request);
      if (user !== undefined) return user;
    }
    if (!access.accepts.includes("api")) return undefined;
    if (access.anonymous && !presentsApiCredentials(request)) return undefined;
    return this.authenticate(request);
  }

  /**
   * Resolves the caller or throws an ApiError: 401 for missing or wrong credentials, 429 when the
   * client address has sent too many wrong ones. Only wrong credentials count: a request without
   * any is a client that forgot them, not one guessing. An API key checked against this process's
   * counters answers at once (no promise); a JWT, or a count kept in Redis, later.
   */
  authenticate(request: FastifyRequest): Counted<Principal> {
    return onCounted(this.refuseIfBlocked(request), () => {
      let principal: Counted<Principal>;
      try {
        principal = this.verify(request);
      } catch (err) {
        return this.countFailure(request, err);
      }
      return principal instanceof Promise
        ? principal.catch((err: unknown) => this.countFailure(request, err))
        : principal;
    });
  }

  /** 429 when the client address has failed too often (wrong credentials, admin actions probed without any). */
  refuseIfBlocked(request: FastifyRequest): Counted<void> {
    return onCounted(this.failures.blockedFor(request.ip), (retryAfter) => {
      if (retryAfter !== undefined) {
        throw new ApiError(
          ErrorCode.RATE_LIMITED,
          `too many failed authentications from this address; retry in ${retryAfter} s`,
          { "retry-after": String(retryAfter) },
        );
      }
    });
  }

  /** Counts wrong credentials against the client address, then refuses with `err`. */
  private async countFailure(request: FastifyRequest, err: unknown): Promise<never> {
    if (err instanceof ApiError && err.code === ErrorCode.INVALID_CREDENTIALS) {
      await this.failures.recordFailure(request.ip);
    }
    throw err;
  }

  /**
   * Counts an admin action tried without any credentials against the client address, as a wrong
   * credential is (an API route's forgotten key is not counted; an admin action is not forgotten,
   * it is probed). Once past the limit, the address's next credentials are refused with 429 before
   * they are looked at. A 403 is not counted: its caller is known (a key or token without the role,
   * answered under its own identity) or signed in by oauth2-proxy, and counting those would let a
   * page that makes a signed-in browser send refused requests lock everyone behind the same
   * address out; a signed-in user is never blocked by address.
   */
  countRefusal(request: FastifyRequest, error: ApiError): void {
    // Not awaited: the refusal stands either way; a store that fails here has logged its outage.
    if (error.code === ErrorCode.UNAUTHENTICATED)
      this.failures.recordFailure(request.ip).catch(() => undefined);
  }

  private verify(request: FastifyRequest): Counted<Principal> {
    const apiKey = request.headers["x-api-key"];
    if (typeof apiKey === "string" && apiKey !== "") return this.byKey(apiKey);
    const authorization = request.headers.authorization;
    if (authorization === undefined || authorization === "") {
      throw new ApiError(
        ErrorCode.UNAUTHENTICATED,
        "send an API key in x-api-key or a bearer token",
        CHALLENGE,
      );
    }
    const match = /^Bearer[ ]+(\S+)$/i.exec(authorization);
    if (match === null) throw invalid("the Authorization header must be `Bearer <token>`");
    const credential = match[1]!;
    if (!COMPACT_JWS.test(credential)) return this.byKey(credential);
    if (this.jwt === undefined) throw invalid("bearer tokens are not accepted by this service");
    return this.jwt.verify(credential).then(
      ({ identity, roles }): Principal => ({ identity: `jwt:${identity}`, method: "jwt", roles }),
      (err: unknown) => {
        throw invalid(tokenProblem(err));
      },
    );
  }

  private byKey(key: string): Principal {
    const principal = this.keys.verify(key);
    if (principal === undefined) throw invalid("unknown API key");
    return principal;
  }
}

function presentsApiCredentials(request: FastifyRequest): boolean {
  const apiKey = request.headers["x-api-key"];
  const authorization = request.headers.authorization;
  return (
    (typeof apiKey === "string" && apiKey !== "") || (authorization !== undefined && authorization !== "")
  );
}
