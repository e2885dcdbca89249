/**
 * The HTTP side of the service, composed in one place: first what every route shares (schemas, the
 * error envelope, HTTP metrics, the drift and prediction-log observers, overload protection, auth,
 * rate limits, the OpenAPI document), then the protocol adapters, each a named, encapsulated
 * fastify plugin over the serving core (service/serving/), which knows nothing of HTTP. Every
 * shared hook is added before the first adapter, in the order the hooks run.
 */
import underPressure from "@fastify/under-pressure";
import type { FastifyInstance } from "fastify";
import type { Authenticator } from "../auth/authenticate.js";
import { installAuthentication } from "../auth/hook.js";
import { exemptFromPressure } from "../auth/route-auth.js";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { installErrorHandlers } from "../errors/handler.js";
import type { ModelSource } from "../inference/model-holder.js";
import { installCostBudget, limitKey } from "../limits/cost-budget.js";
import { installCountLimit } from "../limits/count-limit.js";
import type { LimitStore } from "../limits/store.js";
import { installHttpMetrics } from "../metrics/http.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import { installObservability, type Observability } from "../ops/install.js";
import type { RouteDeps } from "./deps.js";
import { registerDocs } from "./docs.js";
import { decorateRequests } from "./request-context.js";
import { explainPlugin } from "./routes/explain.js";
import { operationsPlugin } from "./routes/operations.js";
import { registerOperatorRoutes } from "./routes/operator.js";
import { predictImagePlugin } from "./routes/predict-image.js";
import { predictPlugin } from "./routes/predict.js";
import { v2RepositoryPlugin } from "./routes/v2-repository.js";
import { v2Plugin } from "./routes/v2.js";
import { documentCommonErrors, sharedSchemas } from "./schemas.js";

export interface HttpParts {
  readonly deps: RouteDeps;
  readonly metrics: ServiceMetrics;
  readonly source: ModelSource;
  readonly authenticator: Authenticator;
  /** The counters of every limit (service/limits/): shared by the replicas when Redis is configured. */
  readonly limits: LimitStore;
}

/** Adds every shared hook, then every adapter; returns the observability parts it installed. */
export async function composeHttp(app: FastifyInstance, parts: HttpParts): Promise<Observability> {
  const { deps, metrics, source, authenticator, limits } = parts;
  const { config } = deps;

  for (const schema of sharedSchemas) app.addSchema(schema);
  app.addHook("onRoute", documentCommonErrors);
  decorateRequests(app);
  installErrorHandlers(app);
  installHttpMetrics(app, metrics);
  const observability = installObservability(app, { config, metrics, source });
  await protectFromOverload(app, config.limits.maxEventLoopDelayMs);
  installAuthentication(app, authenticator, observability.refusals);
  limitRates(app, config, limits);
  await registerDocs(app);
  // While draining, responses close their connection, so keep-alive clients cannot hold the
  // shutdown open until their idle timeout.
  app.addHook("onSend", (_request, reply, _payload, done) => {
    if (deps.models.draining) reply.header("connection", "close");
    done();
  });

  await app.register(operationsPlugin, deps);
  await app.register(predictPlugin, deps);
  await app.register(predictImagePlugin, deps);
  await app.register(v2Plugin, deps);
  // The repository extension exists when the process serves several models (MODEL_REPOSITORY).
  if (deps.dataPlane.repository.multiModel) await app.register(v2RepositoryPlugin, deps);
  // The ops summary, the admin panel and reload: bare, and under the process's MODEL_NAME.
  await registerOperatorRoutes(app, { deps, summary: observability.summarySources(deps) });
  await app.register(explainPlugin, { ...deps, explainers: observability.explainers });
  return observability;
}

/** 503 when the event loop lags, except for the routes whose auth declaration exempts them. */
async function protectFromOverload(app: FastifyInstance, maxEventLoopDelayMs: number): Promise<void> {
  if (maxEventLoopDelayMs <= 0) return;
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    // Liveness and readiness must answer under load, or the orchestrator kills a busy pod, and
    // operators must reach an overloaded service: both follow from the routes' auth declarations.
    // A rejected promise reaches the error handler, hence the envelope.
    pressureHandler: (request) =>
      exemptFromPressure(request.routeOptions.config)
        ? undefined
        : Promise.reject(new ApiError(ErrorCode.OVERLOADED, "event loop saturated", { "retry-after": "1" })),
  });
}

/**
 * Per-identity limits, counted in the limits' store (Redis shared by every replica when
 * configured, so an identity gets its limit once, not once per pod): the request count per route
 * after the auth hook, so the bucket is the caller's identity, then the cost budget once the body
 * is parsed (service/limits/cost.ts).
 */
function limitRates(app: FastifyInstance, config: RouteDeps["config"], store: LimitStore): void {
  const limits = config.rateLimit;
  installCountLimit(app, store.counter, { max: limits.max, windowMs: limits.windowMs, keyOf: limitKey });
  installCostBudget(app, store.counter, {
    max: limits.cost.max,
    windowMs: limits.cost.windowMs,
    imageMaxPixels: config.limits.imageMaxPixels,
    explainMaxPixels: config.explain.maxPixels,
    maxRowsPerRequest: config.limits.maxRowsPerRequest,
  });
}
