/**
 * The model repository extension of the Open Inference Protocol (Triton's
 * https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_model_repository.md),
 * registered when the process serves several models (MODEL_REPOSITORY): list the models with their
 * state, load and unload them without a restart. Thin adapters over the data plane.
 *
 * Loading and unloading change what the service serves, so they are admin actions, declared as
 * POST /reload-model declares itself (refusals audited; what was done is audited by
 * service/ops/install.ts from the repository's reports); the index is operations information, for
 * admins and the read-only operations role.
 */
import type { RouteDeps } from "../deps.js";
import { httpAdapter } from "../named-plugin.js";
import { errorResponses, MAX_PATH_PARAM_LENGTH } from "../schemas.js";

const tags = ["open inference protocol v2: model repository"];

// API credentials only: these routes are under /v2, which the public Ingress routes, so a user
// named by oauth2-proxy's header could be forged there (service/contract/operator-paths.ts).
const ADMIN_ACTION = (audit: string) => ({ auth: { accepts: ["api"], roles: ["admin"], audit } }) as const;
const OPS_READERS = { auth: { accepts: ["api"], roles: ["admin", "ops-read"] } } as const;

const indexEntrySchema = {
  type: "object",
  required: ["name", "state", "reason"],
  properties: {
    name: { type: "string" },
    version: { type: "string", description: "The stable version serving; absent while none is loaded." },
    state: { type: "string", enum: ["READY", "LOADING", "UNAVAILABLE"] },
    reason: { type: "string", description: 'Why the model is not READY; "" when it is.' },
    memory: {
      type: "object",
      description:
        "plinth's addition, while loaded: the loaded versions' ONNX file bytes, and the process RSS growth " +
        "measured across their loads (an estimate: other allocations and garbage collection in that window count too).",
      properties: {
        onnx_file_bytes: { type: "integer" },
        rss_delta_at_load_bytes: { type: "integer" },
      },
    },
  },
} as const;

const modelParams = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string", maxLength: MAX_PATH_PARAM_LENGTH } },
} as const;

/** The protocol lets a load or unload carry parameters; none is supported, so none is accepted. */
const actionBody = {
  type: ["object", "null"],
  additionalProperties: false,
  properties: { parameters: { type: "object", maxProperties: 0 } },
} as const;

export const v2RepositoryPlugin = httpAdapter<RouteDeps>(
  "plinth-v2-repository",
  async (app, { dataPlane }) => {
    app.post<{ Body: { ready?: boolean } | null }>(
      "/v2/repository/index",
      {
        config: OPS_READERS,
        schema: {
          tags,
          summary: "The models of the repository with their state (READY, LOADING, UNAVAILABLE) and reason",
          body: {
            type: ["object", "null"],
            additionalProperties: false,
            properties: { ready: { type: "boolean", description: "true: only the READY models." } },
          },
          response: { 200: { type: "array", items: indexEntrySchema } },
        },
      },
      async (request) => dataPlane.repositoryIndex(request.body?.ready === true),
    );

    app.post<{ Params: { name: string } }>(
      "/v2/repository/models/:name/load",
      {
        config: ADMIN_ACTION("repository-load"),
        schema: {
          tags,
          summary: "Load a model of the repository (a loaded one re-resolves its reference and swaps)",
          description:
            "Resolves the model's reference (MODEL_REPOSITORY, or MODEL_STABLE for the default model), loads and " +
            "warms it, then serves it. A model that is already loaded is reloaded as POST /reload-model does. " +
            "500 MODEL_LOAD_FAILED when it cannot be loaded (it stays UNAVAILABLE), 500 RELOAD_FAILED when a " +
            "reload fails (the previous version keeps serving).",
          params: modelParams,
          body: actionBody,
          response: { 200: indexEntrySchema, ...errorResponses(404, 500) },
        },
      },
      async (request) => dataPlane.load(request.params.name, request.principal?.identity),
    );

    app.post<{ Params: { name: string } }>(
      "/v2/repository/models/:name/unload",
      {
        config: ADMIN_ACTION("repository-unload"),
        schema: {
          tags,
          summary: "Unload a model of the repository once its in-flight requests finish",
          description:
            "New requests to the model get 404 at once; requests already running finish, then its versions are " +
            "released. The default model (MODEL_NAME) cannot be unloaded (400). Unloading an unloaded model does nothing.",
          params: modelParams,
          body: actionBody,
          response: { 200: indexEntrySchema, ...errorResponses(404) },
        },
      },
      async (request) => dataPlane.unload(request.params.name, request.principal?.identity),
    );
  },
);
