/**
 * `POST /predict-image` (the default model) and `POST /models/:name/predict-image` (the model the
 * path names): a multipart upload or a raw image/png|jpeg|webp body.
 */
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
import { postPrediction } from "../prediction-route.js";
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

/**
 * The parts of a multipart upload the service reads: up to {@link UPLOAD_PARTS}.fields fields, then
 * the first file part, which is the image; what follows the file part is not read.
 */
const UPLOAD_PARTS = { files: 1, fields: 4, parts: 5 } as const;

/** Installs the raw-image and multipart body parsers on an encapsulated scope (image routes only). */
export async function acceptImageUploads(scope: FastifyInstance, bodyLimitBytes: number): Promise<void> {
  scope.addContentTypeParser(
    IMAGE_CONTENT_TYPES,
    { parseAs: "buffer", bodyLimit: bodyLimitBytes },
    (_req, body, done) => done(null, body),
  );
  // The multipart parser only marks the request: the body is read by the handler (uploadedImage),
  // after the route's query (and auth, and limits) have passed.
  await scope.register(multipart, { limits: { fileSize: bodyLimitBytes, ...UPLOAD_PARTS } });
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
      throw multipartProblem(err);
    }
  }
  if (Buffer.isBuffer(request.body)) return request.body;
  throw new ApiError(
    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    `send ${IMAGE_CONTENT_TYPES.join(", ")} or multipart/form-data; JSON rows go to /predict`,
  );
}

/**
 * @fastify/multipart's part-count limits, reached before the file part: the body does not hold
 * the image where the service reads it, which is a malformed upload (400), not an oversized one
 * (413 PAYLOAD_TOO_LARGE means its bytes exceed BODY_LIMIT_BYTES, FST_REQ_FILE_TOO_LARGE).
 */
const PART_LIMIT_MESSAGES: Readonly<Record<string, string>> = {
  FST_FIELDS_LIMIT:
    `the multipart body holds more than ${UPLOAD_PARTS.fields} fields before its file part: send the ` +
    `image as the file part \`image\`, after at most ${UPLOAD_PARTS.fields} other fields`,
  FST_PARTS_LIMIT:
    `the multipart body holds more than ${UPLOAD_PARTS.parts} parts: send the image as the file part ` +
    `\`image\`, after at most ${UPLOAD_PARTS.fields} other fields`,
  FST_FILES_LIMIT: "the multipart body holds more than one file part: send the image as its only file part",
};

/**
 * What a failed multipart read is to the caller. busboy reports a malformed body (no boundary in
 * the content type, a broken part header) as a plain Error without a code; @fastify/multipart's
 * own errors carry an `FST_` code the error handler maps, but for its part-count limits, said here
 * in the terms of the upload. All are the caller's fault, not ours.
 */
function multipartProblem(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof ApiError) return err;
  if ("code" in err) {
    const message = typeof err.code === "string" ? PART_LIMIT_MESSAGES[err.code] : undefined;
    return message === undefined ? err : new ApiError(ErrorCode.INVALID_REQUEST, message);
  }
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

/**
 * What the image routes share (`/predict-image`, `/models/:name/predict-image`,
 * `/predict-image/explain`): the upload's documentation and the `invert` query, the only query
 * parameter they take. An unknown one is refused with 400 naming it (service/errors/validation.ts)
 * when fastify validates the query, before the handler reads the body.
 */
export function imageUploadOptions<Response extends object>(schema: {
  summary: string;
  description: string;
  response: Response;
}) {
  return {
    config: { swaggerTransform: documentImageUpload },
    schema: {
      ...schema,
      querystring: {
        type: "object",
        properties: { invert: { type: "string", enum: ["true", "false"] } },
        additionalProperties: false,
      },
    },
  } as const;
}

/** Encapsulated, so the image body parsers apply to this route only. */
export const predictImagePlugin = httpAdapter<RouteDeps>("plinth-predict-image", async (scope, deps) => {
  const { bodyLimitBytes, imageMaxPixels } = deps.config.limits;
  await acceptImageUploads(scope, bodyLimitBytes);

  const options = imageUploadOptions({
    summary: "Classify an image",
    description:
      "Send the image as the raw body (`Content-Type: image/png`, `image/jpeg` or `image/webp`) or as the file " +
      `part of a \`multipart/form-data\` upload (after at most ${UPLOAD_PARTS.fields} other fields). It is ` +
      "decoded to the model's input geometry (size, 1 or 3 channels, resize mode: its model configuration). " +
      "`invert=true` negates it first (for dark garments on a light background); any other query " +
      "parameter is refused (400).",
    response: { 200: predictResponseSchema, ...errorResponses(400, 401, 413, 415, 429, 503) },
  });
  const { predictions } = deps;
  postPrediction<{ Querystring: Query }>(
    scope,
    deps,
    "/predict-image",
    options,
    async (request, reply, engine) => {
      const bytes = await uploadedImage(request);
      const invert = request.query.invert === "true";
      const routed = engine.route(request);
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
        return predictConfigured(request, reply, engine, graph, "/predict-image", encode, predictions);
      }
      const model = routed.model;
      const pixels = await uploadPixels(bytes, model.config.input.image!, imageMaxPixels);
      const data = encodePixels(pixels, model, invert);
      return predict(request, reply, engine, { variant: routed.variant, model }, data, 1, predictions);
    },
  );
});
