/**
 * Every setting of the inference service, read from the environment and validated once at start.
 *
 * The environment is the only place settings come from; nothing else in the service reads
 * `process.env`. `loadConfig` reports every bad variable at once, each by its name, so a
 * misconfigured pod fails its start with a message an operator can act on.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { hashApiKey } from "./contract/api-key.js";
import { MODEL_NAME_PATTERN } from "./contract/model-name.js";
import { ENV, type EnvName } from "./contract/service-env.js";
import { modelReferenceProblem } from "./registry/model-uri.js";
import { parseModelRepository, type RepositoryModel } from "./registry/model-repository-setting.js";
import { isRole, ROLES, type Role } from "./auth/roles.js";
import { OBSERVABILITY_SETTINGS, observabilityConfig, type ObservabilityConfig } from "./ops/settings.js";
import { schemaShape, secretNames, settingDocs, type SettingsTable } from "./settings-table.js";
import { MIN_BUCKET_KEY_LENGTH } from "./rollout/buckets.js";

/** The names and the key hash are the contract's (the platform imports them from there). */
export { ENV, hashApiKey, type EnvName };

const SHA256_HEX = /^[0-9a-f]{64}$/;
const IDENTITY = /^[A-Za-z0-9._@-]{1,64}$/;
const JWT_ALGORITHMS = ["HS256", "RS256", "ES256"] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** An API key identity: who is calling (rate-limit bucket, logs) and the sha256 of the key. */
export interface ApiKeyEntry {
  readonly identity: string;
  readonly sha256: string;
  /** Roles from API_KEY_ROLES; none when absent. */
  readonly roles?: readonly Role[];
}

// --- field parsers -----------------------------------------------------------------------------

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** https, or plain http to this machine only (a JWKS served beside the service, a test's). */
export function isSafeJwksUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);
}
const optionalText = z
  .string()
  .trim()
  .transform((s) => (s === "" ? undefined : s))
  .optional();

/** `a,b, c` -> ["a","b","c"]; empty items are ignored. */
function csv(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** `identity:value,identity:value` pairs; identities must be unique. */
function identityPairs(valueCheck: (v: string) => string | undefined) {
  return z.string().transform((text, ctx) => {
    const out: { identity: string; value: string }[] = [];
    for (const item of csv(text)) {
      const at = item.indexOf(":");
      const identity = at < 0 ? "" : item.slice(0, at);
      const value = at < 0 ? "" : item.slice(at + 1);
      if (!IDENTITY.test(identity)) {
        ctx.addIssue({
          code: "custom",
          message: `expected "identity:value" pairs (identity [A-Za-z0-9._@-]{1,64})`,
        });
        return z.NEVER;
      }
      const problem = valueCheck(value);
      if (problem !== undefined) {
        ctx.addIssue({ code: "custom", message: `identity "${identity}": ${problem}` });
        return z.NEVER;
      }
      if (out.some((e) => e.identity === identity)) {
        ctx.addIssue({ code: "custom", message: `identity "${identity}" appears twice` });
        return z.NEVER;
      }
      out.push({ identity, value });
    }
    return out;
  });
}

const bucketList = z.string().transform((text, ctx) => {
  const values = csv(text).map(Number);
  const ok =
    values.length > 0 &&
    values.every((v, i) => Number.isFinite(v) && v > 0 && (i === 0 || v > values[i - 1]!));
  if (!ok) {
    ctx.addIssue({
      code: "custom",
      message: "expected a comma-separated list of increasing positive numbers",
    });
    return z.NEVER;
  }
  return values;
});

/** proxy-addr's names for address ranges, as fastify's trustProxy takes them. */
const PROXY_RANGE_NAMES = ["loopback", "linklocal", "uniquelocal"];

/** An address or CIDR (`10.0.0.0/8`, `fd00::/8`) or a range name; undefined when well-formed. */
function proxyEntryProblem(entry: string): string | undefined {
  if (PROXY_RANGE_NAMES.includes(entry)) return undefined;
  const [address = "", prefix, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0)
    return `${entry} is not an address, a CIDR or ${PROXY_RANGE_NAMES.join("/")}`;
  if (prefix === undefined) return undefined;
  const bits = Number(prefix);
  const max = family === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(prefix) && bits <= max ? undefined : `${entry} has a prefix outside 0-${max}`;
}

/** Comma-separated trusted proxies; empty trusts none. */
const trustedProxyList = z.string().transform((text, ctx) => {
  const entries = csv(text);
  for (const entry of entries) {
    const problem = proxyEntryProblem(entry);
    if (problem !== undefined) {
      ctx.addIssue({ code: "custom", message: problem });
      return z.NEVER;
    }
  }
  return entries;
});

/**
 * A Redis URL the limiter may use: `rediss://` (TLS), or `redis://` to this machine only, since a
 * password sent in clear crosses the network otherwise. Undefined when acceptable.
 */
export function redisUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "expected a URL like rediss://:password@host:6379";
  }
  if (url.protocol !== "rediss:" && url.protocol !== "redis:") {
    return `expected rediss:// (or redis:// to a loopback address), not ${url.protocol}//`;
  }
  if (url.hostname === "") return "expected a host, as in rediss://:password@host:6379";
  if (url.protocol === "redis:" && !["127.0.0.1", "[::1]", "localhost"].includes(url.hostname)) {
    return "expected rediss:// (TLS): plain redis:// is accepted only to a loopback address";
  }
  if (url.pathname !== "" && url.pathname !== "/" && !/^\/\d{1,2}$/.test(url.pathname)) {
    return "expected at most a database number as the path, as in rediss://host:6379/0";
  }
  return undefined;
}

