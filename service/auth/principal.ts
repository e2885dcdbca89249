/** Who is calling: set by the auth hook, read by roles, rate limits, logs and the rollout engine. */
import type { Role } from "./roles.js";

export interface Principal {
  /** Rate-limit bucket and log name: `key:<identity>`, `jwt:<claim value>` or `email:<address>`. */
  readonly identity: string;
  /** `oauth2-proxy`: the trusted X-Auth-Request-Email (service/auth/proxy-users.ts). */
  readonly method: "api-key" | "jwt" | "oauth2-proxy";
  /** What the caller may do beyond predicting (service/auth/roles.ts). */
  readonly roles: readonly Role[];
}
