/** `GET /ops/summary`: the operations summary, for admins and ops readers (service/ops/summary.ts). */
import type { FastifyInstance } from "fastify";
import { buildSummary, type SummarySources } from "../../ops/summary.js";

export function opsRoutes(app: FastifyInstance, sources: SummarySources): void {
  app.get(
    "/ops/summary",
    {
      // Admins and the read-only role the drift check holds; oauth2-proxy's users are admins.
      config: { auth: { accepts: ["api", "oauth2-proxy"], roles: ["admin", "ops-read"] } },
      schema: {
        summary:
          "Rollout, traffic, latency, drift, shadow agreement, circuit, reloads and training, in one object",
        description:
          "Needs the `admin` or the read-only `ops-read` role (API key or JWT), or, with `OPS_OIDC_TRUST_HEADERS=true`, an oauth2-proxy " +
          "`X-Auth-Request-Email` in `OPS_OIDC_ALLOWED_EMAIL_DOMAINS`.",
        response: {
          200: {
            type: "object",
            required: ["generatedAt", "rollout", "traffic", "drift", "training", "audit"],
            // The members are described by OpsSummary (service/ops/summary.ts) and serialised as they are.
            additionalProperties: true,
            properties: { generatedAt: { type: "string", format: "date-time" } },
          },
          // 401, 403 and 429 follow from the auth declaration (server/schemas.ts).
        },
      },
    },
    async (_request, reply) => {
      reply.header("cache-control", "no-store");
      return buildSummary(sources);
    },
  );
}
