/**
 * `POST /predict-image/explain`: the prediction for an uploaded image and a gradient x input
 * saliency heatmap drawn over it (service/explain). JSON by default (the heatmap as base64 PNG and
 * the saliency values at model resolution); the PNG itself with `Accept: image/png`.
 *
 * An explain decodes the upload twice and draws a heatmap, on libuv's thread pool, the one
 * `/predict-image` decodes on. So its work is bounded (issue #24): uploads over
 * EXPLAIN_MAX_PIXELS are refused before decoding, the heatmap's side is capped
 * (EXPLAIN_HEATMAP_MAX_SIDE), and at most EXPLAIN_CONCURRENCY explains run at once with
 * EXPLAIN_QUEUE_MAX waiting; more get 503 OVERLOADED at once.
 */
import type { FastifyRequest } from "fastify";
import { ENV } from "../../contract/service-env.js";
import { ApiError } from "../../errors/api-error.js";
import { ErrorCode } from "../../errors/codes.js";
import { AbandonedTaskError, ConcurrencyLimit } from "../../explain/concurrency-limit.js";
import { routingIdentity } from "../../rollout/identity-share.js";
import type { Explainers } from "../../explain/explainers.js";
import { renderHeatmap, type HeatmapBounds } from "../../explain/heatmap.js";
import { UnsupportedGraphError } from "../../explain/network-from-onnx.js";
import { encodePixels } from "../../inference/preprocess.js";
import type { PixelTarget } from "../../image/to-pixels.js";
import type { RouteDeps } from "../deps.js";
import { httpAdapter } from "../named-plugin.js";
import { errorResponses } from "../schemas.js";
import { acceptImageUploads, imageUploadOptions, uploadedImage, uploadPixels } from "./predict-image.js";

interface Query {
  invert?: "true" | "false";
}

/** Quality factor of `type` in an Accept header (0 when absent; `*` wildcards count). */
export function acceptQuality(header: string | undefined, type: string): number {
  if (header === undefined) return 0;
  let best = 0;
  for (const part of header.split(",")) {
    const [range = "", ...params] = part.trim().toLowerCase().split(";");
    const [main, sub] = range.trim().split("/");
    if (!(range.trim() === type || (sub === "*" && type.startsWith(`${main}/`)) || range.trim() === "*/*"))
      continue;
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find((m) => m !== null);
    best = Math.max(best, q === undefined ? 1 : Number(q![1]));
  }
  return best;
}

const wantsPng = (request: FastifyRequest) =>
  acceptQuality(request.headers.accept, "image/png") >
  acceptQuality(request.headers.accept, "application/json");

const explainResponseSchema = {
  type: "object",
  properties: {
    prediction_id: { type: "string" },
    model: {
      type: "object",
      properties: { name: { type: "string" }, version: { type: "string" }, variant: { type: "string" } },
    },
    prediction: {
      type: "object",
      properties: {
        label: { type: "string" },
        class_id: { type: "integer" },
        probabilities: { type: "array", items: { type: "number" } },
      },
    },
    saliency: {
      type: "object",
      description: "gradient x input per model pixel, row-major, scaled so the largest is 1",
      properties: {
        width: { type: "integer" },
        height: { type: "integer" },
        values: { type: "array", items: { type: "number" } },
      },
    },
    heatmap: {
      type: "object",
      properties: {
        content_type: { type: "string" },
        width: { type: "integer" },
        height: { type: "integer" },
        base64: { type: "string" },
      },
    },
  },
} as const;

/** What the explain route needs: the route dependencies and the explainers of the served models. */
export interface ExplainDeps extends RouteDeps {
  readonly explainers: Explainers;
}

/** The model's pixels of an upload, refused over the smaller pixel limit, which the refusal names. */
async function explainPixels(
  bytes: Buffer,
  target: PixelTarget,
  imageMaxPixels: number,
  explainMaxPixels: number,
) {
  const maxPixels = Math.min(imageMaxPixels, explainMaxPixels);
  try {
    return await uploadPixels(bytes, target, maxPixels);
  } catch (err) {
    if (!(err instanceof ApiError && err.code === ErrorCode.IMAGE_TOO_LARGE)) throw err;
    const setting = explainMaxPixels <= imageMaxPixels ? ENV.EXPLAIN_MAX_PIXELS : ENV.IMAGE_MAX_PIXELS;
    throw new ApiError(ErrorCode.IMAGE_TOO_LARGE, `${err.message} (${setting}, /predict-image/explain)`);
  }
}

/** Encapsulated, so the image body parsers apply to this route only. */
/** Explains one caller may have running or waiting at once: the slots are shared by every caller. */
const EXPLAIN_PER_CALLER = 1;

