/**
 * What a request costs against its caller's budget (RATE_LIMIT_COST_MAX): a count of requests
 * lets a caller spend the service's capacity with a few expensive ones, so each is charged for
 * the work it asks for, as far as it is known before the handler runs:
 *
 *   every limited request        1
 *   /predict, /v2/.../infer      + its rows (the inputs' first dimension), at most MAX_ROWS_PER_REQUEST
 *   /predict-image               + its megapixels (width x height from the image header, rounded
 *                                up); a multipart upload, whose image is read only by the handler,
 *                                is charged IMAGE_MAX_PIXELS, the most it can decode to
 *   /predict-image/explain       10 x that, with EXPLAIN_MAX_PIXELS as the most (a second decode, a
 *                                gradient pass and a heatmap drawn on the thread pool)
 *
 * A request the service then refuses without doing the work (503, 429) is refunded.
 */
import type { FastifyRequest } from "fastify";
import { imageSize } from "image-size";

export const EXPLAIN_FACTOR = 10;
/** The v2 infer route templates (service/server/routes/v2.ts). */
const V2_INFER_ROUTES = new Set(["/v2/models/:name/infer", "/v2/models/:name/versions/:version/infer"]);
const MEGAPIXEL = 1_000_000;

export interface CostSettings {
  /** IMAGE_MAX_PIXELS: the charge of an image whose size the hook cannot read. */
  readonly imageMaxPixels: number;
  /** EXPLAIN_MAX_PIXELS: explain refuses more, so its unreadable uploads are charged at most this. */
  readonly explainMaxPixels: number;
  /**
   * MAX_ROWS_PER_REQUEST: a request declaring more is refused (400, naming the limit) before any
   * work, so it is charged at most this: a malformed shape gets its 400, not a 429.
   */
  readonly maxRowsPerRequest: number;
}

/** Cost units of `request` (its route template and parsed body). */
export function requestCost(request: FastifyRequest, settings: CostSettings): number {
  const route = request.routeOptions.url ?? "";
  if (route === "/predict") return 1 + Math.min(predictRows(request.body), settings.maxRowsPerRequest);
  if (V2_INFER_ROUTES.has(route)) return 1 + Math.min(tensorRows(request.body), settings.maxRowsPerRequest);
  if (route === "/predict-image") return 1 + imageMegapixels(request, settings.imageMaxPixels);
  if (route === "/predict-image/explain") {
    const maxPixels = Math.min(settings.imageMaxPixels, settings.explainMaxPixels);
    return EXPLAIN_FACTOR * (1 + imageMegapixels(request, maxPixels));
  }
  return 1;
}

/** `inputs`: one row (flat) or an array of rows; `instances`: one object per row. */
export function predictRows(body: unknown): number {
  if (!isObject(body)) return 0;
  if (Array.isArray(body.instances)) return body.instances.length;
  if (!Array.isArray(body.inputs)) return 0;
  return Array.isArray(body.inputs[0]) ? body.inputs.length : 1;
}

/** The largest first dimension among the v2 request's input tensors (a scalar counts 1). */
export function tensorRows(body: unknown): number {
  if (!isObject(body) || !Array.isArray(body.inputs)) return 0;
  let rows = 0;
  for (const input of body.inputs) {
    if (!isObject(input) || !Array.isArray(input.shape)) continue;
    const first: unknown = input.shape.length === 0 ? 1 : input.shape[0];
    if (typeof first === "number" && Number.isSafeInteger(first) && first > rows) rows = first;
  }
  return rows;
}

/**
 * Megapixels of the uploaded image (at most `maxPixels`, what the route decodes at most), rounded
 * up; 0 for a body that is no readable image.
 */
function imageMegapixels(request: FastifyRequest, maxPixels: number): number {
  // The multipart decorator exists only on the image routes' scope.
  if (typeof request.isMultipart === "function" && request.isMultipart())
    return Math.ceil(maxPixels / MEGAPIXEL);
  if (!Buffer.isBuffer(request.body)) return 0;
  try {
    // The header's dimensions, read on this thread: a sharp metadata() call here cost a round
    // trip through libuv's pool on every upload (a second core at saturation, and the p99).
    // A copy: image-size reads past a view's end into its ArrayBuffer (a truncated header in a
    // pooled buffer would be sized from other bytes); the copy's buffer ends where the body does.
    const { width, height } = imageSize(Uint8Array.prototype.slice.call(request.body));
    return Math.ceil(Math.min(width * height, maxPixels) / MEGAPIXEL);
  } catch {
    return 0; // the route answers 400 for it
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
