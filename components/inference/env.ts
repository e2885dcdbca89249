/**
 * The inference service's environment, written from the stack's rollout settings. Variable names
 * come from the service's contract with the platform (service/contract), the names the service's
 * config reads.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { hashApiKey } from "../../service/contract/api-key.js";
import { DRIFT_CHECK_ENV } from "../../service/contract/drift-check-env.js";
import { modelRepositoryValue, type RepositoryEntry } from "../../service/contract/model-repository.js";
import { ENV } from "../../service/contract/service-env.js";
import type { RateLimitStoreClient } from "../rate-limit-store/index.js";

/** Every variable name the platform sets on the service: the service's own list (service/contract). */
export const SERVICE_ENV = ENV;

/** API-key identities the platform provisions: its own (smoke tests, promote CLI) and the drift check's. */
export const PLATFORM_IDENTITY = "platform";
export const DRIFT_CHECK_IDENTITY = "drift-check";

/** Keys of the Secrets the service and the drift check read through `secretKeyRef`. */
export const SECRET_KEYS = {
  /** Auth Secret: API_KEY_HASHES, `identity:sha256` pairs. */
  apiKeyHashes: "api-key-hashes",
  /** Auth Secret: API_KEY_ROLES. Not secret, but its name reads as a credential to the policy pack. */
  apiKeyRoles: "api-key-roles",
  /** Drift-check Secret: the plaintext key the check authenticates with. */
  apiKey: "api-key",
  /** Auth Secret: ROLLOUT_BUCKET_KEY, the canary buckets' HMAC key, the same for every replica. */
  rolloutBucketKey: "rollout-bucket-key",
} as const;

/** API_KEY_HASHES for `keys` (identity -> plaintext key): the service keeps only the hashes. */
export function apiKeyHashes(keys: Readonly<Record<string, string>>): string {
  return Object.entries(keys)
    .map(([identity, key]) => `${identity}:${hashApiKey(key)}`)
    .join(",");
}

/** API_KEY_ROLES: the drift check reads GET /ops/summary and nothing else: the read-only role. */
export const API_KEY_ROLES = `${DRIFT_CHECK_IDENTITY}:ops-read`;

export const API_PORT = 8080;
export const METRICS_PORT = 9464;

/** What one Deployment serves: the stable version and, for canary or shadow, a candidate. */
export interface VariantSettings {
  readonly strategy: "single" | "canary" | "shadow";
  readonly stable: string;
  readonly candidate?: {
    readonly modelVersion: string;
    readonly weight?: number;
    readonly shadowPercent?: number;
  };
  /** Blue-green colour of this Deployment, or "none". */
  readonly colour: "blue" | "green" | "none";
}

export interface ServiceSettings {
  readonly modelName: string;
  /** MLflow's tracking URI; unset: the model comes from the image's own registry folder (models/). */
  readonly mlflowTrackingUri?: string;
  readonly allowedEmailDomains: readonly string[];
  /** Identity-provider groups that grant `admin` / `ops-read` to oauth2-proxy users. */
  readonly adminGroups: readonly string[];
  readonly opsReadGroups: readonly string[];
  /** Drift thresholds; unset: the service's defaults (its drift check is not scheduled). */
  readonly drift?: { readonly warnPsi: number; readonly alertPsi: number };
  /** Models served beside modelName (MODEL_REPOSITORY); empty: one model per process. */
  readonly repository: readonly RepositoryEntry[];
  /** Secret holding API_KEY_HASHES and API_KEY_ROLES (keys in {@link SECRET_KEYS}). */
  readonly authSecretName: pulumi.Input<string>;
  /** The Redis every replica counts its rate limits in; unset: each pod limits on its own. */
  readonly rateLimitStore?: RateLimitStoreClient;
}

/**
 * What selects a Deployment's model and rollout: the model's name, its stable version, the strategy
 * and the candidate with its share of traffic, the blue-green colour. Plain values, so the local
 * stack starts its service processes with the same variables the cluster's pods get.
 */
export function variantEnvironment(modelName: string, variant: VariantSettings): Record<string, string> {
  const candidate = variant.candidate;
  return {
    [SERVICE_ENV.MODEL_NAME]: modelName,
    [SERVICE_ENV.MODEL_STABLE]: variant.stable,
    [SERVICE_ENV.ROLLOUT_STRATEGY]: variant.strategy,
    ...(candidate ? { [SERVICE_ENV.MODEL_CANDIDATE]: candidate.modelVersion } : {}),
    ...(variant.strategy === "canary"
      ? { [SERVICE_ENV.CANDIDATE_WEIGHT]: String(candidate?.weight ?? 0) }
      : {}),
    ...(variant.strategy === "shadow"
      ? { [SERVICE_ENV.SHADOW_PERCENT]: String(candidate?.shadowPercent ?? 0) }
      : {}),
    [SERVICE_ENV.DEPLOYMENT_COLOR]: variant.colour,
  };
}

