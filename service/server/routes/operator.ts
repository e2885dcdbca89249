/**
 * The operator routes (service/contract/operator-paths.ts): the ops summary, the admin panel and
 * `POST /reload-model`. One plugin registers them, once per base path the process serves them at:
 * bare (`/admin`, ...), and under its own model's name (`/models/<MODEL_NAME>/admin`, ...), so that
 * in a stack of several models the edge can publish each model's operator routes to that model's
 * process behind oauth2-proxy. Both registrations are the same routes with the same options: the
 * one auth hook reads the same declarations (credentials, roles, the CSRF check of an admin
 * action, audited refusals), and the rate limits, cost budget and metrics hooks of the root
 * apply to both. A MODEL_REPOSITORY model has none: its process's operator routes are its
 * MODEL_NAME's.
 */
import type { FastifyInstance } from "fastify";
import { modelOperatorPrefix } from "../../contract/operator-paths.js";
import type { SummarySources } from "../../ops/summary.js";
import type { RouteDeps } from "../deps.js";
import { httpAdapter } from "../named-plugin.js";
import { adminPanelPlugin } from "./admin.js";
import { opsSummaryPlugin } from "./ops.js";
import { reloadModelPlugin } from "./reload.js";

export interface OperatorRouteParts {
  readonly deps: RouteDeps;
  /** What `GET /ops/summary` reads. */
  readonly summary: SummarySources;
}

interface OperatorRoutesOptions extends OperatorRouteParts {
  /** The base path: "" or `/models/<MODEL_NAME>` (fastify's own `prefix` option). */
  readonly prefix: string;
}

const operatorRoutesPlugin = httpAdapter<OperatorRoutesOptions>(
  "plinth-operator-routes",
  async (app, { deps, summary, prefix }) => {
    // The bare routes are the documented ones; their copies by name are the same operations.
    const documented = prefix === "";
    await app.register(opsSummaryPlugin, { sources: summary, documented });
    await app.register(adminPanelPlugin);
    await app.register(reloadModelPlugin, { deps, documented });
  },
);

/** The base paths of the operator routes of a process whose MODEL_NAME is `modelName`. */
export function operatorBases(modelName: string): readonly string[] {
  return ["", modelOperatorPrefix(modelName)];
}

/** Registers the operator routes at each of the process's bases. */
export async function registerOperatorRoutes(app: FastifyInstance, parts: OperatorRouteParts): Promise<void> {
  for (const prefix of operatorBases(parts.deps.config.model.name)) {
    await app.register(operatorRoutesPlugin, { ...parts, prefix });
  }
}
