/**
 * `GET /ops/summary`: the operations summary, for admins and ops readers (service/ops/summary.ts).
 * An operator route, registered by ./operator.ts at each of the process's operator bases.
 */
import { httpAdapter } from "../named-plugin.js";
import { buildSummary, type SummarySources } from "../../ops/summary.js";
import { ALSO_BY_NAME, type Documented } from "./operator-docs.js";

export const opsSummaryPlugin = httpAdapter<{ readonly sources: SummarySources } & Documented>(
  "plinth-ops-summary",
  async (app, { sources, documented }) => {
    app.get(
      "/ops/summary",
      {
        // Admins and the read-only role the drift check holds; oauth2-proxy's users are admins.
        config: { auth: { accepts: ["api", "oauth2-proxy"], roles: ["admin", "ops-read"] } },
        schema: {
          hide: !documented,
          summary:
            "Rollout, traffic, latency, drift, shadow agreement, circuit, reloads and training, in one object",
          description:
            "Needs the `admin` or the read-only `ops-read` role (API key or JWT), or, with `OPS_OIDC_TRUST_HEADERS=true`, an oauth2-proxy " +
            "`X-Auth-Request-Email` in `OPS_OIDC_ALLOWED_EMAIL_DOMAINS`." +
            ALSO_BY_NAME("/ops/summary"),
          response: {
            200: {
              type: "object",
              required: ["generatedAt", "rollout", "traffic", "drift", "training", "audit"],
              // The members are described by OpsSummary (service/ops/summary.ts) and serialised as they are.
              additionalProperties: true,
              properties: {
                generatedAt: { type: "string", format: "date-time" },
                rollout: {
                  type: "object",
                  additionalProperties: true,
                  properties: { shadow: shadowSummarySchema },
                },
                drift: {
                  type: "object",
                  additionalProperties: true,
                  properties: {
                    baseline: { type: "string" },
                    unsupported: {
                      type: ["string", "null"],
                      description:
                        "Why drift cannot monitor the stable version at all (e.g. no plinth metadata), naming the model; null when it can.",
                    },
                  },
                },
              },
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
  },
);

/** The rollout's shadow section (RolloutSnapshot["shadow"], service/rollout/summary.ts). */
const shadowSummarySchema = {
  type: "object",
  additionalProperties: true,
  properties: {
    compared: { type: "integer", description: "Rows scored by both variants and compared." },
    agreed: { type: "integer" },
    agreement: {
      type: ["number", "null"],
      description:
        "agreed / compared; null before the first comparison, and when agreementUnsupported says why.",
    },
    agreementUnsupported: {
      type: ["string", "null"],
      description:
        "Why agreement is not defined for the loaded versions (answers without predicted labels: a regression, raw or unconfigured model), naming the model; null when it is.",
    },
    dropped: { type: "integer" },
    latencyP95MsByVariant: {
      type: "object",
      properties: { stable: { type: ["number", "null"] }, candidate: { type: ["number", "null"] } },
    },
  },
} as const;