export function serviceEnvironment(
  service: ServiceSettings,
  variant: VariantSettings,
): k8s.types.input.core.v1.EnvVar[] {
  const plain = (name: string, value: string | number) => ({ name, value: String(value) });
  return [
    plain(SERVICE_ENV.HOST, "0.0.0.0"),
    plain(SERVICE_ENV.PORT, API_PORT),
    plain(SERVICE_ENV.METRICS_HOST, "0.0.0.0"),
    plain(SERVICE_ENV.METRICS_PORT, METRICS_PORT),
    plain(SERVICE_ENV.LOG_LEVEL, "info"),
    ...Object.entries(variantEnvironment(service.modelName, variant)).map(([name, value]) =>
      plain(name, value),
    ),
    ...(service.repository.length > 0
      ? [plain(SERVICE_ENV.MODEL_REPOSITORY, modelRepositoryValue(service.repository))]
      : []),
    ...(service.mlflowTrackingUri === undefined
      ? []
      : [plain(SERVICE_ENV.MLFLOW_TRACKING_URI, service.mlflowTrackingUri)]),
    // The root filesystem is read-only: downloaded models go to the /tmp scratch volume.
    plain(SERVICE_ENV.MODEL_CACHE_DIR, "/tmp/models"),
    // Every pod of these Deployments sits behind the protected Ingress: only it routes /admin and
    // /ops, and nginx overwrites these headers there with oauth2-proxy's answer; the public Ingress
    // never routes to those paths. The NetworkPolicy admits the API port only from the ingress
    // controller and the drift-check job (which sends an API key, never these headers), so no
    // other pod can present a forged header.
    plain(SERVICE_ENV.OPS_OIDC_TRUST_HEADERS, "true"),
    plain(SERVICE_ENV.OPS_OIDC_ALLOWED_EMAIL_DOMAINS, service.allowedEmailDomains.join(",")),
    plain(SERVICE_ENV.OPS_OIDC_ADMIN_GROUPS, service.adminGroups.join(",")),
    ...(service.opsReadGroups.length > 0
      ? [plain(SERVICE_ENV.OPS_OIDC_OPS_READ_GROUPS, service.opsReadGroups.join(","))]
      : []),
    // The client address for the failed-auth limit: the same NetworkPolicy means every private
    // peer is the ingress controller (or the drift check, which sends no X-Forwarded-For), and
    // ingress-nginx (use-forwarded-headers off) overwrites X-Forwarded-For with the address it saw.
    // Without this, every client would share the controller's address and one caller's wrong keys
    // would lock out all of them.
    plain(SERVICE_ENV.TRUST_PROXY, "uniquelocal"),
    ...(service.drift === undefined
      ? []
      : [
          plain(SERVICE_ENV.DRIFT_WARN_PSI, service.drift.warnPsi),
          plain(SERVICE_ENV.DRIFT_ALERT_PSI, service.drift.alertPsi),
        ]),
    fromSecret(SERVICE_ENV.API_KEY_HASHES, service.authSecretName, SECRET_KEYS.apiKeyHashes),
    fromSecret(SERVICE_ENV.API_KEY_ROLES, service.authSecretName, SECRET_KEYS.apiKeyRoles),
    // Every pod (both colours too) reads one key, so a sticky key lands on one variant whichever
    // replica answers, and clients cannot compute which keys land on the candidate.
    fromSecret(SERVICE_ENV.ROLLOUT_BUCKET_KEY, service.authSecretName, SECRET_KEYS.rolloutBucketKey),
    ...rateLimitStoreEnvironment(service.rateLimitStore),
  ];
}

/** Where the pods find the rate-limit store's CA bundle (a read-only volume of that one file). */
export const RATE_LIMIT_STORE_CA_DIR = "/etc/plinth/rate-limit-store";

/** The shared rate-limit store: its URL (with the password) from a Secret, never a plain value. */
function rateLimitStoreEnvironment(
  store: RateLimitStoreClient | undefined,
): k8s.types.input.core.v1.EnvVar[] {
  if (!store) return [];
  return [
    fromSecret(SERVICE_ENV.RATE_LIMIT_REDIS_URL, store.urlSecret.name, store.urlSecret.key),
    ...(store.ca
      ? [{ name: SERVICE_ENV.RATE_LIMIT_REDIS_CA_FILE, value: `${RATE_LIMIT_STORE_CA_DIR}/${store.ca.key}` }]
      : []),
    { name: SERVICE_ENV.RATE_LIMIT_REDIS_FAILURE_MODE, value: store.failureMode },
  ];
}

/** The volume and mount of the store's CA bundle, when a private CA signed its certificate. */
export function rateLimitStoreCaVolume(store: RateLimitStoreClient | undefined) {
  if (!store?.ca) return undefined;
  const items = [{ key: store.ca.key, path: store.ca.key }];
  const volume: k8s.types.input.core.v1.Volume = {
    name: "rate-limit-store-ca",
    ...(store.ca.kind === "ConfigMap"
      ? { configMap: { name: store.ca.name, items } }
      : { secret: { secretName: store.ca.name, items } }),
  };
  const mount: k8s.types.input.core.v1.VolumeMount = {
    name: "rate-limit-store-ca",
    mountPath: RATE_LIMIT_STORE_CA_DIR,
    readOnly: true,
  };
  return { volume, mount };
}

/**
 * The drift check's environment (read by service/drift/check-settings.ts): the in-cluster URL of the API
 * Service and, from its own Secret, the key of the drift-check identity.
 */
export function driftCheckEnvironment(
  serviceUrl: string,
  credentialsSecretName: pulumi.Input<string>,
): k8s.types.input.core.v1.EnvVar[] {
  return [
    { name: DRIFT_CHECK_ENV.DRIFT_CHECK_SERVICE_URL, value: serviceUrl },
    fromSecret(DRIFT_CHECK_ENV.DRIFT_CHECK_API_KEY, credentialsSecretName, SECRET_KEYS.apiKey),
  ];
}

/**
 * The retraining job's environment: of the environment, the training entrypoint
 * (service/train/main.ts) reads only MLflow's tracking URI (and token), for `--mlflow`. None of the
 * serving settings apply to it, least of all the trust of oauth2-proxy's headers.
 */
export function trainingEnvironment(mlflowTrackingUri: string): k8s.types.input.core.v1.EnvVar[] {
  return [{ name: SERVICE_ENV.MLFLOW_TRACKING_URI, value: mlflowTrackingUri }];
}

function fromSecret(
  name: string,
  secretName: pulumi.Input<string>,
  key: string,
): k8s.types.input.core.v1.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}