/** A version, an alias, or a URI: models:/<name>@<alias>, models:/<name>/<version>, file:<dir>. */
const MODEL_REF = z.string().superRefine((text, ctx) => {
  const problem = modelReferenceProblem(text);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});
/** A percentage with at most two decimals: routing works in hundredths of a percent. */
const percent = z.coerce
  .number()
  .min(0)
  .max(100)
  .refine((n) => Number.isInteger(Math.round(n * 100 * 1e6) / 1e6), "expected at most two decimals");
const ROLLOUT_STRATEGIES = ["single", "canary", "shadow"] as const;
export type RolloutStrategy = (typeof ROLLOUT_STRATEGIES)[number];

/** The default cost budget per allowed request (RATE_LIMIT_COST_MAX = this x RATE_LIMIT_MAX). */
const COST_PER_REQUEST_ALLOWANCE = 10;

const DEFAULT_HTTP_BUCKETS = "0.0005,0.001,0.0025,0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5";

/**
 * One declaration per variable, keyed by the contract's names (a missing or unknown name does not
 * compile): its parser and default, its docs line, and whether its value is a credential.
 */
const SETTINGS = {
  HOST: {
    schema: z.string().trim().min(1).default("127.0.0.1"),
    doc: "Public HTTP listen address. Default `127.0.0.1`; `0.0.0.0` in a container.",
  },
  PORT: { schema: int(0, 65535).default(8080), doc: "Public HTTP port. Default `8080`." },
  METRICS_HOST: {
    schema: z.string().trim().min(1).default("127.0.0.1"),
    doc: "Listen address of the internal metrics server. Default `127.0.0.1`.",
  },
  METRICS_PORT: {
    schema: int(0, 65535).default(9464),
    doc: "Port of the internal metrics server (`GET /metrics`); never the public port. Default `9464`.",
  },
  MODEL_NAME: {
    schema: z
      .string()
      .regex(MODEL_NAME_PATTERN, "expected a model name like fashion-classifier")
      .default("fashion-classifier"),
    doc: "Registered model to serve. Default `fashion-classifier`.",
  },
  MODEL_STABLE: {
    schema: MODEL_REF.default("champion"),
    doc: "Stable model: a version number or alias of `MODEL_NAME`, or `models:/<name>@<alias>`, `models:/<name>/<version>`, `file:<dir>`. Default `champion`.",
  },
  MODEL_CANDIDATE: {
    schema: MODEL_REF.optional(),
    doc: "Candidate model, in the forms of `MODEL_STABLE` (e.g. `challenger`); required by canary and shadow, refused by single.",
  },
  ROLLOUT_STRATEGY: {
    schema: z.enum(ROLLOUT_STRATEGIES).default("single"),
    doc: "`single` (stable only), `canary` (split by `CANDIDATE_WEIGHT`) or `shadow` (candidate scores off the response path). Default `single`.",
  },
  CANDIDATE_WEIGHT: {
    schema: percent.optional(),
    doc: "Canary only: percent (0-100, two decimals) of sticky keys routed to the candidate. Raising it only moves keys to the candidate. Default `0`.",
  },
  SHADOW_PERCENT: {
    schema: percent.optional(),
    doc: "Shadow only: percent (0-100) of requests the candidate also scores. Default `100`.",
  },
  SHADOW_QUEUE_MAX: {
    schema: int(1, 100_000).default(64),
    doc: "Shadow requests allowed to wait for the candidate; beyond it they are dropped and counted. Default `64`.",
  },
  STICKY_HEADER: {
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "expected an HTTP header name")
      .default("x-user-id"),
    doc: "Request header whose value keeps a caller on one variant in a canary; without it each request is routed by its prediction id. Default `x-user-id`.",
  },
  ROLLOUT_BUCKET_KEY: {
    schema: optionalText.refine((s) => s === undefined || s.length >= MIN_BUCKET_KEY_LENGTH, {
      message: `must be at least ${MIN_BUCKET_KEY_LENGTH} characters`,
    }),
    doc: "Secret key (at least 32 characters, the same on every replica) of the HMAC that maps sticky keys to canary buckets, so clients cannot choose keys that land on the candidate. Unset: a random key per process, with a warning; the split holds, but a key may land on another variant on another replica.",
    secret: true,
  },
  CANDIDATE_TIMEOUT_MS: {
    schema: int(1, 600_000).default(1000),
    doc: "Longest a routed request waits for the candidate before it is answered by stable. Default `1000`.",
  },
  CANDIDATE_CIRCUIT_THRESHOLD: {
    schema: int(1, 1_000_000).default(5),
    doc: "Consecutive candidate failures (errors, timeouts; never refusals of callers such as a full queue) that open its circuit: all traffic to stable until a probe succeeds or the candidate is reloaded. Default `5`.",
  },
  CANDIDATE_CIRCUIT_COOLDOWN_MS: {
    schema: int(100, 3_600_000).default(30_000),
    doc: "How long an open circuit waits before it half-opens and lets one probe request through to the candidate: success closes it, failure re-opens it for twice as long (at most 32 times this). Default `30000`.",
  },
  CANDIDATE_IDENTITY_SHARE: {
    schema: z.coerce.number().gt(0).max(100).default(25),
    doc: "Percent of `QUEUE_MAX_ROWS` one caller (authenticated identity, else client address) may hold queued or running on the candidate; beyond it its requests get 429 + Retry-After, which never count as candidate failures. Default `25`.",
  },
  MODEL_WATCH_INTERVAL_MS: {
    schema: int(0, 86_400_000)
      .refine((n) => n === 0 || n >= 100, "expected 0 (off) or at least 100")
      .default(0),
    doc: "How often the registry aliases are polled; a changed version is loaded and swapped in. `0` disables. Default `0`.",
  },
  MODEL_REPOSITORY: {
    schema: z
      .string()
      .transform((text, ctx) => {
        const models = parseModelRepository(text);
        if (typeof models !== "string") return models;
        ctx.addIssue({ code: "custom", message: models });
        return z.NEVER;
      })
      .default(() => []),
    doc: "Models served beside `MODEL_NAME` by the same process, as `name=reference` pairs (references in the forms of `MODEL_STABLE`, e.g. `iris=models:/iris@champion,churn=file:/models/churn`); each has a stable variant only, per-model readiness and metrics, and the `/v2/repository` endpoints load and unload it. Default: none (one model per process).",
  },
  PLINTH_REGISTRY_DIR: {
    schema: optionalText,
    doc: "Local model registry folder. Default: the registry's built-in `models/`.",
  },
  MLFLOW_TRACKING_URI: {
    schema: optionalText.refine((s) => s === undefined || /^https?:\/\/[^/]/.test(s), {
      message: "expected the MLflow tracking server's http(s):// URL",
    }),
    doc: "MLflow tracking server (`http(s)://...`). When set, model references resolve in MLflow's registry and versions are downloaded through its artifact proxy.",
  },
  MLFLOW_TRACKING_TOKEN: {
    schema: optionalText,
    doc: "Bearer token sent to MLflow, when it requires one.",
    secret: true,
  },
  MODEL_CACHE_DIR: {
    schema: optionalText,
    doc: "Where MLflow model versions are downloaded and verified. Default: `plinth-model-cache` in the OS temp folder.",
  },
  MODEL_ALLOW_UNTAGGED: {
    schema: z.enum(["true", "false"]).default("false"),
    doc: "`true` serves MLflow versions without the `plinth.model_sha256` tag (e.g. logged with `mlflow.onnx.log_model`) unverified, and tagged versions whose configuration file (`model-config.json`, else `MLmodel`) has no `plinth.model_config_sha256` tag with that file unverified: the sha256 is computed on download and a warning names the version. A tag that is present is always checked. Default `false` (such versions are refused).",
  },
  API_KEY_HASHES: {
    schema: identityPairs((v) =>
      SHA256_HEX.test(v) ? undefined : "expected a lowercase hex sha256",
    ).default([]),
    doc: "API keys as `identity:sha256hex` pairs, comma-separated (the production form).",
    secret: true,
  },
  API_KEYS: {
    schema: identityPairs((v) =>
      v.length >= 16 ? undefined : "an API key must be at least 16 characters",
    ).default([]),
    doc: "Plaintext API keys as `identity:key` pairs (local development; hashed at start, at least 16 characters).",
    secret: true,
  },
  API_KEY_ROLES: {
    schema: identityPairs((v) => {
      const names = v.split("+");
      const bad = names.filter((n) => !isRole(n));
      return bad.length === 0
        ? undefined
        : `unknown role "${bad[0]}" (roles: ${ROLES.join(", ")}; join with +)`;
    }).default([]),
    doc: "Roles of API-key identities as `identity:role+role` pairs (roles: `admin`, `ops-read`, `force-variant`).",
  },
  JWT_HS256_SECRET: {
    schema: optionalText.refine((s) => s === undefined || Buffer.byteLength(s) >= 32, {
      message: "must be at least 32 bytes (HS256 needs a 256-bit key)",
    }),
    doc: "Shared secret for HS256 tokens, at least 32 bytes.",
    secret: true,
  },
  JWT_JWKS_FILE: {
    schema: optionalText,
    doc: "Path of a JWKS file with the RS256/ES256 public keys (selected by `kid`).",
  },
  JWT_JWKS_URL: {
    schema: optionalText.refine((s) => s === undefined || isSafeJwksUrl(s), {
      message:
        "expected an https:// URL (plain http only to a loopback address): keys fetched over plain " +
        "HTTP can be swapped by anyone on the path, and with them every token accepted",
    }),
    doc: "URL of a JWKS endpoint (cached; refetched on an unknown `kid`). https, or http to a loopback address.",
  },
  JWT_ISSUER: { schema: optionalText, doc: "Required `iss` of tokens; required when JWT is configured." },
  JWT_AUDIENCE: { schema: optionalText, doc: "Required `aud` of tokens; required when JWT is configured." },
  JWT_ALGORITHMS: {
    schema: z
      .string()
      .transform((text, ctx) => {
        const algs = csv(text);
        const bad = algs.filter((a) => !(JWT_ALGORITHMS as readonly string[]).includes(a));
        if (bad.length > 0 || algs.length === 0) {
          ctx.addIssue({
            code: "custom",
            message: `expected a list of ${JWT_ALGORITHMS.join(", ")}; got ${text}`,
          });
          return z.NEVER;
        }
        return [...new Set(algs)] as JwtAlgorithm[];
      })
      .optional(),
    doc: "Accepted algorithms (HS256, RS256, ES256). Default: HS256 with a secret, RS256+ES256 with a JWKS.",
  },
  JWT_IDENTITY_CLAIM: {
    schema: z.string().trim().min(1).default("sub"),
    doc: "Claim naming the caller (rate-limit bucket). Default `sub`.",
  },
  JWT_ROLES_CLAIM: {
    schema: z.string().trim().min(1).default("roles"),
    doc: "Claim listing the caller's roles (array or space-separated; `admin`, `ops-read`, `force-variant`). Default `roles`.",
  },
  JWT_CLOCK_TOLERANCE_SECONDS: {
    schema: int(0, 300).default(5),
    doc: "Allowed clock skew for `exp`/`nbf`. Default `5`.",
  },
  JWT_MAX_LIFETIME_SECONDS: {
    schema: int(60, 30 * 86_400).default(86_400),
    doc:
      "Longest a token may be valid: its `exp` at most this long after its `iat` (after now when it has " +
      "no `iat`), so a leaked long-lived token is refused. Default `86400` (a day).",
  },
  RATE_LIMIT_MAX: {
    schema: int(1, 100_000_000).default(6000),
    doc: "Requests per identity per window. Default `6000`.",
  },
  RATE_LIMIT_WINDOW_MS: {
    schema: int(100, 86_400_000).default(60_000),
    doc: "Rate-limit window in milliseconds. Default `60000`.",
  },
  AUTH_FAILURE_LIMIT: {
    schema: int(0, 1_000_000).default(20),
    doc: "Wrong keys or tokens allowed per client address per window; then 429 until it ends. `0` disables. Default `20`.",
  },
  AUTH_FAILURE_WINDOW_MS: {
    schema: int(1000, 86_400_000).default(300_000),
    doc: "Window of `AUTH_FAILURE_LIMIT`, in milliseconds. Default `300000`.",
  },
  RATE_LIMIT_COST_MAX: {
    schema: int(0, 1_000_000_000).optional(),
    doc: "Cost units per identity per window: a request costs 1, plus its rows on `/predict` (and `/models/{name}/predict`) and `/v2` inference, plus its megapixels (rounded up; a multipart upload: `IMAGE_MAX_PIXELS`'s) on `/predict-image` (and `/models/{name}/predict-image`), ten times that on `/predict-image/explain`; a request past the budget gets 429 and is not charged. `0` disables. Default: 10 x `RATE_LIMIT_MAX`.",
  },
  RATE_LIMIT_COST_WINDOW_MS: {
    schema: int(100, 86_400_000).optional(),
    doc: "Window of `RATE_LIMIT_COST_MAX`, in milliseconds. Default: `RATE_LIMIT_WINDOW_MS`.",
  },
  RATE_LIMIT_REDIS_URL: {
    schema: optionalText.superRefine((text, ctx) => {
      const problem = text === undefined ? undefined : redisUrlProblem(text);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    }),
    doc: "Redis shared by every replica for the rate limit, the cost budget and the failed-auth limit, as `rediss://:password@host:port` (TLS) or `redis://` (loopback only). Unset: each process limits on its own (one replica).",
    secret: true,
  },
  RATE_LIMIT_REDIS_CA_FILE: {
    schema: optionalText,
    doc: "PEM file of the CA that signed the Redis server's certificate, for a private CA. Default: the system's CAs.",
  },
  RATE_LIMIT_REDIS_TIMEOUT_MS: {
    schema: int(10, 10_000).default(250),
    doc: "Longest a limit check waits for Redis before it counts as down. Default `250`.",
  },
  RATE_LIMIT_REDIS_FAILURE_MODE: {
    schema: z.enum(["per-pod", "closed"]).default("per-pod"),
    doc: "While Redis is unreachable: `per-pod` limits each process on its own (protection weakens by the replica count, never disappears); `closed` answers limited routes with 503. Default `per-pod`.",
  },
  TRUST_PROXY: {
    schema: trustedProxyList.default(() => []),
    doc: "Proxies whose `X-Forwarded-For` names the client address (failed-auth limit, logs): addresses, CIDRs, `loopback`, `uniquelocal`. Default: none (the connection's address).",
  },
  BATCH_MAX_SIZE: {
    schema: int(1, 1024).default(32),
    doc: "Largest micro-batch passed to `session.run`. Default `32`.",
  },
  BATCH_MAX_DELAY_MS: {
    // 0 since #22's curves: a 1 ms wait held a lone caller to ~700 req/s (KServe: ~1,200) and bought
    // no throughput at saturation, where batches form from what arrives while a run is busy.
    schema: z.coerce.number().min(0).max(1000).default(0),
    doc: "Longest a row of plinth's own models waits for a batch to fill, in ms (fractions allowed; `0`: the next turn of the event loop, so a lone request waits for nothing and a batch holds what arrived meanwhile). Other models: their configuration's `batching.maxDelayMs` (docs/model-configuration.md). Default `0`.",
  },
  QUEUE_MAX_ROWS: {
    schema: int(1, 1_000_000).default(2048),
    doc: "Rows allowed to wait; beyond it requests get 503 + Retry-After. Default `2048`.",
  },
  ORT_INTRA_OP_THREADS: {
    schema: int(1, 256).default(1),
    doc: "ONNX Runtime intra-op threads. Default `1`.",
  },
  ORT_INTER_OP_THREADS: {
    schema: int(1, 256).default(1),
    doc: "ONNX Runtime inter-op threads. Default `1`.",
  },
  INFERENCE_OFFLOAD: {
    schema: z.enum(["auto", "never", "always"]).default("auto"),
    doc: "`auto` (measure at warm-up; a shadow candidate always), `never` or `always` run inference in a worker thread. Default `auto`.",
  },
  INFERENCE_OFFLOAD_THRESHOLD_MS: {
    schema: z.coerce.number().positive().max(10_000).default(5),
    doc: "With `auto`: offload when a full batch takes longer than this. Default `5`.",
  },
  BODY_LIMIT_BYTES: {
    schema: int(1024, 256 * 1024 * 1024).default(4 * 1024 * 1024),
    doc: "Largest request body; larger gets 413. Default `4194304`.",
  },
  MAX_ROWS_PER_REQUEST: {
    schema: int(1, 100_000).default(64),
    doc: "Most rows in one request; more gets 400. Default `64`.",
  },
  IMAGE_MAX_PIXELS: {
    schema: int(1, 268_402_689).default(16_777_216),
    doc: "Largest image (width x height, from its header) decoded; larger gets 400. Default `16777216`.",
  },
  SHARP_CONCURRENCY: {
    schema: int(1, 64).default(1),
    doc: "libvips threads per sharp operation. Default `1`.",
  },
  EXPLAIN_MAX_PIXELS: {
    schema: int(1, 268_402_689).default(4_194_304),
    doc:
      "Largest image (width x height, from its header) `/predict-image/explain` decodes (it decodes twice and " +
      "draws a heatmap, so it costs more than `/predict-image`); larger gets 400 `IMAGE_TOO_LARGE`. " +
      "`IMAGE_MAX_PIXELS` applies as well. Default `4194304` (2048 x 2048).",
  },
  EXPLAIN_HEATMAP_MAX_SIDE: {
    schema: int(28, 8192).default(512),
    doc: "Longest side of the explain heatmap; larger uploads are drawn scaled down to it, so the response size is bounded. Default `512`.",
  },
  EXPLAIN_CONCURRENCY: {
    schema: int(1, 64).default(1),
    doc:
      "Explains run at once per process, each holding one of libuv's threads (the pool `/predict-image` " +
      "decodes on) while sharp works; must be below `UV_THREADPOOL_SIZE` (libuv's, default 4). Default `1`.",
  },
  EXPLAIN_QUEUE_MAX: {
    schema: int(0, 1000).default(4),
    doc: "Explains allowed to wait for a slot; beyond it 503 `OVERLOADED` + Retry-After at once. Default `4`.",
  },
  MAX_EVENT_LOOP_DELAY_MS: {
    schema: int(0, 60_000).default(1000),
    doc: "Event-loop delay beyond which requests get 503 (under-pressure); 0 disables. Default `1000`.",
  },
  HTTP_LATENCY_BUCKETS_SECONDS: {
    schema: bucketList.default(() => bucketList.parse(DEFAULT_HTTP_BUCKETS)),
    doc: `Buckets of the HTTP duration histogram. Default \`${DEFAULT_HTTP_BUCKETS}\`.`,
  },
  SHUTDOWN_TIMEOUT_MS: {
    schema: int(100, 600_000).default(10_000),
    doc: "After SIGTERM, the longest the process waits for in-flight requests. Default `10000`.",
  },
  LOG_LEVEL: {
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    doc: "pino level: fatal, error, warn, info, debug, trace, silent. Default `info`.",
  },
  DEPLOYMENT_COLOR: {
    schema: z.enum(["blue", "green", "none"]).default("none"),
    doc: "`blue`, `green` or `none`: the blue-green colour, reported by `/metadata`. Default `none`.",
  },
  ...OBSERVABILITY_SETTINGS,
} satisfies SettingsTable<EnvName>;

