/** Liveness, readiness, model metadata and reload. */
import type { FastifyInstance } from "fastify";
import { ApiError } from "../../errors/api-error.js";
import { ErrorCode } from "../../errors/codes.js";
import type { RouteDeps } from "../deps.js";
import { notReady } from "../predict-common.js";
import { apiKeySecurity, errorResponses } from "../schemas.js";

const PUBLIC = { public: true, rateLimit: false } as const;

export function operationsRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { models, config } = deps;

  app.get(
    "/health",
    {
      config: PUBLIC,
      schema: {
        summary: "Liveness: the process serves HTTP",
        response: { 200: { type: "object", properties: { status: { type: "string" } } } },
      },
    },
    async () => ({ status: "ok" }),
  );

  app.get(
    "/ready",
    {
      config: PUBLIC,
      schema: {
        summary: "Readiness: the model is loaded and warmed, and the service is not shutting down",
        response: {
          200: {
            type: "object",
            properties: {
              status: { type: "string" },
              model: { type: "string" },
              version: { type: "string" },
            },
          },
          ...errorResponses(503),
        },
      },
    },
    async () => {
      const model = models.current;
      if (!models.ready || model === undefined) throw notReady();
      return { status: "ready", model: model.name, version: model.version };
    },
  );

  app.get(
    "/metadata",
    {
      schema: {
        summary: "The serving model's metadata contract, warm-up measurements and service settings",
        security: apiKeySecurity,
        response: errorResponses(401, 429, 503),
      },
    },
    async () => {
      const model = models.current;
      if (model === undefined) throw notReady();
      return {
        model: {
          name: model.name,
          version: model.version,
          sha256: model.sha256,
          reference: config.model.stable,
        },
        metadata: model.metadata,
        warmup: model.warmup,
        deployment: { color: config.deploymentColor },
        batching: config.batching,
        limits: {
          maxRowsPerRequest: config.limits.maxRowsPerRequest,
          bodyLimitBytes: config.limits.bodyLimitBytes,
        },
      };
    },
  );

  app.post(
    "/reload-model",
    {
      schema: {
        summary: "Reload the stable model reference from the registry (load and warm aside, then swap)",
        security: apiKeySecurity,
        response: {
          200: {
            type: "object",
            properties: {
              previous_version: { type: ["string", "null"] },
              version: { type: "string" },
              changed: { type: "boolean" },
            },
          },
          ...errorResponses(401, 429, 500),
        },
      },
    },
    async (request) => {
      try {
        const result = await models.reload();
        request.log.info({ ...result, by: request.principal?.identity }, "model reload");
        return {
          previous_version: result.previousVersion ?? null,
          version: result.version,
          changed: result.changed,
        };
      } catch (err) {
        request.log.error(
          { err, by: request.principal?.identity },
          "model reload failed; previous model keeps serving",
        );
        throw new ApiError(ErrorCode.RELOAD_FAILED, `reload failed: ${(err as Error).message}`);
      }
    },
  );
}
