/**
 * Builds the engine's config map for a render: the stack file's `config:` values, the caller's
 * overrides, and placeholders for secrets that a stack file never holds in plain text.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { SECRET_KEYS } from "../config/schema.js";
import type { RenderOptions } from "./types.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Values the render uses for secrets; the real ones live encrypted in the Pulumi backend. */
export const RENDER_SECRETS: Record<(typeof SECRET_KEYS)[number], string> = {
  oidcClientSecret: "render-placeholder-oidc-client-secret",
  slackWebhookUrl: "https://hooks.slack.com/services/T0000000/B0000000/render-placeholder",
  kubeconfig: [
    "apiVersion: v1",
    "kind: Config",
    "clusters: [{ name: existing, cluster: { server: https://k8s.plinth.example.com } }]",
    "users: [{ name: plinth, user: { token: render-placeholder } }]",
    "contexts: [{ name: existing, context: { cluster: existing, user: plinth } }]",
    "current-context: existing",
  ].join("\n"),
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; anything else replaces; null removes. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete merged[key];
    else merged[key] = deepMerge(base[key], value);
  }
  return merged;
}

/** The `plinth:*` values (prefix stripped) of Pulumi.<stack>.yaml; `secure:` values become placeholders. */
export function readStackFile(stack: string): { values: Record<string, unknown>; secureKeys: string[] } {
  const document = parse(readFileSync(`${REPO_ROOT}Pulumi.${stack}.yaml`, "utf8")) as {
    config?: Record<string, unknown>;
  };
  const values: Record<string, unknown> = {};
  const secureKeys: string[] = [];
  for (const [fullKey, value] of Object.entries(document.config ?? {})) {
    const [namespace, key] = fullKey.split(":", 2);
    if (namespace !== "plinth" || !key) continue;
    if (isPlainObject(value) && "secure" in value) {
      secureKeys.push(key);
      values[key] = RENDER_SECRETS[key as keyof typeof RENDER_SECRETS] ?? `render-placeholder-${key}`;
    } else {
      values[key] = value;
    }
  }
  return { values, secureKeys };
}

/**
 * The engine-side config for a render, as the Pulumi CLI would pass it: `plinth:key` -> text
 * (objects as JSON), and the list of secret keys.
 */
export function renderConfig(options: RenderOptions): {
  config: Record<string, string>;
  secretKeys: string[];
} {
  const { values, secureKeys } = readStackFile(options.stack);
  const overrides: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options.config ?? {}))
    overrides[key.replace(/^plinth:/, "")] = value;
  if (options.cloud) overrides.cloud = options.cloud;
  const merged = deepMerge(values, overrides) as Record<string, unknown>;
  const secrets = new Set(secureKeys);
  // Secrets a real stack keeps encrypted in the backend: present them as secrets, as the CLI would.
  for (const key of SECRET_KEYS) {
    if (!(key in merged) && !(key in overrides)) merged[key] = RENDER_SECRETS[key];
    if (!(key in overrides)) secrets.add(key);
  }
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(merged)) {
    config[`plinth:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { config, secretKeys: [...secrets].filter((key) => key in merged).map((key) => `plinth:${key}`) };
}
