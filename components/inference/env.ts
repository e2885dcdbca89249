/**
 * The inference service's environment, written from the stack's rollout settings. Variable names
 * come from the service's own config module (service/config.ts).
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { ENV } from "../../service/config.js";

/**
 * Settings of issue 4 that service/config.ts does not export yet, named as its issue text names
 * them (ops-panel trust of oauth2-proxy headers, drift thresholds). The service's ENV wins for any
 * name it exports, so each entry here can go once it does.
 */
const PENDING_SERVICE_ENV = {
  OPS_OIDC_TRUST_HEADERS: "OPS_OIDC_TRUST_HEADERS",
  OPS_OIDC_ALLOWED_EMAIL_DOMAINS: "OPS_OIDC_ALLOWED_EMAIL_DOMAINS",
  DRIFT_WARN_PSI: "DRIFT_WARN_PSI",
  DRIFT_ALERT_PSI: "DRIFT_ALERT_PSI",
} as const;

/** Every variable name the platform sets. */
export const SERVICE_ENV = { ...PENDING_SERVICE_ENV, ...ENV } as const;

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
  readonly mlflowTrackingUri: string;
  readonly allowedEmailDomains: readonly string[];
  readonly drift: { readonly warnPsi: number; readonly alertPsi: number };
  /** Secret holding API_KEY_HASHES (key "api-key-hashes"). */
  readonly authSecretName: pulumi.Input<string>;
}

export function serviceEnvironment(
  service: ServiceSettings,
  variant: VariantSettings,
): k8s.types.input.core.v1.EnvVar[] {
  const plain = (name: string, value: string | number) => ({ name, value: String(value) });
  const candidate = variant.candidate;
  return [
    plain(SERVICE_ENV.HOST, "0.0.0.0"),
    plain(SERVICE_ENV.PORT, API_PORT),
    plain(SERVICE_ENV.METRICS_HOST, "0.0.0.0"),
    plain(SERVICE_ENV.METRICS_PORT, METRICS_PORT),
    plain(SERVICE_ENV.LOG_LEVEL, "info"),
    plain(SERVICE_ENV.MODEL_NAME, service.modelName),
    plain(SERVICE_ENV.MODEL_STABLE, variant.stable),
    plain(SERVICE_ENV.ROLLOUT_STRATEGY, variant.strategy),
    ...(candidate ? [plain(SERVICE_ENV.MODEL_CANDIDATE, candidate.modelVersion)] : []),
    ...(variant.strategy === "canary" ? [plain(SERVICE_ENV.CANDIDATE_WEIGHT, candidate?.weight ?? 0)] : []),
    ...(variant.strategy === "shadow"
      ? [plain(SERVICE_ENV.SHADOW_PERCENT, candidate?.shadowPercent ?? 0)]
      : []),
    plain(SERVICE_ENV.DEPLOYMENT_COLOR, variant.colour),
    plain(SERVICE_ENV.MLFLOW_TRACKING_URI, service.mlflowTrackingUri),
    // The root filesystem is read-only: downloaded models go to the /tmp scratch volume.
    plain(SERVICE_ENV.MODEL_CACHE_DIR, "/tmp/models"),
    // Only the protected Ingress routes /admin and /ops, and nginx overwrites these headers there
    // with oauth2-proxy's answer; the public Ingress never routes to those paths.
    plain(SERVICE_ENV.OPS_OIDC_TRUST_HEADERS, "true"),
    plain(SERVICE_ENV.OPS_OIDC_ALLOWED_EMAIL_DOMAINS, service.allowedEmailDomains.join(",")),
    plain(SERVICE_ENV.DRIFT_WARN_PSI, service.drift.warnPsi),
    plain(SERVICE_ENV.DRIFT_ALERT_PSI, service.drift.alertPsi),
    {
      name: SERVICE_ENV.API_KEY_HASHES,
      valueFrom: { secretKeyRef: { name: service.authSecretName, key: "api-key-hashes" } },
    },
  ];
}
