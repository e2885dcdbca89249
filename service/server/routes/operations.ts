/**
 * Liveness, readiness, the default model's metadata and reload: thin adapters over the data plane
 * (service/serving/data-plane.ts) and the default model's rollout engine.
 */
import { ApiError } from "../../errors/api-error.js";
import { ErrorCode } from "../../errors/codes.js";
import type { VariantName } from "../../inference/model-holder.js";
import type { ReloadEvent } from "../../rollout/summary.js";
import type { RouteDeps } from "../deps.js";
import { httpAdapter } from "../named-plugin.js";
import { errorResponses } from "../schemas.js";

const PUBLIC = { auth: "public", rateLimit: false } as const;

export const operationsPlugin = httpAdapter<RouteDeps>("plinth-operations", async (app, deps) => {
  const { models, rollout, dataPlane } = deps;

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
      const { name, version } = dataPlane.readyModel();
      return { status: "ready", model: name, version };
    },
  );

  app.get(
    "/metadata",
    {
      schema: {
        summary: "The serving model's metadata contract, warm-up measurements and service settings",
        response: { 200: metadataResponseSchema, ...errorResponses(401, 429, 503) },
      },
    },
    async () => dataPlane.describeDefaultModel(),
  );

  app.post<{ Body: { variant?: VariantName | "all" } | undefined }>(
    "/reload-model",
    {
      // Admins only (admin-role key/JWT, or oauth2-proxy's user when trusted); refusals are audited.
      config: { auth: { accepts: ["api", "oauth2-proxy"], roles: ["admin"], audit: "reload-model" } },
      schema: {
        summary: "Reload model variants from the registry (each loaded and warmed aside, then swapped)",
        description:
          "Re-resolves `MODEL_STABLE` and/or `MODEL_CANDIDATE`. A version that fails to load leaves the " +
          "previous one serving (500 RELOAD_FAILED naming the variant). A reload of the candidate closes its circuit.",
        body: {
          type: ["object", "null"],
          additionalProperties: false,
          properties: { variant: { type: "string", enum: ["stable", "candidate", "all"] } },
        },
        response: {
          200: {
            type: "object",
            properties: { results: { type: "array", items: reloadResultSchema } },
          },
          ...errorResponses(400, 401, 403, 429, 500),
        },
      },
    },
    async (request) => {
      const variant = request.body?.variant ?? "all";
      if (variant === "candidate" && models.candidate === undefined) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, "variant: no candidate is configured");
      }
      const by = request.principal?.identity;
      const events = await rollout.reload({ variant, trigger: "api", ...(by === undefined ? {} : { by }) });
      const failed = events.filter((e) => e.result === "failed");
      if (failed.length > 0) {
        throw new ApiError(
          ErrorCode.RELOAD_FAILED,
          `reload failed (the previous version keeps serving): ${failed.map((e) => `${e.variant}: ${e.error}`).join("; ")}`,
        );
      }
      return { results: events.map(reloadResultJson) };
    },
  );
});

/** An object whose members are described elsewhere; serialised as they are. */
const openObject = (description: string) =>
  ({ type: "object", additionalProperties: true, description }) as const;

/** One capability of the model (service/serving/capabilities.ts). */
const supportSchema = {
  type: "object",
  required: ["supported"],
  properties: {
    supported: { type: "boolean" },
    reason: {
      type: "string",
      description: "Why not, naming the model and what it lacks; absent when supported.",
    },
  },
} as const;

const metadataResponseSchema = {
  type: "object",
  required: ["model", "metadata", "capabilities", "warmup", "deployment", "rollout", "batching", "limits"],
  properties: {
    model: {
      type: "object",
      required: ["name", "version", "sha256", "reference"],
      properties: {
        name: { type: "string" },
        version: { type: "string" },
        sha256: { type: "string" },
        reference: { type: "string" },
      },
    },
    metadata: {
      ...openObject(
        "plinth's metadata stored in the ONNX file (service/model/metadata.ts); null without it.",
      ),
      type: ["object", "null"],
    },
    configuration: {
      ...openObject(
        "The model configuration (docs/model-configuration.md): task, labels, image preprocessing, features; null when the model is served over the Open Inference Protocol only.",
      ),
      type: ["object", "null"],
    },
    contract: openObject("The graph's own inputs and outputs: name, datatype, shape (-1: dynamic)."),
    capabilities: {
      type: "object",
      description:
        "What the service can do with this model: /predict, /predict-image, explain, drift monitoring and shadow agreement.",
      required: ["predict", "predictImage", "explain", "drift", "shadowAgreement"],
      properties: {
        predict: supportSchema,
        predictImage: supportSchema,
        explain: supportSchema,
        drift: supportSchema,
        shadowAgreement: supportSchema,
      },
    },
    warmup: {
      type: ["object", "null"],
      properties: {
        singleRowMs: { type: "number" },
        fullBatchMs: { type: "number" },
        fullBatchRows: { type: "integer" },
        offloaded: { type: "boolean" },
      },
    },
    deployment: { type: "object", properties: { color: { type: "string" } } },
    rollout: openObject(
      "Strategy, candidate weight, shadow percent and the candidate's reference and version.",
    ),
    batching: {
      type: "object",
      properties: {
        enabled: {
          type: "boolean",
          description: "Models served by their graph only: whether concurrent requests are joined now.",
        },
        unbatched: {
          type: "string",
          description:
            "Why its requests run one at a time (the graph's dimensions, its configuration, or a run whose output was not per row); absent while batched.",
        },
        maxBatchSize: { type: "integer", description: "BATCH_MAX_SIZE." },
        maxDelayMs: {
          type: "number",
          description:
            "BATCH_MAX_DELAY_MS for plinth's models; the configuration's batching.maxDelayMs for others.",
        },
        queueMaxRows: { type: "integer", description: "QUEUE_MAX_ROWS." },
      },
      required: ["maxBatchSize", "maxDelayMs", "queueMaxRows"],
      description:
        "How the model's requests are batched; for a model served by its graph also whether they are joined, and why not.",
    },
    limits: {
      type: "object",
      properties: { maxRowsPerRequest: { type: "integer" }, bodyLimitBytes: { type: "integer" } },
    },
  },
} as const;

const reloadResultSchema = {
  type: "object",
  properties: {
    variant: { type: "string" },
    trigger: { type: "string" },
    result: { type: "string", enum: ["loaded", "unchanged", "failed"] },
    previous_version: { type: ["string", "null"] },
    version: { type: ["string", "null"] },
    attempted_version: { type: ["string", "null"] },
    error: { type: "string" },
  },
} as const;

function reloadResultJson(event: ReloadEvent) {
  return {
    variant: event.variant,
    trigger: event.trigger,
    result: event.result,
    previous_version: event.previousVersion,
    version: event.version,
    attempted_version: event.attemptedVersion,
    ...(event.error === undefined ? {} : { error: event.error }),
  };
}