export const explainPlugin = httpAdapter<ExplainDeps>("plinth-explain", async (scope, deps) => {
  const { bodyLimitBytes, imageMaxPixels } = deps.config.limits;
  const bounds = deps.config.explain;
  const { explainers } = deps;
  const heatmapBounds: HeatmapBounds = {
    maxSide: bounds.heatmapMaxSide,
    maxInputPixels: Math.min(imageMaxPixels, bounds.maxPixels),
  };
  // One per process (this scope is built once): explains beyond it are refused, not queued without end.
  const slots = new ConcurrencyLimit(
    bounds.concurrency,
    bounds.queueMax,
    ({ running, waiting, owner }) =>
      owner !== undefined
        ? new ApiError(
            ErrorCode.RATE_LIMITED,
            `${owner.id} already has ${owner.held} explain running or waiting, the most one caller may at once; retry when it is done`,
            { "retry-after": "1" },
          )
        : new ApiError(
            ErrorCode.OVERLOADED,
            `explain is busy: ${running} running and ${waiting} waiting, the most this process takes ` +
              `(${ENV.EXPLAIN_CONCURRENCY}=${bounds.concurrency}, ${ENV.EXPLAIN_QUEUE_MAX}=${bounds.queueMax})`,
            { "retry-after": "1" },
          ),
    EXPLAIN_PER_CALLER,
  );
  // Before the body is read (and after the root's auth hook): a refusal costs next to nothing.
  scope.addHook("onRequest", async (request) => slots.refuseWhenFull(routingIdentity(request)));
  await acceptImageUploads(scope, bodyLimitBytes);
  scope.post<{ Querystring: Query }>(
    "/predict-image/explain",
    imageUploadOptions({
      summary: "Classify an image and explain the prediction with a saliency heatmap",
      description:
        "The same upload as `/predict-image`. The answer holds the prediction, the gradient x input saliency of " +
        "the predicted class at the model's resolution, and a PNG heatmap of it over the image at the image's " +
        "size, scaled down to `EXPLAIN_HEATMAP_MAX_SIDE` (base64). Send `Accept: image/png` to get the PNG itself " +
        "(prediction in `x-plinth-*` headers). Images over `EXPLAIN_MAX_PIXELS` get 400 `IMAGE_TOO_LARGE`; " +
        "past `EXPLAIN_CONCURRENCY` running and `EXPLAIN_QUEUE_MAX` waiting explains, 503 `OVERLOADED` + Retry-After.",
      response: {
        // JSON by default, the heatmap itself for `Accept: image/png`.
        200: {
          content: {
            "application/json": { schema: explainResponseSchema },
            "image/png": { schema: { type: "string", format: "binary" } },
          },
        },
        ...errorResponses(400, 401, 413, 415, 429, 501, 503),
      },
    }),
    async (request, reply) => {
      const bytes = await uploadedImage(request);
      const { variant, model } = deps.rollout.routeExplainable(request);
      request.servedBy = { variant, version: model.version };
      const image = model.config.input.image!;
      const invert = request.query.invert === "true";
      const task = async () => {
        const pixels = await explainPixels(bytes, image, imageMaxPixels, bounds.maxPixels);
        let explainer;
        try {
          explainer = await explainers.for(model);
        } catch (err) {
          if (err instanceof UnsupportedGraphError)
            throw new ApiError(
              ErrorCode.EXPLAIN_UNSUPPORTED,
              `model ${model.name} ${model.version}: ${err.message}`,
            );
          throw err;
        }
        const { classId, probabilities, saliency } = explainer.explain(encodePixels(pixels, model, invert));
        const heatmap = await renderHeatmap(
          bytes,
          saliency,
          image.width,
          image.height,
          invert,
          heatmapBounds,
        );
        const label = model.labels[classId]!;
        reply.header("x-prediction-id", request.id);
        if (wantsPng(request)) {
          return reply
            .header("x-plinth-label", encodeURIComponent(label))
            .header("x-plinth-class-id", String(classId))
            .header("x-plinth-confidence", probabilities[classId]!.toFixed(6))
            .type("image/png")
            .send(heatmap.png);
        }
        return {
          prediction_id: request.id,
          model: { name: model.name, version: model.version, variant },
          prediction: { label, class_id: classId, probabilities: Array.from(probabilities) },
          saliency: {
            width: image.width,
            height: image.height,
            values: Array.from(saliency, (v) => Number(v.toFixed(4))),
          },
          heatmap: {
            content_type: "image/png",
            width: heatmap.width,
            height: heatmap.height,
            base64: heatmap.png.toString("base64"),
          },
        };
      };
      // One explain per caller at a time, and none run for a client that hung up while waiting.
      return slots
        .run(task, {
          owner: routingIdentity(request),
          abandoned: () => request.raw.socket?.destroyed === true,
        })
        .catch((err: unknown) => {
          // Nobody reads this answer; it keeps the log at a refusal's level, not an internal error's.
          if (err instanceof AbandonedTaskError) throw new ApiError(ErrorCode.OVERLOADED, err.message);
          throw err;
        });
    },
  );
});
