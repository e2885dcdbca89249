/**
 * The Open Inference Protocol (KServe v2 / Triton) REST API over the serving model:
 * https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
 *
 * A model without plinth metadata is served by its graph's own contract: its input and output
 * names, datatypes and shapes (service/serving/). A plinth model keeps its convenience contract:
 * tensors carry raw pixels (FP32 or UINT8, as /predict) and the service applies the model's
 * normalisation. Tensors come as JSON (flat or nested `data`) or, for inputs, in the binary tensor
 * extension (v2-binary.ts); outputs are always JSON.
 * Errors use the service's envelope, whose `error` member the protocol's clients read as the message.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../../errors/api-error.js";
import { ErrorCode } from "../../errors/codes.js";
import type { VariantName } from "../../inference/model-holder.js";
import type { GraphModel } from "../../inference/graph-model.js";
import type { LoadedModel } from "../../inference/load-model.js";
import type { PlinthModel } from "../../inference/model.js";
import { encodeTensorData } from "../../inference/preprocess.js";
import type { Routed } from "../../rollout/engine.js";
import { checkRequest } from "../../serving/request-tensors.js";
import { outputTensors } from "../../serving/tensor-codec.js";
import type { RouteDeps } from "../deps.js";
import { countPredictions, notReady, predictionHeaders } from "../predict-common.js";
import { apiKeySecurity, errorResponses, EXAMPLE_ROW, MAX_PATH_PARAM_LENGTH } from "../schemas.js";
import { acceptBinaryTensors } from "./v2-binary.js";

const SERVER_NAME = "plinth";
const SERVER_VERSION = "0.1.0";
const PLATFORM = "onnxruntime_onnx";
const ACCEPTED_DATATYPES = new Set(["FP32", "UINT8"]);

interface ModelParams {
  name: string;
  version?: string;
}

interface RequestInput {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
  parameters?: Record<string, unknown>;
}

interface InferRequest {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: RequestInput[];
  outputs?: { name: string; parameters?: Record<string, unknown> }[];
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
  const name = { type: "string", maxLength: MAX_PATH_PARAM_LENGTH, examples: [modelName] } as const;
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

/**
 * The variant a path addresses: any variant for `/v2/models/:name`, the one serving the version for
 * `/versions/:version`; 404 for another model or a version that is not loaded.
 */
function addressedVariant(
  deps: RouteDeps,
  request: FastifyRequest<{ Params: ModelParams }>,
): VariantName | undefined {
  const stable = deps.models.current;
  if (stable === undefined) throw notReady();
  const { name, version } = request.params;
  if (name !== stable.name)
    throw new ApiError(ErrorCode.MODEL_NOT_FOUND, `model "${name.slice(0, 128)}" is not served here`);
  if (version === undefined) return undefined;
  const variant = deps.rollout.variantOfVersion(version);
  if (variant === undefined) {
    const serving = servedVersions(deps).join(", ");
    throw new ApiError(
      ErrorCode.MODEL_VERSION_NOT_FOUND,
      `model "${name}" version "${version.slice(0, 64)}" is not loaded (serving ${serving})`,
    );
  }
  return variant;
}

/** Loaded versions, stable first. */
function servedVersions(deps: RouteDeps): string[] {
  return deps.models.holders().flatMap((h) => (h.current === undefined ? [] : [h.current.version]));
}

/** The model a metadata request describes: the addressed version's, else stable's. */
function describedModel(deps: RouteDeps, request: FastifyRequest<{ Params: ModelParams }>): LoadedModel {
  const variant = addressedVariant(deps, request) ?? "stable";
  return deps.models.holder(variant)!.current!;
}

/** The tensors a model takes and gives: a graph model's own, a plinth model's raw-pixel contract. */
function modelTensors(model: LoadedModel) {
  if (model.kind === "graph") return model.contract;
  const { input, output } = model.metadata;
  return {
    inputs: [{ name: input.name, datatype: "FP32", shape: [-1, ...input.shape] }],
    outputs: [{ name: output.name, datatype: "FP32", shape: [-1, model.labels.length] }],
  };
}

/** Checks the single input tensor against the model and returns `[rows, normalised data]`. */
function readInput(body: InferRequest, model: PlinthModel, maxRows: number): [number, Float32Array] {
  if (body.inputs.length !== 1) {
    throw new ApiError(
      ErrorCode.INVALID_REQUEST,
      `the model has one input, "${model.metadata.input.name}"; got ${body.inputs.length} inputs`,
    );
  }
  const input = body.inputs[0]!;
  if (input.name !== model.metadata.input.name) {
    throw new ApiError(
      ErrorCode.INVALID_REQUEST,
      `unknown input "${input.name.slice(0, 64)}"; the model's input is "${model.metadata.input.name}"`,
    );
  }
  if (!ACCEPTED_DATATYPES.has(input.datatype)) {
    throw new ApiError(
      ErrorCode.INVALID_REQUEST,
      `input datatype ${input.datatype.slice(0, 16)} not supported; send FP32 or UINT8 raw pixels`,
    );
  }
  const [rows, ...rest] = input.shape;
  const perRow = rest.reduce((a, b) => a * b, 1);
  const expected = model.metadata.input.shape;
  const sameAsModel = rest.length === expected.length && rest.every((d, i) => d === expected[i]);
  if (rows === undefined || (!sameAsModel && !(rest.length === 1 && perRow === model.inputSize))) {
    throw new ApiError(
      ErrorCode.INVALID_SHAPE,
      `input shape [${input.shape.join(",")}]: expected [N,${expected.join(",")}] or [N,${model.inputSize}]`,
    );
  }
  if (rows === 0) throw new ApiError(ErrorCode.EMPTY_BATCH, "input shape has a batch of 0 rows");
  if (rows > maxRows)
    throw new ApiError(ErrorCode.BATCH_TOO_LARGE, `${rows} rows, at most ${maxRows} per request`);
  return [rows, encodeTensorData(input.data, rows * model.inputSize, model, `inputs[0].data`)];
}

