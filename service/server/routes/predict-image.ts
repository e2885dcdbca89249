/** `POST /predict-image`: a multipart upload or a raw image/png|jpeg|webp body. */
import multipart from "@fastify/multipart";
import type { SwaggerTransform } from "@fastify/swagger";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../../errors/api-error.js";
import { ErrorCode } from "../../errors/codes.js";
import { ImageInputError } from "../../image/errors.js";
import { imageToPixels, type PixelTarget } from "../../image/to-pixels.js";
import { encodePixels } from "../../inference/preprocess.js";
import { encodeImage, type ConfiguredIo } from "../../serving/configured-io.js";
import type { RouteDeps } from "../deps.js";
import { httpAdapter } from "../named-plugin.js";
import { predict } from "../predict-common.js";
import { predictConfigured } from "../predict-configured.js";
import { errorResponses, predictResponseSchema } from "../schemas.js";

export const IMAGE_CONTENT_TYPES = ["image/png", "image/jpeg", "image/webp"];

const PROBLEM_CODES = {
  UNSUPPORTED_FORMAT: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  CORRUPT: ErrorCode.INVALID_IMAGE,
  TOO_LARGE: ErrorCode.IMAGE_TOO_LARGE,
} as const;

interface Query {
  invert?: "true" | "false";
}

/**
 * The upload as the OpenAPI document shows it: a raw image body or a multipart file part. For the
 * document only (a route's `config.swaggerTransform`): the route reads the body through its own
 * parsers, and a JSON-schema body would make fastify validate the raw Buffer as a string.
 */
export const documentImageUpload: SwaggerTransform = ({ schema, url }) => {
  const binary = { type: "string", format: "binary" };
  const raw = Object.fromEntries(IMAGE_CONTENT_TYPES.map((type) => [type, { schema: binary }]));
  const multipartForm = { type: "object", required: ["image"], properties: { image: binary } };
  return {
    schema: { ...schema, body: { content: { ...raw, "multipart/form-data": { schema: multipartForm } } } },
    url,
  };
};

/** Installs the raw-image and multipart body parsers on an encapsulated scope (image routes only). */
export async function acceptImageUploads(scope: FastifyInstance, bodyLimitBytes: number): Promise<void> {
  scope.addContentTypeParser(
    IMAGE_CONTENT_TYPES,
    { parseAs: "buffer", bodyLimit: bodyLimitBytes },
    (_req, body, done) => done(null, body),
  );
  await scope.register(multipart, { limits: { fileSize: bodyLimitBytes, files: 1, fields: 4, parts: 5 } });
}

/** The uploaded image's bytes: the multipart file part or the raw body. */
export async function uploadedImage(request: FastifyRequest): Promise<Buffer> {
  if (request.isMultipart()) {
    try {
      const file = await request.file();
      if (file === undefined)
        throw new ApiError(ErrorCode.INVALID_REQUEST, "the multipart body holds no file part");
      return await file.toBuffer();
    } catch (err) {
      throw malformedMultipart(err);
    }
  }
  if (Buffer.isBuffer(request.body)) return request.body;
  throw new ApiError(
    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    `send ${IMAGE_CONTENT_TYPES.join(", ")} or multipart/form-data; JSON rows go to /predict`,
  );
}

/**
 * busboy reports a malformed multipart body (no boundary in the content type, a broken part
 * header) as a plain Error without a code; @fastify/multipart's own errors carry an `FST_` code
 * the error handler maps. The former is the caller's fault, not ours.
 */
function malformedMultipart(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof ApiError || "code" in err) return err;
  return new ApiError(ErrorCode.INVALID_REQUEST, `malformed multipart body: ${err.message.slice(0, 120)}`);
}

/** Decodes an upload to the model's pixels; image problems become 400/415 API errors. */
export async function uploadPixels(
  bytes: Buffer,
  target: PixelTarget,
  maxPixels: number,
): Promise<Uint8Array> {
  try {
    return await imageToPixels(bytes, target, maxPixels);
  } catch (err) {
    if (err instanceof ImageInputError) throw new ApiError(PROBLEM_CODES[err.problem], err.message);
    throw err;
  }
}

/** What both image routes share: the upload's documentation and the `invert` query. */
export function imageUploadOptions<Response extends object>(schema: {
  summary: string;
  description: string;
  response: Response;
}) {
  return {
    config: { swaggerTransform: documentImageUpload },
    schema: {
      ...schema,
      querystring: { type: "object", properties: { invert: { type: "string", enum: ["true", "false"] } } },
    },
  } as const;
}

/** Encapsulated, so the image body parsers apply to this route only. */
export const predictImagePlugin = httpAdapter<RouteDeps>("plinth-predict-image", async (scope, deps) => {
  const { bodyLimitBytes, imageMaxPixels } = deps.config.limits;
  await acceptImageUploads(scope, bodyLimitBytes);

  scope.post<{ Querystring: Query }>(
    "/predict-image",
    imageUploadOptions({
      summary: "Classify an image",
      description:
        "Send the image as the raw body (`Content-Type: image/png`, `image/jpeg` or `image/webp`) or as the file " +
        "part of a `multipart/form-data` upload. It is decoded to the model's input geometry (size, 1 or 3 channels, resize mode: its model configuration). " +
        "`invert=true` negates it first (for dark garments on a light background).",
      response: { 200: predictResponseSchema, ...errorResponses(400, 401, 413, 415, 429, 503) },
    }),
    async (request, reply) => {
      const bytes = await uploadedImage(request);
      const invert = request.query.invert === "true";
      const routed = deps.rollout.route(request);
      if (routed.model.kind === "graph") {
        const graph = { variant: routed.variant, model: routed.model };
        // Decoded once per geometry: a model answering in place of the routed one (stable after
        // a candidate's fallback) may want another size.
        const decoded = new Map<string, Promise<Uint8Array>>();
        const encode = async (io: ConfiguredIo, name: string) => {
          const target = io.image?.preprocessing;
          if (target === undefined) return encodeImage(io, name, new Uint8Array(0), invert);
          const key = JSON.stringify(target);
          let pixels = decoded.get(key);
          if (pixels === undefined) decoded.set(key, (pixels = uploadPixels(bytes, target, imageMaxPixels)));
          return encodeImage(io, name, await pixels, invert);
        };
        const { predictions } = deps;
        return predictConfigured(request, reply, deps.rollout, graph, "/predict-image", encode, predictions);
      }
      const model = routed.model;
      const pixels = await uploadPixels(bytes, model.config.input.image!, imageMaxPixels);
      const data = encodePixels(pixels, model, invert);
      return predict(
        request,
        reply,
        deps.rollout,
        { variant: routed.variant, model },
        data,
        1,
        deps.predictions,
      );
    },
  );
});
