/**
 * What a request costs against its caller's budget (RATE_LIMIT_COST_MAX): a count of requests
 * lets a caller spend the service's capacity with a few expensive ones, so each is charged for
 * the work it asks for, as far as it is known before the handler runs (`/predict` and
 * `/predict-image` stand for their per-model routes as well, `/models/:name/...`: the same work):
 *
 *   every limited request        1
 *   /predict, /v2/.../infer      + its rows (the inputs' first dimension), at most MAX_ROWS_PER_REQUEST
 *   /predict-image               + its megapixels (width x height from the image header, rounded
 *                                up); a multipart upload, whose image is read only by the handler,
 *                                or an image whose header gives no size, is charged
 *                                IMAGE_MAX_PIXELS, the most it can decode to
 *   /predict-image/explain       10 x that, with EXPLAIN_MAX_PIXELS as the most (a second decode, a
 *                                gradient pass and a heatmap drawn on the thread pool)
 *
 * A request the service then refuses without doing the work (503, 429) is refunded.
 */
import type { FastifyRequest } from "fastify";
import { imageSize } from "image-size";
import { PREDICT_IMAGE_ROUTES, PREDICT_ROUTES, V2_INFER_ROUTES } from "../contract/prediction-routes.js";
import { jpegSize } from "../image/jpeg-size.js";
import { readPngHeader } from "../image/png-fast.js";
import { sniffImage } from "../image/sniff.js";

export const EXPLAIN_FACTOR = 10;
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

/** Cost units of `request` (its route template, `route` when the caller has it, and parsed body). */
export function requestCost(
  request: FastifyRequest,
  settings: CostSettings,
  route: string = request.routeOptions.url ?? "",
): number {
  if (PREDICT_ROUTES.has(route)) return 1 + Math.min(predictRows(request.body), settings.maxRowsPerRequest);
  if (V2_INFER_ROUTES.has(route)) return 1 + Math.min(tensorRows(request.body), settings.maxRowsPerRequest);
  if (PREDICT_IMAGE_ROUTES.has(route)) return 1 + imageMegapixels(request, settings.imageMaxPixels);
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
 * How much of an upload the size reader sees: enough for a JPEG whose frame header follows EXIF and
 * ICC segments, and a bound on what a crafted body can make it walk on the event loop.
 */
export const SIZE_PREFIX_BYTES = 64 * 1024;

/**
 * Megapixels of the uploaded image (at most `maxPixels`, what the route decodes at most), rounded
 * up; 0 for a body the route refuses before decoding (not PNG, JPEG or WebP, or a PNG without its
 * header). Read on this thread from the header (sharp's metadata() cost a round trip through
 * libuv's pool on every upload); a JPEG or WebP whose size cannot be found in the first
 * SIZE_PREFIX_BYTES, though libvips might still decode it (a frame header further on, a WebP
 * header image-size refuses), is charged as the largest image the route decodes, never as none.
 */
function imageMegapixels(request: FastifyRequest, maxPixels: number): number {
  const most = megapixels(maxPixels, maxPixels);
  // The multipart decorator exists only on the image routes' scope.
  if (typeof request.isMultipart === "function" && request.isMultipart()) return most;
  const body = request.body;
  if (!Buffer.isBuffer(body)) return 0;
  const sniffed = sniffImage(body);
  if (sniffed.kind !== "supported") return 0;
  if (sniffed.format === "png") {
    try {
      // The route's own reader: a PNG it refuses here is refused there too.
      const header = readPngHeader(body, Number.MAX_SAFE_INTEGER);
      return megapixels(header.width * header.height, maxPixels);
    } catch {
      return 0;
    }
  }
  const prefix = body.subarray(0, SIZE_PREFIX_BYTES);
  const size = sniffed.format === "jpeg" ? jpegSize(prefix) : webpSize(prefix);
  return size === undefined ? most : megapixels(size.width * size.height, maxPixels);
}

/** A WebP's canvas size: image-size reads it at fixed offsets of the RIFF header. */
function webpSize(prefix: Uint8Array): { width: number; height: number } | undefined {
  try {
    // A copy: image-size reads past a view's end into its ArrayBuffer (a pooled buffer's other
    // bytes); the copy's buffer ends where the prefix does.
    const { width, height } = imageSize(Uint8Array.prototype.slice.call(prefix));
    return { width, height };
  } catch {
    return undefined;
  }
}

function megapixels(pixels: number, maxPixels: number): number {
  return Math.ceil(Math.min(pixels, maxPixels) / MEGAPIXEL);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