const envSchema = z.object(schemaShape(SETTINGS));

/** Documentation of each variable, in the contract's order (the settings table of docs/service-api.md). */
export const ENV_DOCS: Readonly<Record<EnvName, string>> = settingDocs(SETTINGS, Object.values(ENV));

/** Variables that hold credentials: their values are never echoed in an error message. */
const SECRET_ENV = secretNames(SETTINGS);

type EnvValues = z.infer<typeof envSchema>;

/** JWT verification settings; present only when a secret or a JWKS source is configured. */
export interface JwtConfig {
  readonly hs256Secret: string | undefined;
  readonly jwksFile: string | undefined;
  readonly jwksUrl: string | undefined;
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly JwtAlgorithm[];
  readonly identityClaim: string;
  /** Claim listing the caller's roles (array or space-separated string). */
  readonly rolesClaim: string;
  readonly clockToleranceSeconds: number;
  /** Longest validity a token may carry (`exp` - `iat`, or `exp` - now without `iat`). */
  readonly maxLifetimeSeconds: number;
}

/** How the service splits traffic between the stable and the candidate model (service/rollout). */
export interface RolloutConfig {
  readonly strategy: RolloutStrategy;
  /** Percent of routed keys sent to the candidate (canary); 0 otherwise. */
  readonly candidateWeight: number;
  /** Percent of requests also scored by the candidate off the response path (shadow); 0 otherwise. */
  readonly shadowPercent: number;
  /** Shadow requests allowed to wait; more are dropped and counted. */
  readonly shadowQueueMax: number;
  /** Lower-case header whose value makes canary routing sticky. */
  readonly stickyHeader: string;
  readonly candidateTimeoutMs: number;
  /** Consecutive candidate failures that open its circuit. */
  readonly circuitThreshold: number;
  /** How long an open circuit waits before its first half-open probe (doubled per failed probe). */
  readonly circuitCooldownMs: number;
  /** Percent of QUEUE_MAX_ROWS one caller may hold queued or running on the candidate. */
  readonly identitySharePercent: number;
  /** HMAC key of the canary buckets; undefined: a random key per process. */
  readonly bucketKey: string | undefined;
  /** Poll interval of the registry alias watcher; 0 disables it. */
  readonly watchIntervalMs: number;
}