/** A graph model's request: checked against its contract, run, its outputs returned as they are. */
async function inferGraph(
  request: FastifyRequest<{ Params: ModelParams; Body: InferRequest }>,
  reply: FastifyReply,
  deps: RouteDeps,
  routed: Routed<GraphModel>,
) {
  const { inputs, outputs } = request.body;
  const checked = checkRequest(inputs, outputs, routed.model.contract, deps.config.limits.maxRowsPerRequest);
  const answer = await deps.rollout.runGraph(request, routed, (model) =>
    model.run(checked.feeds, checked.outputs, checked.rows),
  );
  predictionHeaders(request, reply, answer);
  return {
    model_name: answer.model.name,
    model_version: answer.model.version,
    id: request.body.id ?? request.id,
    outputs: outputTensors(answer.result, checked.outputs),
  };
}

export async function v2Routes(root: FastifyInstance, deps: RouteDeps): Promise<void> {
  await root.register(async (app) => {
    acceptBinaryTensors(app);
    registerV2(app, deps);
  });
}

function registerV2(app: FastifyInstance, deps: RouteDeps): void {
  const maxRows = deps.config.limits.maxRowsPerRequest;
  const health = { config: { public: true, rateLimit: false } } as const;
  const tags = ["open inference protocol v2"];

  app.get(
    "/v2",
    {
      schema: {
        tags,
        summary: "Server metadata",
        security: apiKeySecurity,
        response: { 200: serverMetadataSchema },
      },
    },
    async () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: [] }),
  );

  app.get(
    "/v2/health/live",
    {
      ...health,
      schema: { tags, summary: "Server liveness (200 live)", response: { 200: healthSchema("live") } },
    },
    async (_req, reply) => reply.code(200).send({ live: true }),
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
    async (_req, reply) => reply.code(deps.models.ready ? 200 : 400).send({ ready: deps.models.ready }),
  );

  for (const base of ["/v2/models/:name", "/v2/models/:name/versions/:version"]) {
    const params = modelParamsSchema(deps.config.model.name, base.endsWith(":version"));
    app.get<{ Params: ModelParams }>(
      base,
      {
        schema: {
          tags,
          summary: "Model metadata",
          security: apiKeySecurity,
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
      async (request) => {
        const model = describedModel(deps, request);
        return {
          name: model.name,
          versions: request.params.version === undefined ? servedVersions(deps) : [model.version],
          platform: PLATFORM,
          ...modelTensors(model),
        };
      },
    );

    app.get<{ Params: ModelParams }>(
      `${base}/ready`,
      {
        schema: {
          tags,
          summary: "Model readiness (200 ready, 400 not ready)",
          security: apiKeySecurity,
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
        addressedVariant(deps, request);
        return reply.code(deps.models.ready ? 200 : 400).send({ ready: deps.models.ready });
      },
    );

    app.post<{ Params: ModelParams; Body: InferRequest }>(
      `${base}/infer`,
      {
        schema: {
          tags,
          summary: "Inference with JSON tensors",
          security: apiKeySecurity,
          params,
          body: inferBodySchema,
          response: { 200: inferResponseSchema, ...errorResponses(400, 401, 404, 413, 415, 429, 503) },
        },
      },
      async (request, reply) => {
        const routed = deps.rollout.route(request, addressedVariant(deps, request));
        if (routed.model.kind === "graph") {
          return inferGraph(request, reply, deps, { variant: routed.variant, model: routed.model });
        }
        const model = routed.model;
        const outputName = model.metadata.output.name;
        for (const out of request.body.outputs ?? []) {
          if (out.name !== outputName) {
            throw new ApiError(
              ErrorCode.INVALID_REQUEST,
              `unknown output "${out.name.slice(0, 64)}"; the model's output is "${outputName}"`,
            );
          }
        }
        const [rows, data] = readInput(request.body, model, maxRows);
        const scored = await deps.rollout.score(request, { variant: routed.variant, model }, data, rows);
        countPredictions(scored, rows, deps.predictions);
        predictionHeaders(request, reply, scored);
        const { probs } = scored;
        return {
          model_name: scored.model.name,
          model_version: scored.model.version,
          id: request.body.id ?? request.id,
          outputs: [
            {
              name: outputName,
              datatype: "FP32",
              shape: [rows, scored.model.labels.length],
              data: Array.from(probs),
            },
          ],
        };
      },
    );
  }
}
