/**
 * Reads the `plinth:` namespace from the Pulumi config, validates it against the one stack schema
 * and reports every problem at once, each with its config path. Secrets come back as Pulumi
 * secrets; nothing else in the program reads config.
 */
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config.js";
import type { z } from "zod";
import {
  configPath,
  SECRET_KEYS,
  stackConfigSchema,
  type ParsedStackConfig,
  type SecretKey,
} from "./schema.js";

export { configPath } from "./schema.js";

const NAMESPACE = "plinth";

/**
 * Whether the engine marked a config key secret. The SDK exports this from runtime/config but
 * leaves it out of its typings (@internal); it is what Config.get uses to warn about secret reads.
 */
const isConfigSecret = (runtimeConfig as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;

/** Every problem in a stack's config, one line each: `plinth:<path>: <what was expected>`. */
export class StackConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ${problems.join("\n  ")}`,
    );
    this.name = "StackConfigError";
  }
}

/** The validated config the program composes the stack from. */
export type StackConfig = Omit<ParsedStackConfig, SecretKey> & {
  /** Pulumi stack name (staging, production, ...). */
  readonly stack: string;
  readonly secrets: {
    readonly [K in SecretKey]: K extends "oidcClientSecret"
      ? pulumi.Output<string>
      : pulumi.Output<string> | undefined;
  };
};

function describe(issue: z.core.$ZodIssue): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${configPath([...issue.path, key])}: unknown key`);
  }
  const missing = issue.code === "invalid_type" && issue.input === undefined;
  return [`${configPath(issue.path)}: ${missing ? `required, ${issue.message}` : issue.message}`];
}

/**
 * Validates decoded `plinth:*` values (keys without the prefix). `isSecret` says whether a key was
 * stored as a secret; a secret key set in plain text is an error, since the value is already leaked
 * into the stack file.
 */
export function parseStackConfig(
  raw: Record<string, unknown>,
  isSecret: (key: string) => boolean,
): ParsedStackConfig {
  const result = stackConfigSchema.safeParse(raw, { reportInput: true });
  const problems = result.success ? [] : result.error.issues.flatMap(describe);
  for (const key of SECRET_KEYS) {
    if (raw[key] !== undefined && !isSecret(key)) {
      problems.push(
        `${configPath([key])}: must be a secret; set it with \`pulumi config set --secret ${NAMESPACE}:${key}\``,
      );
    }
  }
  if (problems.length > 0 || !result.success) throw new StackConfigError(problems);
  return result.data;
}

/**
 * Pulumi hands structured config to the program as JSON text; scalars arrive as plain strings.
 * Secrets are never decoded (a kubeconfig may itself be JSON).
 */
export function decodeConfigValue(key: string, text: string): unknown {
  if ((SECRET_KEYS as readonly string[]).includes(key)) return text;
  if (text === "true" || text === "false" || text.startsWith("{") || text.startsWith("[")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** Reads and validates the current stack's `plinth:*` config; throws StackConfigError listing every problem. */
export function readStackConfig(): StackConfig {
  const raw: Record<string, unknown> = {};
  for (const [fullKey, text] of Object.entries(pulumi.runtime.allConfig())) {
    const [namespace, key] = fullKey.split(":", 2);
    if (namespace === NAMESPACE && key) raw[key] = decodeConfigValue(key, text);
  }
  const isSecret = (key: string) => isConfigSecret(`${NAMESPACE}:${key}`);
  const { oidcClientSecret, kubeconfig, slackWebhookUrl, ...plain } = parseStackConfig(raw, isSecret);
  const secret = (value: string | undefined) => (value === undefined ? undefined : pulumi.secret(value));
  return {
    ...plain,
    stack: pulumi.getStack(),
    secrets: {
      oidcClientSecret: pulumi.secret(oidcClientSecret),
      kubeconfig: secret(kubeconfig),
      slackWebhookUrl: secret(slackWebhookUrl),
    },
  };
}