export interface ServiceConfig {
  readonly host: string;
  readonly port: number;
  readonly metricsHost: string;
  readonly metricsPort: number;
  readonly model: {
    readonly name: string;
    readonly stable: string;
    /** Candidate version or alias; set iff the strategy is canary or shadow. */
    readonly candidate: string | undefined;
    readonly registryDir: string | undefined;
    /** MLflow tracking server; when set, references resolve in MLflow's registry. */
    readonly mlflowTrackingUri: string | undefined;
    readonly mlflowTrackingToken: string | undefined;
    /** Where MLflow versions are downloaded (default: a folder under the OS temp dir). */
    readonly cacheDir: string | undefined;
    /** Serve MLflow versions without the sha256 tag, unverified (MODEL_ALLOW_UNTAGGED). */
    readonly allowUntagged: boolean;
    /** Models served beside the default one (MODEL_REPOSITORY); empty: one model per process. */
    readonly repository: readonly RepositoryModel[];
  };
  readonly auth: {
    /** API keys by identity, hashed; plaintext keys from API_KEYS are hashed at load and dropped. */
    readonly apiKeys: readonly ApiKeyEntry[];
    readonly jwt: JwtConfig | undefined;
    /** Failed authentications allowed per client address per window (0: no limit). */
    readonly failureLimit: { readonly limit: number; readonly windowMs: number };
  };
  /**
   * Proxies whose X-Forwarded-For names the client address (fastify's trustProxy): addresses,
   * CIDRs or proxy-addr's range names; empty trusts none.
   */
  readonly trustedProxies: readonly string[];
  readonly rollout: RolloutConfig;
  readonly rateLimit: {
    /** Requests per identity per window. */
    readonly max: number;
    readonly windowMs: number;
    /** Cost units per identity per window (service/limits/cost.ts); max 0: no budget. */
    readonly cost: { readonly max: number; readonly windowMs: number };
    /** The store every replica shares; undefined: each process counts on its own. */
    readonly store: LimitStoreConfig | undefined;
  };
  readonly batching: {
    readonly maxBatchSize: number;
    readonly maxDelayMs: number;
    readonly queueMaxRows: number;
  };
  readonly ort: {
    readonly intraOpThreads: number;
    readonly interOpThreads: number;
    /**
     * `auto`: run in a worker thread when a max-size batch measured at warm-up exceeds the
     * threshold (a shadow candidate always: service/rollout/variants.ts).
     */
    readonly offload: "auto" | "never" | "always";
    readonly offloadThresholdMs: number;
  };
  readonly limits: {
    readonly bodyLimitBytes: number;
    readonly maxRowsPerRequest: number;
    readonly imageMaxPixels: number;
    readonly maxEventLoopDelayMs: number;
  };
  readonly sharpConcurrency: number;
  /** Bounds of `/predict-image/explain` (service/server/routes/explain.ts). */
  readonly explain: {
    readonly maxPixels: number;
    readonly heatmapMaxSide: number;
    readonly concurrency: number;
    readonly queueMax: number;
  };
  readonly httpLatencyBucketsSeconds: readonly number[];
  readonly shutdownTimeoutMs: number;
  readonly logLevel: EnvValues["LOG_LEVEL"];
  readonly deploymentColor: EnvValues["DEPLOYMENT_COLOR"];
  /** Drift, prediction log, audit log and admin access (service/ops/settings.ts). */
  readonly observability: ObservabilityConfig;
}

