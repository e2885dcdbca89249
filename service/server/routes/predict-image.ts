/** `POST /predict-image`: a multipart upload or a raw image/png|jpeg|webp body. */
import multipart from "@fastify/multipart";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../../errors/api-error.js";
import { ErrorCode } from "../../errors/codes.js";
import { ImageInputError } from "../../image/errors.js";
import { imageToPixels } from "../../image/to-pixels.js";
import { encodePixels } from "../../inference/preprocess.js";
import type { RouteDeps } from "../deps.js";
import { predict } from "../predict-common.js";
import { apiKeySecurity, errorResponses, predictResponseSchema } from "../schemas.js";

export const IMAGE_CONTENT_TYPES = ["image/png", "image/jpeg", "image/webp"];

const PROBLEM_CODES = {
  UNSUPPORTED_FORMAT: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  CORRUPT: ErrorCode.INVALID_IMAGE,
  TOO_LARGE: ErrorCode.IMAGE_TOO_LARGE,
} as const;

interface Query {
  invert?: "true" | "false";
}

/** Registered in its own encapsulated context so the image body parsers apply to this route only. */
export async function predictImageRoute(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { bodyLimitBytes, imageMaxPixels } = deps.config.limits;
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      IMAGE_CONTENT_TYPES,
      { parseAs: "buffer", bodyLimit: bodyLimitBytes },
      (_req, body, done) => done(null, body),
    );
    await scope.register(multipart, { limits: { fileSize: bodyLimitBytes, files: 1, fields: 4, parts: 5 } });

    scope.post<{ Querystring: Query }>(
      "/predict-image",
      {
        schema: {
          summary: "Classify an image",
          description:
            "Send the image as the raw body (`Content-Type: image/png`, `image/jpeg` or `image/webp`) or as the file " +
            "part of a `multipart/form-data` upload. It is decoded to the model's input size in grayscale. " +
            "`invert=true` negates it first (for dark garments on a light background).",
          security: apiKeySecurity,
          querystring: {
            type: "object",
            properties: { invert: { type: "string", enum: ["true", "false"] } },
          },
          response: { 200: predictResponseSchema, ...errorResponses(400, 401, 413, 415, 429, 503) },
        },
      },
      async (request, reply) => {
        let bytes: Buffer;
        if (request.isMultipart()) {
          const file = await request.file();
          if (file === undefined)
            throw new ApiError(ErrorCode.INVALID_REQUEST, "the multipart body holds no file part");
          bytes = await file.toBuffer();
        } else if (Buffer.isBuffer(request.body)) {
          bytes = request.body;
        } else {
          throw new ApiError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            `send ${IMAGE_CONTENT_TYPES.join(", ")} or multipart/form-data; JSON rows go to /predict`,
          );
        }
        const routed = deps.rollout.route(request);
        let pixels: Uint8Array;
        try {
          pixels = await imageToPixels(bytes, routed.model.metadata.input.image, imageMaxPixels);
        } catch (err) {
          if (err instanceof ImageInputError) throw new ApiError(PROBLEM_CODES[err.problem], err.message);
          throw err;
        }
        const data = encodePixels(pixels, routed.model, request.query.invert === "true");
        return predict(request, reply, deps.rollout, routed, data, 1, deps.predictions);
      },
    );
  });
}
