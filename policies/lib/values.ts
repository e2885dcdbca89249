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

/** Key names that, by convention, hold credentials. Matched on word boundaries of camelCase, snake and kebab case. */
const SECRET_KEY_WORDS =
  /(^|[^a-z])(password|passwd|secret|token|apikey|api_key|api-key|privatekey|private_key|private-key|credentials?|accesskey|access_key)($|[^a-z])/i;

/** Keys that name where a secret is (a file, a Secret's name, a key inside it) rather than hold one. */
const REFERENCE_KEY =
  /(^existing_)|(_(file|path|dir|ref|name|header|mount))$|((password|secret|token|user)_key)$/i;

export function isSecretLikeKey(key: string): boolean {
  // camelCase and kebab-case boundaries become '_' so "adminPassword" and "ADMIN_PASSWORD" read alike.
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/-/g, "_");
  return SECRET_KEY_WORDS.test(words) && !REFERENCE_KEY.test(words);
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
