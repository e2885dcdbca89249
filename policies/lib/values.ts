/** Walking free-form values (Helm values, ConfigMap data) with the path a fix must edit. */

/** A value in free-form values, with the path a fix must edit and the key it sits under. */
interface Node {
  /** Dotted path from the root, with [i] for list items, e.g. `controller.service.type`. */
  path: string;
  /** Its object key; undefined for a list item. */
  key: string | undefined;
  value: unknown;
}

/** Every value under `root` (objects, lists and scalars), each before what it holds, depth first. */
function nodes(root: unknown, prefix = "", key?: string): Node[] {
  const own: Node = { path: prefix, key, value: root };
  if (Array.isArray(root)) {
    return [own, ...root.flatMap((item, i) => nodes(item, `${prefix}[${i}]`))];
  }
  if (root === null || typeof root !== "object") return [own];
  return [
    own,
    ...Object.entries(root as Record<string, unknown>).flatMap(([child, value]) =>
      nodes(value, prefix ? `${prefix}.${child}` : child, child),
    ),
  ];
}

export interface Leaf {
  /** Dotted path from the root, with [i] for list items, e.g. `controller.service.type`. */
  path: string;
  key: string;
  value: unknown;
}

/**
 * Every scalar (non-object, non-array) value of an object key under `root`, depth first. Scalar list
 * items (`extraArgs: ["--x"]`) are not leaves: {@link stringLists} gives those lists whole.
 */
export function leaves(root: unknown): Leaf[] {
  return nodes(root).flatMap(({ path, key, value }) =>
    key !== undefined && (value === null || typeof value !== "object") ? [{ path, key, value }] : [],
  );
}

/** A list in free-form values that holds strings, e.g. a chart's `extraArgs`. */
export interface StringList {
  /** Path of the list itself, e.g. `controller.extraArgs`. */
  path: string;
  items: readonly unknown[];
}

/** Every list under `root` with at least one string item, depth first (lists inside list items too). */
export function stringLists(root: unknown): StringList[] {
  return nodes(root).flatMap(({ path, value }) =>
    Array.isArray(value) && value.some((item) => typeof item === "string") ? [{ path, items: value }] : [],
  );
}

/** An environment entry in free-form values: `{ name, value }` with a literal string value. */
export interface EnvEntry {
  /** Path of the entry itself, e.g. `controller.extraEnv[0]`. */
  path: string;
  name: string;
  value: string;
}

/** Every `{ name: string, value: non-empty string }` object under `root` (env lists in chart values). */
export function envEntries(root: unknown): EnvEntry[] {
  return nodes(root).flatMap(({ path, value }) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return [];
    const record = value as Record<string, unknown>;
    return typeof record.name === "string" && typeof record.value === "string" && record.value !== ""
      ? [{ path, name: record.name, value: record.value }]
      : [];
  });
}

/** Key names that, by convention, hold credentials. Matched on word boundaries of camelCase, snake and kebab case. */
const SECRET_KEY_WORDS =
  /(^|[^a-z])(password|passwd|passphrase|secret|token|apikey|api_key|api-key|privatekey|private_key|private-key|credentials?|accesskey|access_key)($|[^a-z])/i;

/**
 * Keys that name where a secret is (a file, a Secret's name, a key inside it), or a setting about
 * one (its endpoint, lifetime, length, issuer, audience, type, algorithm, store, provider, namespace,
 * version, scope, path prefix), rather than hold one. `secret_key` is not among them: in
 * AWS_SECRET_KEY or MINIO_SECRET_KEY it is the credential itself.
 *
 * A last word `secret` after password, passwd, passphrase or credential(s) (`passwordSecret`,
 * DB_PASSWORD_SECRET, `credentialsSecret`) names the Kubernetes Secret that holds it, as charts
 * spell it. Other credential words keep it: TOKEN_SECRET is many programs' signing key, OAuth 1's
 * ACCESS_TOKEN_SECRET, Proxmox's PM_API_TOKEN_SECRET, `apiKeySecret` and Alibaba Cloud's
 * `accessKeySecret` are the credentials themselves.
 */
const REFERENCE_KEY =
  /(^existing_)|(_(file|path|dir|ref|name|header|mount|url|uri|endpoint|ttl|lifetime|expiry|timeout|length|stdin|connector|interval(_[a-z]+)?|(milli)?seconds|ms|minutes|hours|days|count|size|enabled|required|issuers?|audiences?|types?|algorithms?|stores?|providers?|namespaces?|versions?|scopes?|prefix(es)?|env|env_var|var|arn|id|method|format|location|source|policy|complexity|regex|hasher|rounds|iterations|max_age|leeway|duration|limit|auth_style|class|volume|rotation))$|((password|passphrase|token|user)_key)$|((password|passwd|passphrase|credentials?)_secret)$/i;