/** The Redis that holds the limits' counters for every replica (service/limits/). */
export interface LimitStoreConfig {
  /** `rediss://:password@host:port` (or `redis://` to loopback); a credential. */
  readonly url: string;
  /** PEM CA bundle that signed the server's certificate; undefined: the system's CAs. */
  readonly caFile: string | undefined;
  /** Longest a limit check waits for Redis before it counts as down. */
  readonly timeoutMs: number;
  /** While Redis is down: per-process limits, or 503 on limited routes. */
  readonly failureMode: "per-pod" | "closed";
}

/** The shared limit store, when RATE_LIMIT_REDIS_URL is set; the CA file needs a TLS URL. */
function limitStoreConfig(v: EnvValues, issues: string[]): LimitStoreConfig | undefined {
  const url = v.RATE_LIMIT_REDIS_URL;
  if (url === undefined) {
    if (v.RATE_LIMIT_REDIS_CA_FILE !== undefined)
      issues.push(`${ENV.RATE_LIMIT_REDIS_CA_FILE}: set, but ${ENV.RATE_LIMIT_REDIS_URL} is not`);
    return undefined;
  }
  if (v.RATE_LIMIT_REDIS_CA_FILE !== undefined && !url.startsWith("rediss:")) {
    issues.push(
      `${ENV.RATE_LIMIT_REDIS_CA_FILE}: set, but ${ENV.RATE_LIMIT_REDIS_URL} is not rediss:// (TLS)`,
    );
  }
  return {
    url,
    caFile: v.RATE_LIMIT_REDIS_CA_FILE,
    timeoutMs: v.RATE_LIMIT_REDIS_TIMEOUT_MS,
    failureMode: v.RATE_LIMIT_REDIS_FAILURE_MODE,
  };
}

