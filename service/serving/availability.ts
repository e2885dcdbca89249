/**
 * The two ways the serving core says "not now": the model is not loaded yet (or the service is
 * shutting down), or its inference queue is full. Both are 503s with Retry-After, so clients and
 * load balancers retry instead of failing the call.
 */
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { QueueFullError } from "../inference/batcher.js";
import type { PlinthModel } from "../inference/model.js";

/** The queue drains in milliseconds, so clients may retry at once. */
const RETRY_AFTER = { "retry-after": "1" };

export function notReady(): ApiError {
  return new ApiError(
    ErrorCode.NOT_READY,
    "the model is not loaded or the service is shutting down",
    RETRY_AFTER,
  );
}

/** Scores normalised rows; back-pressure (a full queue) becomes 503 OVERLOADED. */
export async function inferRows(model: PlinthModel, data: Float32Array, rows: number): Promise<Float32Array> {
  try {
    return await model.infer(data, rows);
  } catch (err) {
    if (err instanceof QueueFullError) throw new ApiError(ErrorCode.OVERLOADED, err.message, RETRY_AFTER);
    throw err;
  }
}