/**
 * Credential words glued to a prefix, as environment variables often spell them (PGPASSWORD,
 * MYSQLPASSWD, CLIENTSECRET, GPGPASSPHRASE), and the short `pass` only as the last word (DB_PASS,
 * never BYPASS or PASS_THROUGH).
 */
const SECRET_KEY_GLUED = /([a-z0-9](password|passwd|secret|apikey|passphrase)\d*$)|((^|_)pass$)|(.+_pwd$)/i;

/**
 * What counts as a secret-like name, for every policy: credential words on camelCase, snake and
 * kebab boundaries, or glued to the end of the name; never a name that says where a secret is.
 */
export function isSecretLikeKey(key: string): boolean {
  // camelCase and kebab-case boundaries become '_' so "adminPassword" and "ADMIN_PASSWORD" read alike.
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/-/g, "_");
  return (SECRET_KEY_WORDS.test(words) || SECRET_KEY_GLUED.test(words)) && !REFERENCE_KEY.test(words);
}

/**
 * `key: value`, `key = value` and `"key": "value"` lines of a configuration file; a YAML list item
 * (`- key: value`); a shell or .env line (`KEY=value`, `export KEY=value`); each with an optional
 * trailing ` # comment`.
 */
const CONFIG_ASSIGNMENT =
  /^\s*(?:-\s+|export\s+)?["']?([A-Za-z0-9_.-]+)["']?\s*[:=]\s*["']?([^"'#\s,{}[\]][^"'#,]*?)["']?\s*,?(?:\s+#.*)?\s*$/;
/**
 * Values that name where a credential comes from rather than hold one: one or more references with
 * nothing but spaces between them (`${USER}${PASS}`, never `${A}hunter2${B}`), or a placeholder.
 */
export const isIndirectValue = (value: string) => INDIRECT_VALUE.test(value.trim());
/** One reference; each stops at its own closer, so literal text between two is not swallowed. */
const REFERENCE = String.raw`\$\{[^{}]*\}|\$\([^()]*\)|\$__(?:file|env)\{[^{}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|%\([^()]*\)s|\{\{(?:(?!\}\})[\s\S])*\}\}`;
const INDIRECT_VALUE = new RegExp(
  String.raw`^((?:${REFERENCE})(?:\s*(?:${REFERENCE}))*|null|~|none|true|false|<[^<>]*>|\*+)$`,
  "i",
);

/**
 * A single absolute path: `/` then path-name characters only (letters, digits, `_ . @ + = : ~ -`
 * and `/`), no spaces. Under a secret-like name (TLS_PRIVATE_KEY=/etc/tls/tls.key, `--token
 * /run/secrets/token`) it names where the secret is.
 */
const ABSOLUTE_PATH = /^\/[\w.@+=:~/-]*$/;

/**
 * Text that may hold a credential, for every policy: not empty or blank, not true or false in any
 * case (a switch: REQUIRE_API_KEY=true), not a reference or placeholder ({@link isIndirectValue}),
 * and not a single absolute path (a file that holds it). Digits are a credential like any text
 * (DB_PASSWORD=123456); a count or a lifetime is told apart by its name (TOKEN_EXPIRY_SECONDS,
 * TOKEN_TTL: see REFERENCE_KEY), not by its value. A secret shape ({@link secretValueKind}) is
 * judged apart, so `/`-prefixed text holding one is still found.
 */
export function isCredentialText(value: string): boolean {
  const text = value.trim();
  return (
    text !== "" &&
    !/^(true|false)$/i.test(text) &&
    !isIndirectValue(text) &&
    !ABSOLUTE_PATH.test(text) &&
    !isPublicPem(text)
  );
}

/** PEM blocks that are public by design (public keys, certificates) and hold no private key. */
function isPublicPem(text: string): boolean {
  return (
    /^-----BEGIN (PUBLIC KEY|RSA PUBLIC KEY|CERTIFICATE)-----/.test(text) && !/PRIVATE KEY-----/.test(text)
  );
}

/**
 * The secret-like keys a configuration file (YAML with its list items, INI, properties, JSON, shell
 * `export KEY=value` and .env lines, one setting per line)
 * sets to a literal: `password: hunter2` in a mounted `app.yaml` is as readable as a ConfigMap key.
 * A value {@link isCredentialText} refuses (a reference, a boolean, empty) is not one.
 */
export function embeddedCredentials(text: string): string[] {
  const json = jsonObject(text);
  if (json !== undefined) {
    return leaves(json)
      .filter(
        ({ key, value }) => typeof value === "string" && isSecretLikeKey(key) && isCredentialText(value),
      )
      .map(({ key }) => key);
  }
  if (!text.includes("\n")) return [];
  const found: string[] = [];
  for (const line of text.split("\n")) {
    const match = CONFIG_ASSIGNMENT.exec(line);
    if (!match) continue;
    const [, key = "", value = ""] = match;
    if (isSecretLikeKey(key) && isCredentialText(value)) found.push(key);
  }
  return found;
}

/** `scheme://user:password@` (the user may be empty, as in `redis://:password@`), the password captured. */
const URL_USERINFO = /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:([^/\s@]+)@/gi;

/** Values that are credentials whatever their key: private keys, cloud access keys, URLs with a password. */
const SECRET_VALUE_PATTERNS: { test: (value: string) => boolean; what: string }[] = [
  { test: (v) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v), what: "a PEM private key" },
  { test: (v) => /\b(AKIA|ASIA)[0-9A-Z]{16}\b/.test(v), what: "an AWS access key id" },
  { test: (v) => /"type"\s*:\s*"service_account"/.test(v), what: "a GCP service-account key" },
  {
    // A password slot that is only a reference (`:${DB_PASSWORD}@`, `:$(DB_PASSWORD)@`) names
    // where the password comes from: it is not embedded.
    test: (v) => [...v.matchAll(URL_USERINFO)].some(([, password = ""]) => !isIndirectValue(password)),
    what: "a URL with an embedded password",
  },
  { test: (v) => /https:\/\/hooks\.slack\.com\/services\//.test(v), what: "a Slack webhook URL" },
];

/** The values {@link secretValueKind} recognises, as a policy's catalog entry names them. */
export const SECRET_VALUE_SHAPES = `${SECRET_VALUE_PATTERNS.map(({ what }, i, all) =>
  i === all.length - 1 ? `or ${what}` : what,
).join(
  ", ",
)} (a URL whose password is only a reference, such as \`:\${DB_PASSWORD}@\` or \`:$(DB_PASSWORD)@\`, embeds none)`;

/** The names {@link isSecretLikeKey} accepts and refuses, as a policy's catalog entry names them. */
export const SECRET_KEY_SPELLINGS =
  "secret-like (password, passwd, passphrase, secret, token, api key, private key, credential(s) or access key as a word on camelCase, snake_case or kebab-case boundaries; password, passwd, passphrase, secret or apikey glued to a prefix, as in PGPASSWORD, CLIENTSECRET or GPGPASSPHRASE; pass or pwd as the last word, as in DB_PASS or MYSQL_PWD; not a name that says where a secret is or describes it, such as `*_file`, `*_path`, `*_name`, `*_ref`, `*_url`, `*_endpoint`, `*_ttl`, `*_length`, `*_seconds`, `*_count`, `*_enabled`, `*_issuer`, `*_audience`, `*_type`, `*_algorithm`, `*_store`, `*_provider`, `*_namespace`, `*_version`, `*_scope`, `*_prefix`, `*_env`, `*_var`, `*_arn`, `*_id`, `*_method`, `*_format`, `*_source`, `*_policy`, `*_limit`, `*_class`, `existing*` or `passwordKey`, nor one naming the Kubernetes Secret that holds it: password, passwd, passphrase or credential(s) followed by `secret` as the last word, as in `passwordSecret` or DB_PASSWORD_SECRET, while TOKEN_SECRET, ACCESS_TOKEN_SECRET, `apiKeySecret` or `accessKeySecret` are secret-like)";

/** The values {@link isIndirectValue} reads as references, as a policy's catalog entry names them. */
export const INDIRECT_VALUE_SPELLINGS =
  "`${VAR}`, `$(VAR)`, `$VAR`, `$__file{...}`, `$__env{...}`, `%(...)s` or `{{ ... }}` alone or several with only spaces between them, `<...>`, `***`, null, ~, none, true or false";

/** What {@link isSecretLikeKey} and {@link isCredentialText} let through by design, for a policy's limits. */
export const CREDENTIAL_TEXT_LIMITS =
  "A credential that reads as a single absolute path (a base64 key starting with /) passes unless it has one of the value shapes, and so does one under a name read as a Secret's name or as a setting about a secret (DB_PASSWORD_SECRET, as `passwordSecret`).";

/** What {@link isCredentialText} accepts, as a policy's catalog entry names it. */
export const CREDENTIAL_TEXT = `text that may be a credential, digits included: not blank, not a reference or placeholder (${INDIRECT_VALUE_SPELLINGS}; any case), not a single absolute path naming the file that holds it (\`/\` then path-name characters, no spaces), and not a PEM public key or certificate without a private key`;

export function secretValueKind(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  return SECRET_VALUE_PATTERNS.find(({ test }) => test(value))?.what;
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
