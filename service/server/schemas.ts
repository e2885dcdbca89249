/**
 * JSON schemas shared by routes: they validate requests, drive fast-json-stringify serialisation
 * and generate the OpenAPI document.
 */
import type { RouteOptions } from "fastify";
import { accessErrorStatuses, exemptFromPressure } from "../auth/route-auth.js";
import { MAX_PATH_PARAM_LENGTH } from "../contract/prediction-routes.js";
import { errorEnvelopeSchema } from "../errors/api-error.js";

/** Longest path parameter the router matches (fastify's `maxParamLength`); longer ones get 400. */
export { MAX_PATH_PARAM_LENGTH };

/**
 * A `:name` path parameter naming a model (`/models/:name/...`, `/v2/models/:name/...`): bounded as
 * the router bounds it, with the served model's name as the documented example (so the API fuzzing
 * reaches the model).
 */
export function modelNameSchema(modelName: string) {
  return { type: "string", maxLength: MAX_PATH_PARAM_LENGTH, examples: [modelName] } as const;
}

/** Error responses documented on a route, all in the one envelope. */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(statuses.map((s) => [s, { $ref: "ErrorEnvelope#" }]));
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The error statuses a route can answer whatever its handler does: those of its auth declaration
 * (401, 403, 429: service/auth/route-auth.ts), 503 unless under-pressure exempts it (by the same
 * declaration), 429 unless it is exempt from rate limits; 400, 413 and 415 when it takes a body
 * (unparsable JSON, size limit, content type); 400 when it has parameters or a query string.
 */
export function commonErrorStatuses(route: RouteOptions): number[] {
  const config = route.config as { auth?: unknown; rateLimit?: unknown } | undefined;
  const statuses = new Set<number>(accessErrorStatuses(config));
  if (!exemptFromPressure(config)) statuses.add(503);
  if (config?.rateLimit !== false) statuses.add(429);
  const methods = [route.method].flat();
  if (methods.some((m) => BODY_METHODS.has(m))) statuses.add(400).add(413).add(415);
  if (route.schema?.params !== undefined || route.schema?.querystring !== undefined) statuses.add(400);
  return [...statuses].sort((a, b) => a - b);
}

/**
 * An onRoute hook: adds the common error statuses to every documented route's responses, so the
 * OpenAPI document lists every status a route answers (the API fuzz test checks it).
 */
export function documentCommonErrors(route: RouteOptions): void {
  const schema = route.schema as { hide?: boolean; response?: Record<string | number, unknown> } | undefined;
  if (schema === undefined || schema.hide === true) return;
  const response = { ...schema.response };
  for (const status of commonErrorStatuses(route)) response[status] ??= { $ref: "ErrorEnvelope#" };
  route.schema = { ...route.schema, response };
}

export const sharedSchemas = [errorEnvelopeSchema] as const;

/**
 * One row of the bundled model's input, 28x28 = 784 raw pixels, for request examples in the
 * OpenAPI document (the API fuzz test sends them, so the examples reach the model).
 */
export const EXAMPLE_ROW: readonly number[] = Array.from({ length: 784 }, (_, i) => (i * 37) % 256);

/** One row's answer: a classifier's label, class id and probabilities, or a regression's value(s). */
export const predictionSchema = {
  type: "object",
  properties: {
    label: { type: "string", description: "Classification: the top class's name." },
    class_id: { type: "integer", description: "Classification: the top class's index." },
    probabilities: {
      type: "array",
      items: { type: "number" },
      description: "Classification: class probabilities, index = class id (labels in GET /metadata).",
    },
    value: { type: "number", description: "Regression with one value a row." },
    values: {
      type: "array",
      items: { type: "number" },
      description: "Regression with several values a row.",
    },
  },
} as const;

export const predictResponseSchema = {
  type: "object",
  required: ["prediction_id", "model", "predictions"],
  properties: {
    prediction_id: { type: "string" },
    model: {
      type: "object",
      required: ["name", "version", "variant"],
      properties: {
        name: { type: "string" },
        version: { type: "string" },
        variant: { type: "string", enum: ["stable", "candidate"], description: "The variant that answered." },
      },
    },
    predictions: { type: "array", items: predictionSchema },
  },
} as const;
