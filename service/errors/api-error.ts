import { ERROR_STATUS, type ErrorCode } from "./codes.js";

/** An error the API reports to the caller as-is: a stable code, its status and a readable message. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers, e.g. Retry-After on 503. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.statusCode = ERROR_STATUS[code];
  }
}

/** The body of every error response. */
export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; requestId: string };
}

/** JSON schema of {@link ErrorEnvelope}, for route response schemas and the OpenAPI document. */
export const errorEnvelopeSchema = {
  $id: "ErrorEnvelope",
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "requestId"],
      properties: { code: { type: "string" }, message: { type: "string" }, requestId: { type: "string" } },
    },
  },
} as const;
