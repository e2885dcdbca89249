/**
 * Assembles the public HTTP server: error envelope, metrics, event-loop protection, auth, rate
 * limits, docs and routes. `buildServer` does not listen or load the model: the caller (main.ts, a
 * test) decides when, so tests drive it with `app.inject()`.
 */
import { randomUUID } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import underPressure from "@fastify/under-pressure";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { Authenticator } from "../auth/authenticate.js";
import { installAuthentication } from "../auth/hook.js";
import { exemptFromPressure } from "../auth/route-auth.js";
import type { ServiceConfig } from "../config.js";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { handleFrameworkError, installErrorHandlers } from "../errors/handler.js";
import type { ModelSource } from "../inference/model-holder.js";
import { installHttpMetrics } from "../metrics/http.js";
import { installObservability, type Observability } from "../ops/install.js";
import { ServiceMetrics } from "../metrics/registry.js";
import { createModelSource } from "../registry/open.js";
import type { RolloutEngine } from "../rollout/engine.js";
import type { ModelVariants } from "../rollout/variants.js";
import { DataPlane } from "../serving/data-plane.js";
import { ModelRepository } from "../serving/model-repository.js";
import { PredictionCounter } from "../serving/prediction-counter.js";
import type { RouteDeps } from "./deps.js";
import { registerDocs } from "./docs.js";
import { decorateRequests } from "./request-context.js";
import { operationsRoutes } from "./routes/operations.js";
import { predictImageRoute } from "./routes/predict-image.js";
import { predictRoute } from "./routes/predict.js";
import { v2Routes } from "./routes/v2.js";
import { documentCommonErrors, MAX_PATH_PARAM_LENGTH, sharedSchemas } from "./schemas.js";

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
    return503OnClosing: true,
    forceCloseConnections: "idle",
    // No type coercion: a string or null where a number belongs is a 400, never silently converted.
    // No silent stripping either: a member a schema forbids (additionalProperties: false) is a 400.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
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
  const rollout = dataPlane.defaultEngine;
  const models = rollout.variants;
  const authenticator = new Authenticator(config.auth, config.observability.ops);
  await authenticator.init();

  for (const schema of sharedSchemas) app.addSchema(schema);
  app.addHook("onRoute", documentCommonErrors);
  decorateRequests(app);
  installErrorHandlers(app);
  installHttpMetrics(app, metrics);
  const observability = installObservability(app, { config, metrics, source });

  if (config.limits.maxEventLoopDelayMs > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: config.limits.maxEventLoopDelayMs,
      // Liveness and readiness must answer under load, or the orchestrator kills a busy pod, and
      // operators must reach an overloaded service: both follow from the routes' auth declarations.
      // A rejected promise reaches the error handler, hence the envelope.
      pressureHandler: (request) =>
        exemptFromPressure(request.routeOptions.config)
          ? undefined
          : Promise.reject(
              new ApiError(ErrorCode.OVERLOADED, "event loop saturated", { "retry-after": "1" }),
            ),
    });
  }
  installAuthentication(app, authenticator, observability.refusals);
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowMs,
    // Runs per route after the root's auth hook: the bucket is the authenticated identity.
    keyGenerator: (request) => request.principal?.identity ?? request.ip,
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        ErrorCode.RATE_LIMITED,
        `rate limit of ${context.max} requests per ${context.after} exceeded`,
      ),
  });
  await registerDocs(app);

  const deps: RouteDeps = { config, dataPlane, models, rollout, predictions };
  operationsRoutes(app, deps);
  predictRoute(app, deps);
  await predictImageRoute(app, deps);
  await v2Routes(app, deps);
  await observability.registerRoutes(deps);

  // While draining, responses close their connection, so keep-alive clients cannot hold the
  // shutdown open until their idle timeout.
  app.addHook("onSend", (_request, reply, _payload, done) => {
    if (models.draining) reply.header("connection", "close");
    done();
  });
  app.addHook("onClose", () => dataPlane.close());
  return { app, metrics, dataPlane, models, rollout, config, observability };
}
