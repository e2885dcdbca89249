/** `GET /ops/summary`: the operations summary, for admins and ops readers (service/ops/summary.ts). */
import type { FastifyInstance } from "fastify";
import { opsReaders } from "../../ops/admin-auth.js";
import { buildSummary, type SummarySources } from "../../ops/summary.js";
import { apiKeySecurity, errorResponses } from "../schemas.js";

export function opsRoutes(app: FastifyInstance, sources: SummarySources): void {
  app.get(
    "/ops/summary",
    {
      ...opsReaders(),
      schema: {
        summary:
          "Rollout, traffic, latency, drift, shadow agreement, circuit, reloads and training, in one object",
        description:
          "Needs the `admin` or the read-only `ops-read` role (API key or JWT), or, with `OPS_OIDC_TRUST_HEADERS=true`, an oauth2-proxy " +
          "`X-Auth-Request-Email` in `OPS_OIDC_ALLOWED_EMAIL_DOMAINS`.",
        security: apiKeySecurity,
        response: {
          200: {
            type: "object",
            required: ["generatedAt", "rollout", "traffic", "drift", "training", "audit"],
            // The members are described by OpsSummary (service/ops/summary.ts) and serialised as they are.
            additionalProperties: true,
            properties: { generatedAt: { type: "string", format: "date-time" } },
          },
          ...errorResponses(401, 403, 429),
        },
      },
    },
    async (_request, reply) => {
      reply.header("cache-control", "no-store");
      return buildSummary(sources);
    },
  );
}
