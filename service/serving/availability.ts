/**
 * The two ways the serving core says "not now": the model is not loaded yet (or the service is
 * shutting down, or a repository model waits to retry its registry), or its inference queue is
 * full. Both are 503s with Retry-After, so clients and load balancers retry instead of failing the
 * call: {@link notReady} here, QueueFullError (503 OVERLOADED) from the batcher itself.
 */
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { PlinthModel } from "../inference/model.js";

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

/**
 * Scores normalised rows. Back-pressure needs no translation: a full queue rejects with
 * QueueFullError, already a 503 OVERLOADED with Retry-After (inference/batcher.ts).
 */
export function inferRows(model: PlinthModel, data: Float32Array, rows: number): Promise<Float32Array> {
  return model.infer(data, rows);
}
