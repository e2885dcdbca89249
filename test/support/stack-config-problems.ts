/**
 * The stack-config schema's answer to a staging config with one change: what the config tests of
 * every topic check their error messages against.
 */
import { parseStackConfig, StackConfigError } from "../../infra/config/load.js";
import { deepMerge, readStackFile, RENDER_SECRETS } from "../../infra/render/stack-config.js";

const SECRET_KEYS = new Set(["oidcClientSecret", "kubeconfig", "slackWebhookUrl"]);
/** The keys `pulumi config set --secret` holds on a real stack. */
export const isSecret = (key: string) => SECRET_KEYS.has(key);

/** Pulumi.staging.yaml's config with its secrets set, deep-merged with `override`. */
export function stagingWith(override: Record<string, unknown>): Record<string, unknown> {
  const { values } = readStackFile("staging");
  const base = {
    ...values,
    oidcClientSecret: RENDER_SECRETS.oidcClientSecret,
    slackWebhookUrl: RENDER_SECRETS.slackWebhookUrl,
  };
  return deepMerge(base, override) as Record<string, unknown>;
}

/** Every problem the schema reports, one line each; [] when the config parses. */
export function configProblems(raw: Record<string, unknown>, secret = isSecret): readonly string[] {
  try {
    parseStackConfig(raw, secret);
  } catch (error) {
    if (error instanceof StackConfigError) return error.problems;
    throw error;
  }
  return [];
}
