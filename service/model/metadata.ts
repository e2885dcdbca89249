/**
 * The model metadata contract: the one source of truth for what a plinth ONNX model says about itself.
 *
 * The trainer writes this object as JSON into the ONNX file's `metadata_props` under the key
 * {@link METADATA_KEY}; the service reads it back from the loaded session, so a model file carries
 * everything needed to preprocess inputs and to label outputs, with no side files.
 */
import { z } from "zod";
import { formatZodIssues } from "../errors/zod-issues.js";

/** The `metadata_props` key that holds the JSON-encoded {@link ModelMetadata}. */
export const METADATA_KEY = "plinth.metadata";

export const modelMetadataSchema = z.object({
  /** Format version of this contract; bump on an incompatible change. */
  schemaVersion: z.literal(1),
  /** Registered model name, e.g. `fashion-classifier`. */
  name: z.string().min(1),
  /** Human-readable architecture, e.g. `conv(1→16,3x3)-pool-conv(16→32,3x3)-pool-fc(1568→128)-fc(128→10)`. */
  architecture: z.string().min(1),
  input: z.object({
    /** ONNX graph input name. */
    name: z.string().min(1),
    /** Per-sample tensor shape, without the batch dimension, e.g. `[1, 28, 28]` (CHW). */
    shape: z.array(z.number().int().positive()).min(1),
    /** Image geometry the service decodes uploads to before flattening (row-major, one channel). */
    image: z.object({
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      channels: z.literal(1),
      /** Fashion-MNIST is light garment on black background; uploads with `invert: true` are negated. */
      background: z.enum(["black", "white"]),
    }),
    /** Raw pixel values accepted by the API: `[min, max]`, e.g. `[0, 255]`. */
    pixelRange: z.tuple([z.number(), z.number()]),
    /**
     * The preprocessing the service applies before `session.run`: `x' = (x * scale - mean) / std`,
     * element-wise on raw pixels.
     */
    normalization: z.object({ scale: z.number().positive(), mean: z.number(), std: z.number().positive() }),
  }),
  output: z.object({
    /** ONNX graph output name. */
    name: z.string().min(1),
    /** `probabilities`: the graph ends in Softmax; `logits`: the service applies softmax. */
    kind: z.enum(["probabilities", "logits"]),
  }),
  /** Class names, index = class id. */
  labels: z.array(z.string().min(1)).min(2),
  /** Provenance. */
  training: z.object({
    datasetSha256: z.string().regex(/^[0-9a-f]{64}$/),
    seed: z.number().int(),
    trainedAt: z.string().datetime(),
    /** Test-set metrics at export time. */
    metrics: z.object({ accuracy: z.number().min(0).max(1), macroF1: z.number().min(0).max(1) }),
  }),
});

export type ModelMetadata = z.infer<typeof modelMetadataSchema>;

/** Per-sample element count implied by `input.shape`. */
export function inputSize(meta: ModelMetadata): number {
  return meta.input.shape.reduce((a, b) => a * b, 1);
}

/**
 * Parses the metadata JSON found in a model file. Throws an error naming every bad field, so a
 * malformed model is refused at load time with a message a person can act on.
 */
export function parseModelMetadata(json: string | undefined, source: string): ModelMetadata {
  if (json === undefined) throw new Error(`${source}: ONNX metadata_props has no "${METADATA_KEY}" entry`);
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new Error(`${source}: "${METADATA_KEY}" is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = modelMetadataSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${source}: invalid model metadata: ${formatZodIssues(parsed.error)}`);
  }
  return parsed.data;
}
