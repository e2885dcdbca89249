/**
 * The Open Inference Protocol (KServe v2 / Triton) REST API: thin HTTP adapters over the serving
 * core's data plane (service/serving/data-plane.ts), which holds the models and answers for them:
 * https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
 *
 * A model without plinth metadata is served by its graph's own contract: its input and output
 * names, datatypes and shapes (service/serving/). A plinth model keeps its convenience contract:
 * tensors carry raw pixels (FP32 or UINT8, as /predict) and the service applies the model's
 * normalisation. Tensors come as JSON (flat or nested `data`) or, for inputs, in the binary tensor
 * extension (v2-binary.ts); outputs are always JSON. Each adapter records on the fastify request
 * what the core reports: who answered (headers, HTTP metrics) and what a plinth model scored.
 * Errors use the service's envelope, whose `error` member the protocol's clients read as the message.
 */
import { noteScored } from "../../ops/scored.js";
import type { InferRequest } from "../../serving/v2-messages.js";
import type { RouteDeps } from "../deps.js";
import { httpAdapter } from "../named-plugin.js";
import { markAnswered } from "../predict-common.js";
import { errorResponses, EXAMPLE_ROW, MAX_PATH_PARAM_LENGTH, modelNameSchema } from "../schemas.js";
import { acceptBinaryTensors } from "./v2-binary.js";

interface ModelParams {
  name: string;
  version?: string;
}

const tensorMetadata = {
  type: "object",
  properties: {
    name: { type: "string" },
    datatype: { type: "string" },
    shape: { type: "array", items: { type: "integer" } },
  },
} as const;

/**
 * Path parameters of `/v2/models/:name` or, `versioned`, `.../versions/:version`; the served
 * model's name is the documented example.
 */
function modelParamsSchema(modelName: string, versioned: boolean) {
  const name = modelNameSchema(modelName);
  const version = { type: "string", maxLength: MAX_PATH_PARAM_LENGTH } as const;
  return versioned
    ? { type: "object", required: ["name", "version"], properties: { name, version } }
    : { type: "object", required: ["name"], properties: { name } };
}

const serverMetadataSchema = {
  type: "object",
  required: ["name", "version", "extensions"],
  properties: {
    name: { type: "string" },
    version: { type: "string" },
    extensions: { type: "array", items: { type: "string" } },
  },
} as const;

/** `{ "live": true }`, `{ "ready": false }`: the protocol's health bodies. */
function healthSchema(field: "live" | "ready") {
  return { type: "object", required: [field], properties: { [field]: { type: "boolean" } } } as const;
}

const inferBodySchema = {
  type: "object",
  required: ["inputs"],
  // The bundled model's input tensor, one row of raw pixels.
  examples: [
    { inputs: [{ name: "input", shape: [1, EXAMPLE_ROW.length], datatype: "UINT8", data: EXAMPLE_ROW }] },
  ],
  properties: {
    id: { type: "string" },
    parameters: { type: "object" },
    inputs: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["name", "shape", "datatype", "data"],
        properties: {
          name: { type: "string" },
          shape: { type: "array", items: { type: "integer", minimum: 0 }, maxItems: 8 },
          datatype: { type: "string" },
          parameters: { type: "object" },
          data: { type: "array" },
        },
      },
    },
    outputs: {
      type: "array",
      items: {
        type: "object",
        required: ["name"],
        properties: { name: { type: "string" }, parameters: { type: "object" } },
      },
    },
  },
} as const;

const inferResponseSchema = {
  type: "object",
  required: ["model_name", "outputs"],
  properties: {
    model_name: { type: "string" },
    model_version: { type: "string" },
    id: { type: "string" },
    outputs: {
      type: "array",
      items: {
        type: "object",
        properties: {
          name: { type: "string" },
          datatype: { type: "string" },
          shape: { type: "array", items: { type: "integer" } },
          // Numbers, or strings (BYTES) and booleans (BOOL) for graph models.
          data: { type: "array", items: { type: ["number", "string", "boolean"] } },
        },
      },
    },
  },
} as const;

/** Encapsulated, so the binary tensor body parser applies to these routes only. */
export const v2Plugin = httpAdapter<RouteDeps>("plinth-v2", async (app, deps) => {
  acceptBinaryTensors(app);
  const { dataPlane } = deps;
  const health = { config: { auth: "public", rateLimit: false } } as const;
  const tags = ["open inference protocol v2"];

  app.get(
    "/v2",
    {
      schema: {
        tags,
        summary: "Server metadata",
        response: { 200: serverMetadataSchema },
      },
    },
    async () => dataPlane.serverMetadata(),
  );

  app.get(
    "/v2/health/live",
    {
      ...health,
      schema: { tags, summary: "Server liveness (200 live)", response: { 200: healthSchema("live") } },
    },
    async (_req, reply) => reply.code(200).send({ live: dataPlane.live() }),
  );

  app.get(
    "/v2/health/ready",
    {
      ...health,
      schema: {
        tags,
        summary: "Server readiness (200 ready, 400 not ready, as the protocol specifies)",
        // 200 when ready, 400 when not, with the same body (the protocol's choice)
        response: { 200: healthSchema("ready"), 400: healthSchema("ready") },
      },
    },
    async (_req, reply) => {
      const ready = dataPlane.ready();
      return reply.code(ready ? 200 : 400).send({ ready });
    },
  );

  for (const base of ["/v2/models/:name", "/v2/models/:name/versions/:version"]) {
    const params = modelParamsSchema(deps.config.model.name, base.endsWith(":version"));
    app.get<{ Params: ModelParams }>(
      base,
      {
        schema: {
          tags,
          summary: "Model metadata",
          params,
          response: {
            200: {
              type: "object",
              properties: {
                name: { type: "string" },
                versions: { type: "array", items: { type: "string" } },
                platform: { type: "string" },
                inputs: { type: "array", items: tensorMetadata },
                outputs: { type: "array", items: tensorMetadata },
              },
            },
            ...errorResponses(401, 404, 429, 503),
          },
        },
      },
      async (request) => dataPlane.modelMetadata(request.params.name, request.params.version),
    );

    app.get<{ Params: ModelParams }>(
      `${base}/ready`,
      {
        schema: {
          tags,
          summary:
            "Model readiness (200 ready, 400 not ready; 404 not loaded, 503 loading or waiting for its registry)",
          params,
          // 400 is "not ready" or, for a malformed path parameter, the error envelope.
          response: {
            200: healthSchema("ready"),
            400: { anyOf: [healthSchema("ready"), { $ref: "ErrorEnvelope#" }] },
            ...errorResponses(404),
          },
        },
      },
      async (request, reply) => {
        const ready = dataPlane.modelReady(request.params.name, request.params.version);
        return reply.code(ready ? 200 : 400).send({ ready });
      },
    );

    app.post<{ Params: ModelParams; Body: InferRequest }>(
      `${base}/infer`,
      {
        schema: {
          tags,
          summary: "Inference with JSON tensors",
          params,
          body: inferBodySchema,
          response: { 200: inferResponseSchema, ...errorResponses(400, 401, 404, 413, 415, 429, 503) },
        },
      },
      async (request, reply) => {
        const { name, version } = request.params;
        const outcome = await dataPlane.infer(request, name, version, request.body);
        markAnswered(request, reply, outcome.answer);
        if (outcome.scored !== undefined) noteScored(request, outcome.scored);
        return outcome.response;
      },
    );
  }
});
