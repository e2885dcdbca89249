/**
 * The one auth hook: for every route it reads the declaration (`config.auth`,
 * ./route-auth.ts), identifies the caller by the credentials the route accepts and checks the
 * roles it requires. No route runs a guard of its own. It runs on the root instance, before the
 * per-route rate limiter, so the limiter's bucket is the authenticated identity.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { Principal } from "./principal.js";
import { failureOf, type Counted } from "../limits/window-counter.js";
import type { Authenticator } from "./authenticate.js";
import { crossSiteProblem } from "./csrf.js";
import { checkDeclaration, routeAccess, type Access } from "./route-auth.js";

/** Told of each refusal on a route whose declaration names an audited action. */
export type RefusalListener = (request: FastifyRequest, action: string, error: ApiError) => Promise<void>;

/**
 * The caller `access` admits (null: an anonymous request the route admits); throws 401 when it
 * presents no credential the route accepts, 403 when it holds none of the required roles.
 */
function authorise(principal: Principal | undefined, access: Access): Principal | null {
  if (principal === undefined) {
    if (access.anonymous) return null;
    // Reached only by a route that accepts oauth2-proxy users alone; API routes answer in identify.
    throw new ApiError(ErrorCode.UNAUTHENTICATED, "sign in through oauth2-proxy");
  }
  if (access.roles.length > 0 && !access.roles.some((role) => principal.roles.includes(role))) {
    throw new ApiError(
      ErrorCode.FORBIDDEN,
      `${principal.identity} does not hold the ${access.roles.join(" or ")} role`,
    );
  }
  return principal;
}

/**
 * Installs the hook on the root instance, and an onRoute check that refuses a malformed
 * declaration when its route is registered.
 */
export function installAuthentication(
  app: FastifyInstance,
  authenticator: Authenticator,
  onRefused?: RefusalListener,
): void {
  app.addHook("onRoute", checkDeclaration);
  // A callback hook: an API key checked against this process's counters is decided at once,
  // without a promise; a JWT or a count kept in Redis continues when it arrives.
  app.addHook("onRequest", (request, _reply, done) => {
    if (request.is404) return done();
    const access = routeAccess(request.routeOptions.config);
    if (access === "public") return done();
    const refuse = (err: unknown) => {
      if (access.audit === undefined || !(err instanceof ApiError)) return done(failureOf(err));
      authenticator.countRefusal(request, err);
      if (onRefused === undefined) return done(err);
      const { audit } = access;
      // The refusal is answered once it is on the audit trail; a trail that cannot be written answers instead.
      Promise.resolve()
        .then(() => onRefused(request, audit, err))
        .then(
          () => done(err),
          (failed: unknown) => done(failureOf(failed)),
        );
    };
    const admit = (principal: Principal | undefined) => {
      try {
        request.principal = authorise(principal, access);
        checkSameSite(request, access);
      } catch (err) {
        return refuse(err);
      }
      done();
    };
    let identified: Counted<Principal | undefined>;
    try {
      identified = authenticator.identify(request, access);
    } catch (err) {
      return refuse(err);
    }
    if (identified instanceof Promise) identified.then(admit, refuse);
    else admit(identified);
  });
}

/** An admin action from a browser signed in through oauth2-proxy must come from this service's own pages. */
function checkSameSite(request: FastifyRequest, access: Access): void {
  if (access.audit === undefined || request.principal?.method !== "oauth2-proxy") return;
  const problem = crossSiteProblem(request);
  if (problem !== undefined) {
    throw new ApiError(
      ErrorCode.FORBIDDEN,
      `cross-site request refused: an admin action from a browser must come from this service's own pages (${problem})`,
    );
  }
}
