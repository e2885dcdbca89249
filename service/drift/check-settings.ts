/**
 * Settings of the drift check (service/drift/check.ts): where the running service is, and the
 * API key (ops-read role) it is asked with. Read from the environment and validated once; every problem is
 * reported by its variable's name. The platform (components/inference) writes this environment,
 * the key from a Kubernetes Secret; the names are the contract's (service/contract/drift-check-env.ts).
 */
import { z } from "zod";
import { DRIFT_CHECK_ENV } from "../contract/drift-check-env.js";

/** The service accepts API keys of at least this many characters (service/config.ts, API_KEYS). */
const MIN_API_KEY_LENGTH = 16;

const required = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `required: ${what}` : undefined) });

/** One field per contract name: a name without a parser, or a parser without a name, does not compile. */
const schema = z.object({
  DRIFT_CHECK_SERVICE_URL: required("the inference service's base URL").pipe(
    z.url({
      protocol: /^https?$/,
      error:
        "expected the service's http(s):// base URL, e.g. http://plinth-inference.plinth.svc.cluster.local",
    }),
  ),
  DRIFT_CHECK_API_KEY: required("an API key holding the ops-read (or admin) role").min(
    MIN_API_KEY_LENGTH,
    `an API key is at least ${MIN_API_KEY_LENGTH} characters`,
  ),
  DRIFT_CHECK_TIMEOUT_MS: z.coerce
    .number({ error: "expected a whole number of milliseconds" })
    .int("expected a whole number of milliseconds")
    .min(100, "expected at least 100 ms")
    .max(600_000, "expected at most 600000 ms (10 minutes)")
    .default(10_000),
} satisfies Record<keyof typeof DRIFT_CHECK_ENV, z.ZodType>);

export interface DriftCheckSettings {
  /** The service's base URL; the check asks `<url>/ops/summary`. */
  readonly serviceUrl: string;
  readonly apiKey: string;
  /** Longest the whole request (connect, answer, body) may take. */
  readonly timeoutMs: number;
}

export class DriftCheckSettingsError extends Error {
  override readonly name = "DriftCheckSettingsError";
  constructor(readonly issues: readonly string[]) {
    super(`invalid drift check settings:\n  ${issues.join("\n  ")}`);
  }
}

/**
 * Reads the settings; unset and blank variables count as unset. Throws a
 * {@link DriftCheckSettingsError} naming every bad variable (values are not echoed: one is a key).
 */
export function loadDriftCheckSettings(
  env: Readonly<Record<string, string | undefined>>,
): DriftCheckSettings {
  const raw: Record<string, string> = {};
  for (const name of Object.values(DRIFT_CHECK_ENV)) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== "") raw[name] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new DriftCheckSettingsError(
      parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`),
    );
  }
  const v = parsed.data;
  return {
    serviceUrl: v.DRIFT_CHECK_SERVICE_URL,
    apiKey: v.DRIFT_CHECK_API_KEY,
    timeoutMs: v.DRIFT_CHECK_TIMEOUT_MS,
  };
}
