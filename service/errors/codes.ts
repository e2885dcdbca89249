/**
 * The stable error codes of the public API. Clients branch on `error.code`, never on the message,
 * so a code, once published, keeps its meaning and its HTTP status.
 */
export const ErrorCode = {
  /** The JSON body could not be parsed. */
  INVALID_JSON: "INVALID_JSON",
  /** The body parsed but does not match the route's schema (missing field, wrong type). */
  INVALID_REQUEST: "INVALID_REQUEST",
  /** A row has the wrong number of values for the model input. */
  INVALID_SHAPE: "INVALID_SHAPE",
  /** A value is not a number, or is outside the model's pixel range. */
  INVALID_VALUE: "INVALID_VALUE",
  /** A request with no rows. */
  EMPTY_BATCH: "EMPTY_BATCH",
  /** More rows than MAX_ROWS_PER_REQUEST. */
  BATCH_TOO_LARGE: "BATCH_TOO_LARGE",
  /** The image could not be decoded (corrupt, truncated, not an image). */
  INVALID_IMAGE: "INVALID_IMAGE",
  /** The image's declared dimensions exceed IMAGE_MAX_PIXELS (refused before decoding). */
  IMAGE_TOO_LARGE: "IMAGE_TOO_LARGE",
  /** The body's content type is not accepted by this route. */
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  /** The body exceeds BODY_LIMIT_BYTES. */
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  /** No credentials were presented. */
  UNAUTHENTICATED: "UNAUTHENTICATED",
  /** The credentials were presented but are not valid (unknown key, bad or expired token). */
  INVALID_CREDENTIALS: "INVALID_CREDENTIALS",
  /** The caller is authenticated but lacks the role the request needs. */
  FORBIDDEN: "FORBIDDEN",
  /** The caller exceeded its rate limit; see Retry-After. */
  RATE_LIMITED: "RATE_LIMITED",
  /** No route for this method and path. */
  NOT_FOUND: "NOT_FOUND",
  /** The route exists but not for this method. */
  METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
  /** The model name is not the one this service serves. */
  MODEL_NOT_FOUND: "MODEL_NOT_FOUND",
  /** The model version is not the one loaded. */
  MODEL_VERSION_NOT_FOUND: "MODEL_VERSION_NOT_FOUND",
  /** The model is not loaded yet or the service is shutting down; see Retry-After. */
  NOT_READY: "NOT_READY",
  /** The inference queue or the event loop is saturated; see Retry-After. */
  OVERLOADED: "OVERLOADED",
  /** A reload failed; whatever served before keeps serving (the message says what, per variant). */
  RELOAD_FAILED: "RELOAD_FAILED",
  /** A model repository load failed; the model stays unavailable. */
  MODEL_LOAD_FAILED: "MODEL_LOAD_FAILED",
  /** The serving model's graph has an operator the saliency explainer cannot differentiate. */
  EXPLAIN_UNSUPPORTED: "EXPLAIN_UNSUPPORTED",
  /** A fault on the server side. */
  INTERNAL: "INTERNAL",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The HTTP status each code is always sent with. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_JSON: 400,
  INVALID_REQUEST: 400,
  INVALID_SHAPE: 400,
  INVALID_VALUE: 400,
  EMPTY_BATCH: 400,
  BATCH_TOO_LARGE: 400,
  INVALID_IMAGE: 400,
  IMAGE_TOO_LARGE: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  MODEL_NOT_FOUND: 404,
  MODEL_VERSION_NOT_FOUND: 404,
  NOT_READY: 503,
  OVERLOADED: 503,
  RELOAD_FAILED: 500,
  MODEL_LOAD_FAILED: 500,
  EXPLAIN_UNSUPPORTED: 501,
  INTERNAL: 500,
};

/** One line per code, for the error table of docs/service-api.md. */
export const ERROR_DOCS: Readonly<Record<ErrorCode, string>> = {
  INVALID_JSON: "The JSON body could not be parsed.",
  INVALID_REQUEST:
    "The body or query does not match the route's schema (missing field, wrong type, unknown output, unknown query parameter), or a multipart upload holds too many fields or parts.",
  INVALID_SHAPE: "A row or tensor has the wrong number of values for the model input.",
  INVALID_VALUE: "A value is not a number or lies outside the model's pixel range.",
  EMPTY_BATCH: "The request holds no rows.",
  BATCH_TOO_LARGE: "More rows than `MAX_ROWS_PER_REQUEST`.",
  INVALID_IMAGE: "The image is corrupt, truncated or not an image.",
  IMAGE_TOO_LARGE:
    "The image header declares more than `IMAGE_MAX_PIXELS` pixels (`EXPLAIN_MAX_PIXELS` on `/predict-image/explain`); refused before decoding.",
  UNSUPPORTED_MEDIA_TYPE: "The content type (or the image format) is not accepted by this route.",
  PAYLOAD_TOO_LARGE: "The body exceeds `BODY_LIMIT_BYTES`.",
  UNAUTHENTICATED: "No API key or bearer token was presented.",
  INVALID_CREDENTIALS:
    "Unknown API key, or a token that is malformed, expired, wrongly signed or for another issuer/audience.",
  FORBIDDEN:
    "The caller is authenticated but lacks the role the request needs (e.g. `force-variant`, `admin`).",
  RATE_LIMITED: "The caller's rate limit is exhausted; retry after `Retry-After` seconds.",
  NOT_FOUND: "No such route.",
  METHOD_NOT_ALLOWED: "The route does not accept this method.",
  MODEL_NOT_FOUND:
    "The service does not serve a model of that name, or that model is not loaded (unloaded, or its load failed).",
  MODEL_VERSION_NOT_FOUND: "That version of the model is not loaded.",
  NOT_READY:
    "The model is not loaded yet, or the service is shutting down; retry after `Retry-After` seconds.",
  OVERLOADED: "The inference queue or the event loop is saturated; retry after `Retry-After` seconds.",
  RELOAD_FAILED:
    "The requested reload failed; whatever served before keeps serving (the message names it per variant).",
  MODEL_LOAD_FAILED:
    "`POST /v2/repository/models/{name}/load` could not load an unloaded model; it stays unavailable (the message says why).",
  EXPLAIN_UNSUPPORTED:
    "`/predict-image/explain` cannot explain this model: its graph uses an operator the saliency explainer does not support.",
  INTERNAL: "An unexpected server fault (logged with the request id).",
};
