/**
 * JSON schemas shared by routes: they validate requests, drive fast-json-stringify serialisation
 * and generate the OpenAPI document.
 */
import { errorEnvelopeSchema } from "../errors/api-error.js";

/** Error responses documented on a route, all in the one envelope. */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(statuses.map((s) => [s, { $ref: "ErrorEnvelope#" }]));
}

export const sharedSchemas = [errorEnvelopeSchema] as const;

export const predictionSchema = {
  type: "object",
  required: ["label", "class_id", "probabilities"],
  properties: {
    label: { type: "string" },
    class_id: { type: "integer" },
    probabilities: {
      type: "array",
      items: { type: "number" },
      description: "Class probabilities, index = class id (labels in GET /metadata).",
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

export const apiKeySecurity: { [scheme: string]: string[] }[] = [{ apiKey: [] }, { bearer: [] }];
