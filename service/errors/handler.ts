/**
 * Routes every failure, including fastify's and its plugins' own, into the one error envelope
 * `{ "error": { "code", "message", "requestId" } }` with a stable code.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, type ErrorEnvelope } from "./api-error.js";
import { ErrorCode } from "./codes.js";

/** fastify and plugin error codes that are the caller's fault, with the API code they map to. */
const FRAMEWORK_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ErrorCode.INVALID_JSON,
  FST_ERR_CTP_EMPTY_JSON_BODY: ErrorCode.INVALID_JSON,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_BODY_TOO_LARGE: ErrorCode.PAYLOAD_TOO_LARGE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ErrorCode.INVALID_REQUEST,
  FST_ERR_VALIDATION: ErrorCode.INVALID_REQUEST,
  // @fastify/multipart: the file over BODY_LIMIT_BYTES is too large; more parts than an upload
  // takes is a malformed upload (the image routes say which: service/server/routes/predict-image.ts)
  FST_REQ_FILE_TOO_LARGE: ErrorCode.PAYLOAD_TOO_LARGE,
  FST_PARTS_LIMIT: ErrorCode.INVALID_REQUEST,
  FST_FILES_LIMIT: ErrorCode.INVALID_REQUEST,
  FST_FIELDS_LIMIT: ErrorCode.INVALID_REQUEST,
  FST_INVALID_MULTIPART_CONTENT_TYPE: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  FST_PROTO_VIOLATION: ErrorCode.INVALID_REQUEST,
  FST_MP_PREMATURE_CLOSE: ErrorCode.INVALID_REQUEST,
  // the router (fastify's frameworkErrors): a path that cannot be decoded, an oversized parameter
  FST_ERR_BAD_URL: ErrorCode.INVALID_REQUEST,
  FST_ERR_MAX_PARAM_LENGTH: ErrorCode.INVALID_REQUEST,
};

/**
 * Messages of our own for framework errors whose message echoes the whole request path, which may
 * be as long as the request line allows.
 */
const FRAMEWORK_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_BAD_URL: "the request path is not a valid URL (malformed percent-encoding)",
  FST_ERR_MAX_PARAM_LENGTH: "a path parameter is longer than the service accepts",
};

/** Status-based fallback for client errors without a known code. */
function codeForStatus(status: number): ErrorCode {
  if (status === 404) return ErrorCode.NOT_FOUND;
  if (status === 405) return ErrorCode.METHOD_NOT_ALLOWED;
  if (status === 413) return ErrorCode.PAYLOAD_TOO_LARGE;
  if (status === 415) return ErrorCode.UNSUPPORTED_MEDIA_TYPE;
  if (status === 429) return ErrorCode.RATE_LIMITED;
  return ErrorCode.INVALID_REQUEST;
}

/** Converts any thrown value into an ApiError; a fault of ours becomes INTERNAL (and is logged). */
export function toApiError(err: unknown, request: FastifyRequest): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as Partial<FastifyError> & Error;
  const frameworkCode = e.code === undefined ? undefined : FRAMEWORK_CODES[e.code];
  if (frameworkCode !== undefined)
    return new ApiError(frameworkCode, FRAMEWORK_MESSAGES[e.code!] ?? e.message);
  const status = e.statusCode ?? 500;
  if (status >= 400 && status < 500) return new ApiError(codeForStatus(status), e.message);
  request.log.error({ err }, "unhandled error");
  return new ApiError(ErrorCode.INTERNAL, "internal error; quote the requestId when reporting it");
}

export function sendError(reply: FastifyReply, error: ApiError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  const body: ErrorEnvelope = {
    error: { code: error.code, message: error.message, requestId: reply.request.id },
  };
  return reply.code(error.statusCode).type("application/json; charset=utf-8").send(body);
}

/**
 * fastify's `frameworkErrors` option: the router answers malformed paths and oversized path
 * parameters before any route or error handler runs, so without this they leave the envelope.
 */
export function handleFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendError(reply, toApiError(err, request));
}

/** The methods a path is checked for, to tell 405 from 404. */
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/**
 * The answer to a request no route matched: 405 with the path's methods in `Allow`, as HTTP asks,
 * when the path is served for other methods; else 404.
 */
function unrouted(request: FastifyRequest, reply: FastifyReply): ApiError {
  const path = request.url.split("?")[0]!;
  const allowed = METHODS.filter((method) => request.server.findRoute({ method, url: path }) !== null);
  if (allowed.length === 0) return new ApiError(ErrorCode.NOT_FOUND, `no route ${request.method} ${path}`);
  reply.header("allow", allowed.join(", "));
  return new ApiError(
    ErrorCode.METHOD_NOT_ALLOWED,
    `${request.method} ${path} is not served; allowed: ${allowed.join(", ")}`,
  );
}

/** Installs the error and not-found handlers on the root instance. */
export function installErrorHandlers(app: FastifyInstance): void {
  // An unrouted request whose body fastify refused first (e.g. QUERY without a content type) is
  // still answered as unrouted: its body's problems do not matter.
  app.setErrorHandler((err, request, reply) =>
    sendError(reply, request.is404 ? unrouted(request, reply) : toApiError(err, request)),
  );
  app.setNotFoundHandler((request, reply) => sendError(reply, unrouted(request, reply)));
}
