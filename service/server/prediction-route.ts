/**
 * One prediction handler, two routes (service/contract/prediction-routes.ts): `<endpoint>` serves
 * the process's default model, `/models/:name<endpoint>` the model its path names (the default one
 * or a MODEL_REPOSITORY model). The handler is the same function at both: it is handed the rollout
 * engine of the chosen model, and everything else (body, response, errors, rollout routing, auth,
 * cost, metrics, drift and the prediction log through the shared hooks) follows from the route
 * options both share and from that engine. The per-model route holds its model for the request
 * (an unload waits for it), and answers an unknown name with 404 MODEL_NOT_FOUND, a model that is
 * not loaded or not ready as the v2 routes do (404, 503 NOT_READY).
 */
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  RouteGenericInterface,
  RouteShorthandOptions,
} from "fastify";
import { endpointRoutes, type ModelEndpoint } from "../contract/prediction-routes.js";
import type { RolloutEngine } from "../rollout/engine.js";
import type { RouteDeps } from "./deps.js";
import { errorResponses, modelNameSchema } from "./schemas.js";

/** Scores a request on `engine`, the chosen model's; resolves to the response body. */
export type PredictionHandler<G extends RouteGenericInterface> = (
  request: FastifyRequest<G>,
  reply: FastifyReply,
  engine: RolloutEngine,
) => Promise<unknown>;

/** The route options both routes share; the schema's summary and description are the bare route's. */
export interface PredictionRouteOptions {
  readonly config?: RouteShorthandOptions["config"];
  readonly schema: FastifySchema & {
    readonly summary: string;
    readonly description: string;
    readonly response: Record<number, unknown>;
  };
}

interface ModelParams {
  name: string;
}

/** The per-model route's options: the bare route's, with the `name` parameter and its 404. */
function perModelOptions(endpoint: ModelEndpoint, options: PredictionRouteOptions, modelName: string) {
  const { schema } = options;
  return {
    ...options,
    schema: {
      ...schema,
      summary: `${schema.summary}, with the model named in the path`,
      description:
        `\`POST /models/{name}${endpoint}\` is \`POST ${endpoint}\` for the model the path names: the ` +
        "process's default model (`MODEL_NAME`, with its rollout) or a `MODEL_REPOSITORY` model (its " +
        "stable version). 404 `MODEL_NOT_FOUND` when no model here has that name or it is not loaded, " +
        "503 `NOT_READY` while it loads.\n\n" +
        schema.description,
      params: { type: "object", required: ["name"], properties: { name: modelNameSchema(modelName) } },
      response: { ...schema.response, ...errorResponses(404) },
    },
  };
}

/**
 * Registers `handler` at the endpoint's two routes: the bare one with the default model's engine,
 * the per-model one with the engine of the model named in the path.
 */
export function postPrediction<G extends RouteGenericInterface>(
  app: FastifyInstance,
  deps: RouteDeps,
  endpoint: ModelEndpoint,
  options: PredictionRouteOptions,
  handler: PredictionHandler<G>,
): void {
  const [bare, perModel] = endpointRoutes(endpoint);
  const defaultEngine = deps.rollout;
  const { dataPlane } = deps;
  const bareSchema = {
    ...options.schema,
    description:
      `${options.schema.description}\n\nThe same for any model this process serves, named in the path: ` +
      `\`POST ${perModel.replace(":name", "{name}")}\`.`,
  };
  // fastify types a route's request by its generic; the handler's is the caller's (G), which the
  // route schemas validate.
  const typed = (request: FastifyRequest) => request as unknown as FastifyRequest<G>;
  app.post(bare, { ...options, schema: bareSchema }, (request, reply) =>
    handler(typed(request), reply, defaultEngine),
  );
  app.post<{ Params: ModelParams }>(
    perModel,
    perModelOptions(endpoint, options, deps.config.model.name),
    async (request, reply) => {
      const lease = dataPlane.acquire(request.params.name);
      try {
        return await handler(typed(request), reply, lease.engine);
      } finally {
        lease.release();
      }
    },
  );
}
