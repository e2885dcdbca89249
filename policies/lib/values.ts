/** Walking free-form values (Helm values, ConfigMap data) with the path a fix must edit. */

export interface Leaf {
  /** Dotted path from the root, with [i] for list items, e.g. `controller.service.type`. */
  path: string;
  key: string;
  value: unknown;
}

/** Every scalar (non-object, non-array) value under `root`, depth first. */
export function leaves(root: unknown, prefix = ""): Leaf[] {
  if (Array.isArray(root)) return root.flatMap((item, i) => leaves(item, `${prefix}[${i}]`));
  if (root === null || typeof root !== "object") return [];
  return Object.entries(root as Record<string, unknown>).flatMap(([key, value]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return value !== null && typeof value === "object" ? leaves(value, path) : [{ path, key, value }];
  });
}

/** An environment entry in free-form values: `{ name, value }` with a literal string value. */
export interface EnvEntry {
  /** Path of the entry itself, e.g. `controller.extraEnv[0]`. */
  path: string;
  name: string;
  value: string;
}

/** Every `{ name: string, value: non-empty string }` object under `root` (env lists in chart values). */
export function envEntries(root: unknown, prefix = ""): EnvEntry[] {
  if (Array.isArray(root)) return root.flatMap((item, i) => envEntries(item, `${prefix}[${i}]`));
  if (root === null || typeof root !== "object") return [];
  const record = root as Record<string, unknown>;
  const own =
    typeof record.name === "string" && typeof record.value === "string" && record.value !== ""
      ? [{ path: prefix, name: record.name, value: record.value }]
      : [];
  return [
    ...own,
    ...Object.entries(record).flatMap(([key, value]) => envEntries(value, prefix ? `${prefix}.${key}` : key)),
  ];
}

/** Key names that, by convention, hold credentials. Matched on word boundaries of camelCase, snake and kebab case. */
const SECRET_KEY_WORDS =
  /(^|[^a-z])(password|passwd|secret|token|apikey|api_key|api-key|privatekey|private_key|private-key|credentials?|accesskey|access_key)($|[^a-z])/i;

/**
 * Keys that name where a secret is (a file, a Secret's name, a key inside it), or a setting about
 * one (its endpoint, lifetime, length), rather than hold one. `secret_key` is not among them: in
 * AWS_SECRET_KEY or MINIO_SECRET_KEY it is the credential itself.
 */
const REFERENCE_KEY =
  /(^existing_)|(_(file|path|dir|ref|name|header|mount|url|uri|endpoint|ttl|lifetime|expiry|timeout|length|stdin|connector|interval(_[a-z]+)?))$|((password|token|user)_key)$/i;

/**
 * Credential words glued to a prefix, as environment variables often spell them (PGPASSWORD,
 * MYSQLPASSWD, CLIENTSECRET), and the short `pass` only as the last word (DB_PASS, never BYPASS or
 * PASS_THROUGH).
 */
const SECRET_KEY_GLUED =
  /([a-z0-9](password|passwd|secret|apikey|passphrase)\d*$)|((^|_)pass$)|(.+_pwd$)|(^passphrase$)/i;

/**
 * What counts as a secret-like name, for every policy: credential words on camelCase, snake and
 * kebab boundaries, or glued to the end of the name; never a name that says where a secret is.
 */
export function isSecretLikeKey(key: string): boolean {
  // camelCase and kebab-case boundaries become '_' so "adminPassword" and "ADMIN_PASSWORD" read alike.
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/-/g, "_");
  return (SECRET_KEY_WORDS.test(words) || SECRET_KEY_GLUED.test(words)) && !REFERENCE_KEY.test(words);
}

/** `key: value`, `key = value` and `"key": "value"` lines of a configuration file. */
const CONFIG_ASSIGNMENT =
  /^\s*["']?([A-Za-z0-9_.-]+)["']?\s*[:=]\s*["']?([^"'#\s,{}[\]][^"'#,]*?)["']?\s*,?\s*$/;
/** Values that name where a credential comes from rather than hold one. */
export const isIndirectValue = (value: string) => INDIRECT_VALUE.test(value.trim());
const INDIRECT_VALUE =
  /^(\$\{.*\}|\$\(.*\)|\$[A-Za-z_][A-Za-z0-9_]*|\$__(file|env)\{.*\}|%\(.*\)s|\{\{.*\}\}|null|~|none|true|false|<.*>|\*+)$/i;

/**
 * The secret-like keys a configuration file (YAML, INI, properties, JSON, one setting per line)
 * sets to a literal: `password: hunter2` in a mounted `app.yaml` is as readable as a ConfigMap key.
 * A reference (`${DB_PASSWORD}`, `{{ .Values.x }}`, an env var) or an empty value is not one.
 */
export function embeddedCredentials(text: string): string[] {
  const json = jsonObject(text);
  if (json !== undefined) {
    return leaves(json)
      .filter(({ key, value }) => typeof value === "string" && value.trim() !== "" && isSecretLikeKey(key))
      .filter(({ value }) => !isIndirectValue(String(value)))
      .map(({ key }) => key);
  }
  if (!text.includes("\n")) return [];
  const found: string[] = [];
  for (const line of text.split("\n")) {
    const match = CONFIG_ASSIGNMENT.exec(line);
    if (!match) continue;
    const [, key = "", value = ""] = match;
    if (isSecretLikeKey(key) && value.trim() !== "" && !isIndirectValue(value)) found.push(key);
  }
  return found;
}

/** Values that are credentials whatever their key: private keys, cloud access keys, URLs with a password. */
const SECRET_VALUE_PATTERNS: { pattern: RegExp; what: string }[] = [
  { pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: "a PEM private key" },
  { pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/, what: "an AWS access key id" },
  { pattern: /"type"\s*:\s*"service_account"/, what: "a GCP service-account key" },
  { pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, what: "a URL with an embedded password" },
  { pattern: /https:\/\/hooks\.slack\.com\/services\//, what: "a Slack webhook URL" },
];

export function secretValueKind(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  return SECRET_VALUE_PATTERNS.find(({ pattern }) => pattern.test(value))?.what;
}

/** `text` as a JSON object (a mounted config.json), or undefined. */
function jsonObject(text: string): unknown {
  if (!/^\s*\{/.test(text)) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === "object" ? parsed : undefined;
  } catch {
    return undefined;
  }
}