/** Thrown by {@link loadConfig}; `issues` name each bad variable. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`invalid service configuration:\n  ${issues.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** Cross-field rules that a per-variable schema cannot express. */
function jwtConfig(v: EnvValues, issues: string[]): JwtConfig | undefined {
  const hasSecret = v.JWT_HS256_SECRET !== undefined;
  const hasJwks = v.JWT_JWKS_FILE !== undefined || v.JWT_JWKS_URL !== undefined;
  if (v.JWT_JWKS_FILE !== undefined && v.JWT_JWKS_URL !== undefined) {
    issues.push(`${ENV.JWT_JWKS_URL}: set either ${ENV.JWT_JWKS_FILE} or ${ENV.JWT_JWKS_URL}, not both`);
  }
  if (!hasSecret && !hasJwks) {
    for (const name of [ENV.JWT_ISSUER, ENV.JWT_AUDIENCE, ENV.JWT_ALGORITHMS] as const) {
      if (v[name] !== undefined) {
        issues.push(
          `${name}: set, but no ${ENV.JWT_HS256_SECRET}, ${ENV.JWT_JWKS_FILE} or ${ENV.JWT_JWKS_URL}`,
        );
      }
    }
    return undefined;
  }
  // Tokens are accepted only for one issuer and one audience: without both, any token minted with
  // the same key for another service would be accepted here.
  if (v.JWT_ISSUER === undefined)
    issues.push(`${ENV.JWT_ISSUER}: required when JWT verification is configured`);
  if (v.JWT_AUDIENCE === undefined)
    issues.push(`${ENV.JWT_AUDIENCE}: required when JWT verification is configured`);
  const algorithms =
    v.JWT_ALGORITHMS ??
    ([...(hasSecret ? ["HS256"] : []), ...(hasJwks ? ["RS256", "ES256"] : [])] as JwtAlgorithm[]);
  if (algorithms.includes("HS256") && !hasSecret) {
    issues.push(`${ENV.JWT_ALGORITHMS}: HS256 listed but ${ENV.JWT_HS256_SECRET} is not set`);
  }
  if (algorithms.some((a) => a !== "HS256") && !hasJwks) {
    issues.push(
      `${ENV.JWT_ALGORITHMS}: RS256/ES256 listed but neither ${ENV.JWT_JWKS_FILE} nor ${ENV.JWT_JWKS_URL} is set`,
    );
  }
  return {
    hs256Secret: v.JWT_HS256_SECRET,
    jwksFile: v.JWT_JWKS_FILE,
    jwksUrl: v.JWT_JWKS_URL,
    issuer: v.JWT_ISSUER ?? "",
    audience: v.JWT_AUDIENCE ?? "",
    algorithms,
    identityClaim: v.JWT_IDENTITY_CLAIM,
    rolesClaim: v.JWT_ROLES_CLAIM,
    clockToleranceSeconds: v.JWT_CLOCK_TOLERANCE_SECONDS,
    maxLifetimeSeconds: v.JWT_MAX_LIFETIME_SECONDS,
  };
}

