/**
 * `POST /reload-model`: reloads the default model's variants from the registry, for admins. An
 * operator route (service/contract/operator-paths.ts), registered by ./operator.ts at each of the
 * process's operator bases.
 */
import { ApiError } from "../../errors/api-error.js";
import { ErrorCode } from "../../errors/codes.js";
import type { VariantName } from "../../inference/model-holder.js";
import { describeFailedReloads, type ReloadEvent } from "../../rollout/summary.js";
import type { RouteDeps } from "../deps.js";
import { httpAdapter } from "../named-plugin.js";
import { errorResponses } from "../schemas.js";
import { ALSO_BY_NAME, type Documented } from "./operator-docs.js";

export const reloadModelPlugin = httpAdapter<{ readonly deps: RouteDeps } & Documented>(
  "plinth-reload-model",
  async (app, { deps, documented }) => {
    const { models, rollout } = deps;

    app.post<{ Body: { variant?: VariantName | "all" } | undefined }>(
      "/reload-model",
      {
        // Admins only (admin-role key/JWT, or oauth2-proxy's user when trusted); refusals are audited.
        config: { auth: { accepts: ["api", "oauth2-proxy"], roles: ["admin"], audit: "reload-model" } },
        schema: {
          hide: !documented,
          summary: "Reload model variants from the registry (each loaded and warmed aside, then swapped)",
          description:
            "Re-resolves `MODEL_STABLE` and/or `MODEL_CANDIDATE`. A version that fails to load leaves the " +
            "previous one serving (500 RELOAD_FAILED naming the variant). A reload of the candidate closes its circuit." +
            ALSO_BY_NAME("/reload-model"),
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
          throw new ApiError(ErrorCode.RELOAD_FAILED, `reload failed: ${describeFailedReloads(failed)}`);
        }
        return { results: events.map(reloadResultJson) };
      },
    );
  },
);

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
