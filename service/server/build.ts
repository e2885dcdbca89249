/**
 * Builds the service: the serving core (data plane, model repository) and the fastify server its
 * HTTP plugins are composed into (service/server/http.ts). `buildServer` does not listen or load the model: the caller (main.ts, a
 * test) decides when, so tests drive it with `app.inject()`.
 */
import { randomUUID } from "node:crypto";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { Authenticator } from "../auth/authenticate.js";
import type { ServiceConfig } from "../config.js";
import { handleFrameworkError } from "../errors/handler.js";
import { formatValidationErrors } from "../errors/validation.js";
import type { ModelSource } from "../inference/model-holder.js";
import { openLimitStore } from "../limits/store.js";
import type { Observability } from "../ops/install.js";
import { ServiceMetrics } from "../metrics/registry.js";
import { createModelSource } from "../registry/open.js";
import type { RolloutEngine } from "../rollout/engine.js";
import type { ModelVariants } from "../rollout/variants.js";
import { DataPlane } from "../serving/data-plane.js";
import { ModelRepository } from "../serving/model-repository.js";
import { PredictionCounter } from "../serving/prediction-counter.js";
import type { RouteDeps } from "./deps.js";
import { composeHttp } from "./http.js";
import { MAX_PATH_PARAM_LENGTH } from "./schemas.js";
import { lazyChildLogger } from "./lazy-request-logger.js";

export interface Service {
  readonly app: FastifyInstance;
  readonly metrics: ServiceMetrics;
  /** The serving core: every model the process serves; `start()` loads them. */
  readonly dataPlane: DataPlane;
  /** The default model's stable and candidate (readiness, draining, reload events). */
  readonly models: ModelVariants;
  /** The default model's routing, fallback, shadow, reloads and rollout snapshot. */
  readonly rollout: RolloutEngine;
  readonly config: ServiceConfig;
  /** Drift, prediction log, audit log, ops summary, admin panel, explain (service/ops/install.ts). */
  readonly observability: Observability;
}

export interface BuildOptions {
  /** A pino logger (main.ts); without one the server does not log (tests). */
  readonly logger?: FastifyBaseLogger;
  /** Model source; defaults to MLflow (MLFLOW_TRACKING_URI) or the local registry (PLINTH_REGISTRY_DIR). */
  readonly source?: ModelSource;
  /** Collect Node.js/process default metrics (default true). */
  readonly processMetrics?: boolean;
}

export async function buildServer(config: ServiceConfig, options: BuildOptions = {}): Promise<Service> {
  const app = Fastify({
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    bodyLimit: config.limits.bodyLimitBytes,
    genReqId: () => randomUUID(),
    // Request ids are generated here, never taken from the client.
    requestIdHeader: false,
    // No per-request log lines at info: they would cost more than a prediction.
    logController: new LogController({ disableRequestLogging: true }),
    ...(options.logger === undefined ? {} : { childLoggerFactory: lazyChildLogger }),
    return503OnClosing: true,
    forceCloseConnections: "idle",
    // No type coercion: a string or null where a number belongs is a 400, never silently converted.
    // No silent stripping either: a member a schema forbids (additionalProperties: false) is a 400.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    // ... and the message names the member or query parameter that no schema defines.
    schemaErrorFormatter: formatValidationErrors,
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    // request.ip (failed-auth limit, rate-limit fallback, logs): the client as the ingress saw it,
    // only when the deployment says how many proxies stand in front.
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    // The router's own refusals (undecodable path, oversized parameter) in the envelope as well.
    frameworkErrors: handleFrameworkError,
  });
  // JSON, images and multipart only: text bodies get fastify's 415 instead of a parse attempt.
  app.removeContentTypeParser("text/plain");
  const metrics = new ServiceMetrics({
    httpBucketsSeconds: config.httpLatencyBucketsSeconds,
    processDefaults: options.processMetrics ?? true,
  });
  const source = options.source ?? createModelSource(config.model, app.log);
  const predictions = new PredictionCounter(metrics);
  const dataPlane = new DataPlane(config, new ModelRepository(config, source, metrics, app.log), predictions);
  metrics.collectModelStates(() => dataPlane.variantStates());
  const rollout = dataPlane.defaultEngine;
  const models = rollout.variants;
  // One store for the count limit, the cost budget and the failed-auth limit (service/limits/).
  const limits = await openLimitStore(config.rateLimit.store, { log: app.log, metrics });
  app.addHook("onClose", () => limits.close());
  const authenticator = new Authenticator(config.auth, config.observability.ops, limits.counter);
  await authenticator.init();
  const deps: RouteDeps = { config, dataPlane, models, rollout, predictions };
  const observability = await composeHttp(app, { deps, metrics, source, authenticator, limits });
  observability.start(deps);
  app.addHook("onClose", () => dataPlane.close());
  return { app, metrics, dataPlane, models, rollout, config, observability };
}