function apiKeys(v: EnvValues, issues: string[]): ApiKeyEntry[] {
  const roles = new Map(v.API_KEY_ROLES.map((e) => [e.identity, e.value.split("+") as Role[]]));
  const withRoles = (identity: string, sha256: string): ApiKeyEntry => ({
    identity,
    sha256,
    roles: [...new Set(roles.get(identity) ?? [])],
  });
  const entries = [
    ...v.API_KEY_HASHES.map((e) => withRoles(e.identity, e.value)),
    ...v.API_KEYS.map((e) => withRoles(e.identity, hashApiKey(e.value))),
  ];
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.identity))
      issues.push(`${ENV.API_KEYS}: identity "${e.identity}" is also in ${ENV.API_KEY_HASHES}`);
    seen.add(e.identity);
  }
  for (const identity of roles.keys()) {
    if (!seen.has(identity)) {
      issues.push(
        `${ENV.API_KEY_ROLES}: identity "${identity}" has no key in ${ENV.API_KEYS} or ${ENV.API_KEY_HASHES}`,
      );
    }
  }
  return entries;
}

/** The strategy decides which of the candidate settings may be set. */
function rolloutConfig(v: EnvValues, issues: string[]): RolloutConfig {
  const strategy = v.ROLLOUT_STRATEGY;
  const is = `${ENV.ROLLOUT_STRATEGY} is "${strategy}"`;
  if (strategy === "single" && v.MODEL_CANDIDATE !== undefined) {
    issues.push(`${ENV.MODEL_CANDIDATE}: set, but ${is}; use canary or shadow to serve a candidate`);
  }
  if (strategy !== "single" && v.MODEL_CANDIDATE === undefined) {
    issues.push(`${ENV.ROLLOUT_STRATEGY}: "${strategy}" needs ${ENV.MODEL_CANDIDATE} (a version or alias)`);
  }
  if (v.MODEL_CANDIDATE !== undefined && v.MODEL_CANDIDATE === v.MODEL_STABLE) {
    issues.push(`${ENV.MODEL_CANDIDATE}: the same reference as ${ENV.MODEL_STABLE} ("${v.MODEL_STABLE}")`);
  }
  if (strategy !== "canary" && v.CANDIDATE_WEIGHT !== undefined) {
    issues.push(`${ENV.CANDIDATE_WEIGHT}: applies only to ${ENV.ROLLOUT_STRATEGY}=canary; ${is}`);
  }
  if (strategy !== "shadow" && v.SHADOW_PERCENT !== undefined) {
    issues.push(`${ENV.SHADOW_PERCENT}: applies only to ${ENV.ROLLOUT_STRATEGY}=shadow; ${is}`);
  }
  return {
    strategy,
    candidateWeight: strategy === "canary" ? (v.CANDIDATE_WEIGHT ?? 0) : 0,
    shadowPercent: strategy === "shadow" ? (v.SHADOW_PERCENT ?? 100) : 0,
    shadowQueueMax: v.SHADOW_QUEUE_MAX,
    stickyHeader: v.STICKY_HEADER,
    candidateTimeoutMs: v.CANDIDATE_TIMEOUT_MS,
    circuitThreshold: v.CANDIDATE_CIRCUIT_THRESHOLD,
    circuitCooldownMs: v.CANDIDATE_CIRCUIT_COOLDOWN_MS,
    identitySharePercent: v.CANDIDATE_IDENTITY_SHARE,
    bucketKey: v.ROLLOUT_BUCKET_KEY,
    watchIntervalMs: v.MODEL_WATCH_INTERVAL_MS,
  };
}

