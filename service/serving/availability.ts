/**
 * The two ways the serving core says "not now": the model is not loaded yet (or the service is
 * shutting down, or a repository model waits to retry its registry), or its inference queue is
 * full. Both are 503s with Retry-After, so clients and load balancers retry instead of failing the
 * call: {@link notReady} here, QueueFullError (503 OVERLOADED) from the batcher itself.
 */
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";

/**
 * 503 NOT_READY. `message` says why when it is known (a model waiting for its registry), and
 * Retry-After when the next attempt is (whole seconds, at least 1).
 */
export function notReady(
  message = "the model is not loaded or the service is shutting down",
  retryAfterSeconds = 1,
): ApiError {
  const retryAfter = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  return new ApiError(ErrorCode.NOT_READY, message, { "retry-after": retryAfter });
}
