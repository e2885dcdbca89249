/**
 * Liveness, readiness (the default model's, and the pod's) and the default model's metadata: thin
 * adapters over the data plane (service/serving/data-plane.ts). `POST /reload-model` is an
 * operator route (./reload.ts).
 */
import { MODEL_STATES } from "../../contract/metrics.js";
import { PROBE_PATHS } from "../../contract/probe-paths.js";
import { notReady } from "../../serving/availability.js";
import { shownName } from "../../serving/served-model.js";
import type { RouteDeps } from "../deps.js";
import { httpAdapter } from "../named-plugin.js";
import { errorResponses } from "../schemas.js";

const PUBLIC = { auth: "public", rateLimit: false } as const;

export const operationsPlugin = httpAdapter<RouteDeps>("plinth-operations", async (app, deps) => {
  const { dataPlane } = deps;

  app.get(
    PROBE_PATHS.live,
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
    PROBE_PATHS.ready,
    {
      config: PUBLIC,
      schema: {
        summary: "Readiness: the model is loaded and warmed, and the service is not shutting down",
        description:
          "503 NOT_READY names why: loading, shutting down, or awaiting its first version (the registry, " +
          "reached, holds no version for the reference yet: the message names the model, the registry and " +
          "what to do, e.g. register a version and set its alias). Kubernetes probes `/ready/pod` instead.",
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
    PROBE_PATHS.podReady,
    {
      config: PUBLIC,
      schema: {
        summary: "Pod readiness (the kubelet's): every model serves or awaits its registry's first version",
        description:
          "200 while every model serves or awaits the first version of a model its registry does not hold at all, " +
          "as on a fresh stack (it then answers 503 NOT_READY naming why, which must reach people, so the pod takes " +
          "traffic); `status` says which. 503 NOT_READY while a model starts, loads, misses an alias or version of a " +
          "model that has versions (a wrong reference), failed to load a version that exists, cannot reach its " +
          "registry yet, or the service shuts down, so a rollout stalls on such a pod while the pods it would " +
          "replace keep serving. A MODEL_REPOSITORY model an operator loaded or unloaded " +
          "through `/v2/repository` since the start no longer counts. `/ready` keeps meaning: predictions can be " +
          "served now.",
        response: {
          200: {
            type: "object",
            required: ["status", "models"],
            properties: {
              status: { type: "string", enum: ["ready", "awaiting_version"] },
              models: { type: "array", items: podModelSchema },
            },
          },
          ...errorResponses(503),
        },
      },
    },
    async () => {
      const readiness = dataPlane.podReadiness();
      if (!readiness.ready) {
        const waiting = readiness.models.filter((m) => !m.podReady);
        throw notReady(
          `not ready to take traffic: ${waiting.map((m) => `model ${shownName(m.name)}: ${m.podReason}`).join("; ")}`,
        );
      }
      return {
        status: readiness.status,
        models: readiness.models.map(({ name, state, variants, reason }) => ({
          name,
          state,
          variants,
          reason,
        })),
      };
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
});

/** One model's part in pod readiness. */
const podModelSchema = {
  type: "object",
  required: ["name", "state", "variants", "reason"],
  properties: {
    name: { type: "string" },
    state: { type: "string", enum: ["READY", "LOADING", "UNAVAILABLE"] },
    variants: {
      type: "array",
      items: {
        type: "object",
        required: ["variant", "state"],
        properties: {
          variant: { type: "string", enum: ["stable", "candidate"] },
          state: { type: "string", enum: [...MODEL_STATES], description: "As plinth_model_state's `state`." },
        },
      },
    },
    reason: { type: "string", description: 'Why the model is not READY; "" when it is.' },
  },
} as const;

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