/**
 * Reads and validates the service settings. Unset and empty variables take their defaults.
 * Throws a {@link ConfigError} naming every bad variable.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ServiceConfig {
  const raw: Record<string, string> = {};
  for (const name of Object.values(ENV)) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") raw[name] = value;
  }
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0] ?? "(environment)");
        // A credential's value never reaches a log: name the variable, not what it holds.
        const shown = SECRET_ENV.has(name) ? "(value hidden)" : JSON.stringify(raw[name] ?? "");
        return `${name}=${shown}: ${i.message}`;
      }),
    );
  }
  const v = parsed.data;
  const issues: string[] = [];
  const jwt = jwtConfig(v, issues);
  const keys = apiKeys(v, issues);
  const rollout = rolloutConfig(v, issues);
  const observability = observabilityConfig(v, issues);
  const limitStore = limitStoreConfig(v, issues);
  if (v.PORT !== 0 && v.PORT === v.METRICS_PORT) {
    issues.push(
      `${ENV.METRICS_PORT}: must differ from ${ENV.PORT} (metrics are never served on the public port)`,
    );
  }
  if (v.BATCH_MAX_SIZE > v.QUEUE_MAX_ROWS) {
    issues.push(`${ENV.QUEUE_MAX_ROWS}: must be at least ${ENV.BATCH_MAX_SIZE} (${v.BATCH_MAX_SIZE})`);
  }
  if (v.MAX_ROWS_PER_REQUEST > v.QUEUE_MAX_ROWS) {
    issues.push(`${ENV.MAX_ROWS_PER_REQUEST}: must not exceed ${ENV.QUEUE_MAX_ROWS} (${v.QUEUE_MAX_ROWS})`);
  }
  // libuv's own variable: explains must leave a thread of its pool to /predict-image's decodes.
  const uvThreads = Number(env.UV_THREADPOOL_SIZE ?? 4) || 4;
  if (v.EXPLAIN_CONCURRENCY >= uvThreads) {
    issues.push(
      `${ENV.EXPLAIN_CONCURRENCY}: must be below libuv's pool size (UV_THREADPOOL_SIZE, ${uvThreads}), so explains leave threads to /predict-image`,
    );
  }
  if (v.MODEL_REPOSITORY.some((m) => m.name === v.MODEL_NAME)) {
    issues.push(
      `${ENV.MODEL_REPOSITORY}: model "${v.MODEL_NAME}" is ${ENV.MODEL_NAME}, served already (by ${ENV.MODEL_STABLE}); list only the other models`,
    );
  }
  if (issues.length > 0) throw new ConfigError(issues);

  return {
    host: v.HOST,
    port: v.PORT,
    metricsHost: v.METRICS_HOST,
    metricsPort: v.METRICS_PORT,
    model: {
      name: v.MODEL_NAME,
      stable: v.MODEL_STABLE,
      candidate: v.MODEL_CANDIDATE,
      registryDir: v.PLINTH_REGISTRY_DIR,
      mlflowTrackingUri: v.MLFLOW_TRACKING_URI,
      mlflowTrackingToken: v.MLFLOW_TRACKING_TOKEN,
      cacheDir: v.MODEL_CACHE_DIR,
      allowUntagged: v.MODEL_ALLOW_UNTAGGED === "true",
      repository: v.MODEL_REPOSITORY,
    },
    auth: {
      apiKeys: keys,
      jwt,
      failureLimit: { limit: v.AUTH_FAILURE_LIMIT, windowMs: v.AUTH_FAILURE_WINDOW_MS },
    },
    trustedProxies: v.TRUST_PROXY,
    rollout,
    rateLimit: {
      max: v.RATE_LIMIT_MAX,
      windowMs: v.RATE_LIMIT_WINDOW_MS,
      // Derived by default, so raising the request limit (a bench, a soak) raises the budget too.
      cost: {
        max: v.RATE_LIMIT_COST_MAX ?? v.RATE_LIMIT_MAX * COST_PER_REQUEST_ALLOWANCE,
        windowMs: v.RATE_LIMIT_COST_WINDOW_MS ?? v.RATE_LIMIT_WINDOW_MS,
      },
      store: limitStore,
    },
    batching: {
      maxBatchSize: v.BATCH_MAX_SIZE,
      maxDelayMs: v.BATCH_MAX_DELAY_MS,
      queueMaxRows: v.QUEUE_MAX_ROWS,
    },
    ort: {
      intraOpThreads: v.ORT_INTRA_OP_THREADS,
      interOpThreads: v.ORT_INTER_OP_THREADS,
      offload: v.INFERENCE_OFFLOAD,
      offloadThresholdMs: v.INFERENCE_OFFLOAD_THRESHOLD_MS,
    },
    limits: {
      bodyLimitBytes: v.BODY_LIMIT_BYTES,
      maxRowsPerRequest: v.MAX_ROWS_PER_REQUEST,
      imageMaxPixels: v.IMAGE_MAX_PIXELS,
      maxEventLoopDelayMs: v.MAX_EVENT_LOOP_DELAY_MS,
    },
    sharpConcurrency: v.SHARP_CONCURRENCY,
    explain: {
      maxPixels: v.EXPLAIN_MAX_PIXELS,
      heatmapMaxSide: v.EXPLAIN_HEATMAP_MAX_SIDE,
      concurrency: v.EXPLAIN_CONCURRENCY,
      queueMax: v.EXPLAIN_QUEUE_MAX,
    },
    httpLatencyBucketsSeconds: v.HTTP_LATENCY_BUCKETS_SECONDS,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    logLevel: v.LOG_LEVEL,
    deploymentColor: v.DEPLOYMENT_COLOR,
    observability,
  };
}
