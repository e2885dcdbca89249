/**
 * What the serving core reads of a request, whatever protocol carried it: its id (canary routing's
 * sticky key when the caller sends none), its headers (the force-variant and sticky headers), the
 * roles of the authenticated caller (pinning a variant needs one), and a logger. fastify's request
 * has exactly these members, so the HTTP adapter passes it as it is (no per-request copy); another
 * adapter builds one.
 */

/** The subset of pino's logger the serving core uses. */
export interface ServingLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ServingRequest {
  readonly id: string;
  /** By lower-case name. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The authenticated caller; null when the request carries none. */
  readonly principal: { readonly roles: readonly string[] } | null;
  readonly log: Pick<ServingLog, "warn">;
}

/**
 * The role that may pin a request to a variant. Credentials grant it (service/auth/roles.ts, whose
 * role list a test holds this name to); the core checks it without depending on auth.
 */
export const FORCE_VARIANT_ROLE = "force-variant";

export function holdsRole(request: ServingRequest, role: string): boolean {
  return request.principal?.roles.includes(role) ?? false;
}
