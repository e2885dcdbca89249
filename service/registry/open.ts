/**
 * Chooses the registry: an explicit location (`file:<registry dir>` or an MLflow `http(s)://`
 * URL), else MLflow when MLFLOW_TRACKING_URI is set, else the local registry folder.
 */
import { fileURLToPath } from "node:url";
import { MlflowClient } from "../mlflow/client.js";
import { LocalRegistry } from "./local.js";
import { LocalModelRegistry } from "./local-model-registry.js";
import { MlflowModelRegistry } from "./mlflow-model-registry.js";
import { ModelCache } from "./model-cache.js";
import type { ModelRegistry } from "./registry.js";
import { RegistryModelSource, type SourceLogger } from "./source.js";

export interface RegistrySettings {
  /** PLINTH_REGISTRY_DIR: the local registry root (default: the repository's models/). */
  readonly registryDir?: string | undefined;
  /** MLFLOW_TRACKING_URI: use MLflow's registry when set. */
  readonly mlflowTrackingUri?: string | undefined;
  /** MLFLOW_TRACKING_TOKEN: sent as a bearer token to MLflow. */
  readonly mlflowTrackingToken?: string | undefined;
  /** MODEL_CACHE_DIR: where MLflow versions are downloaded. */
  readonly cacheDir?: string | undefined;
  /** MODEL_ALLOW_UNTAGGED: serve what no integrity tag covers in an MLflow version, unverified. */
  readonly allowUntagged?: boolean | undefined;
  /** Per-request timeout towards MLflow. */
  readonly mlflowTimeoutMs?: number | undefined;
}

export function mlflowClient(settings: RegistrySettings & { mlflowTrackingUri: string }): MlflowClient {
  return new MlflowClient({
    trackingUri: settings.mlflowTrackingUri,
    timeoutMs: settings.mlflowTimeoutMs,
    authorization:
      settings.mlflowTrackingToken === undefined ? undefined : `Bearer ${settings.mlflowTrackingToken}`,
  });
}

/**
 * The registry at `location` (`file:<dir>`, `http(s)://...`), or, without one, the one the
 * settings select. Throws naming the location when it is neither form. `log` receives the
 * warning about a version served unverified (MODEL_ALLOW_UNTAGGED).
 */
export function openRegistry(
  settings: RegistrySettings,
  location?: string,
  log?: SourceLogger,
): ModelRegistry {
  if (location !== undefined) {
    if (/^https?:\/\//.test(location))
      return openRegistry({ ...settings, mlflowTrackingUri: location }, undefined, log);
    if (location.startsWith("file:")) {
      const dir = location.startsWith("file://") ? fileURLToPath(location) : location.slice("file:".length);
      return new LocalModelRegistry(new LocalRegistry(dir));
    }
    throw new Error(
      `registry location ${JSON.stringify(location)}: expected file:<registry dir> or an MLflow http(s):// URL`,
    );
  }
  if (settings.mlflowTrackingUri !== undefined) {
    return new MlflowModelRegistry(
      mlflowClient({ ...settings, mlflowTrackingUri: settings.mlflowTrackingUri }),
      new ModelCache(settings.cacheDir),
      { allowUntagged: settings.allowUntagged, log },
    );
  }
  return new LocalModelRegistry(new LocalRegistry(settings.registryDir));
}

/** The service's model source for its settings. */
export function createModelSource(settings: RegistrySettings, log?: SourceLogger): RegistryModelSource {
  return new RegistryModelSource(openRegistry(settings, undefined, log), { log });
}
