/**
 * The inference service's environment variable names: what the platform writes into the
 * Deployment (components/inference) and the local stack (stack/local), and what the service reads
 * (service/config.ts, which declares each variable's parser, default and documentation against
 * these names: a name without a declaration, or a declaration without a name, does not compile).
 * The order is the README settings table's order.
 */
import { envNames } from "./env-names.js";

/** Drift monitoring, the prediction log, the audit log and admin access (service/ops/settings.ts). */
export const OBSERVABILITY_ENV = envNames([
  "DRIFT_WINDOW_SIZE",
  "DRIFT_MIN_SAMPLES",
  "DRIFT_INTERVAL_MS",
  "DRIFT_WARN_PSI",
  "DRIFT_ALERT_PSI",
  "DRIFT_HISTORY_PATH",
  "DRIFT_HISTORY_MAX_BYTES",
  "PREDICTION_LOG_PATH",
  "PREDICTION_LOG_QUEUE_MAX",
  "PREDICTION_LOG_FLUSH_MS",
  "PREDICTION_LOG_MAX_BYTES",
  "AUDIT_LOG_PATH",
  "OPS_SAMPLE_INTERVAL_MS",
  "OPS_OIDC_TRUST_HEADERS",
  "OPS_OIDC_ALLOWED_EMAIL_DOMAINS",
]);

/** Every variable the service reads. */
export const ENV = {
  ...envNames([
    "HOST",
    "PORT",
    "METRICS_HOST",
    "METRICS_PORT",
    "MODEL_NAME",
    "MODEL_STABLE",
    "MODEL_CANDIDATE",
    "ROLLOUT_STRATEGY",
    "CANDIDATE_WEIGHT",
    "SHADOW_PERCENT",
    "SHADOW_QUEUE_MAX",
    "STICKY_HEADER",
    "CANDIDATE_TIMEOUT_MS",
    "CANDIDATE_CIRCUIT_THRESHOLD",
    "MODEL_WATCH_INTERVAL_MS",
    "MODEL_REPOSITORY",
    "PLINTH_REGISTRY_DIR",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_TOKEN",
    "MODEL_CACHE_DIR",
    "MODEL_ALLOW_UNTAGGED",
    "API_KEY_HASHES",
    "API_KEYS",
    "API_KEY_ROLES",
    "JWT_HS256_SECRET",
    "JWT_JWKS_FILE",
    "JWT_JWKS_URL",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "JWT_ALGORITHMS",
    "JWT_IDENTITY_CLAIM",
    "JWT_ROLES_CLAIM",
    "JWT_CLOCK_TOLERANCE_SECONDS",
    "JWT_MAX_LIFETIME_SECONDS",
    "RATE_LIMIT_MAX",
    "RATE_LIMIT_WINDOW_MS",
    "AUTH_FAILURE_LIMIT",
    "AUTH_FAILURE_WINDOW_MS",
    "TRUST_PROXY",
    "BATCH_MAX_SIZE",
    "BATCH_MAX_DELAY_MS",
    "QUEUE_MAX_ROWS",
    "ORT_INTRA_OP_THREADS",
    "ORT_INTER_OP_THREADS",
    "INFERENCE_OFFLOAD",
    "INFERENCE_OFFLOAD_THRESHOLD_MS",
    "BODY_LIMIT_BYTES",
    "MAX_ROWS_PER_REQUEST",
    "IMAGE_MAX_PIXELS",
    "SHARP_CONCURRENCY",
    "MAX_EVENT_LOOP_DELAY_MS",
    "HTTP_LATENCY_BUCKETS_SECONDS",
    "SHUTDOWN_TIMEOUT_MS",
    "LOG_LEVEL",
    "DEPLOYMENT_COLOR",
  ]),
  ...OBSERVABILITY_ENV,
};

export type EnvName = keyof typeof ENV;
export type ObservabilityEnvName = keyof typeof OBSERVABILITY_ENV;
