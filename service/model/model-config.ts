/**
 * The model configuration: one JSON file per model version, `model-config.json` beside
 * `model.onnx` (the role of Triton's `config.pbtxt`). It says what the convenience endpoints need
 * and the ONNX graph cannot: the task, the class labels, how an uploaded image becomes the input
 * tensor, and the names of tabular features. The graph's own contract (tensor names, types,
 * shapes) is never repeated here; `checkModelConfig` (serving/configured-io.ts) holds the two
 * together at load time.
 *
 * Three sources produce the same object: this file, an MLflow ONNX-flavor model's `MLmodel`
 * (registry/mlflow-model-file.ts) and the plinth trainer's embedded `plinth.metadata`
 * ({@link modelConfigFromMetadata}), which the trainer also writes out as this file.
 */
import { z } from "zod";
import { formatZodIssues } from "../errors/zod-issues.js";
import type { ModelMetadata } from "./metadata.js";

/** The file name of a version's configuration, beside model.onnx. */
export const MODEL_CONFIG_FILE = "model-config.json";

export const TASKS = ["classification", "regression", "raw"] as const;
export type ModelTask = (typeof TASKS)[number];

const positiveInt = z.number().int().positive();

const imageSchema = z
  .object({
    /** The input's width and height in pixels; uploads are resized to them. */
    width: positiveInt.max(8192),
    height: positiveInt.max(8192),
    /** 1: greyscale; 3: colour (alpha dropped, flattened onto the background). */
    channels: z.union([z.literal(1), z.literal(3)]),
    /** Channel order of a 3-channel input. @default "RGB" */
    colorOrder: z.enum(["RGB", "BGR"]).default("RGB"),
    /** Tensor layout of the input, batch first. @default "NCHW" */
    layout: z.enum(["NCHW", "NHWC"]).default("NCHW"),
    /**
     * How an upload of another aspect ratio is resized: `fill` stretches, `contain` letterboxes
     * onto the background, `cover` crops the centre (sharp's fit modes). @default "fill"
     */
    resize: z.enum(["fill", "contain", "cover"]).default("fill"),
    /** What the model was trained on; `/predict-image?invert=true` negates uploads of the other kind. @default "black" */
    background: z.enum(["black", "white"]).default("black"),
    /** `x' = (x * scale - mean[c]) / std[c]` on 0-255 pixel values. @default 1/255 */
    scale: z
      .number()
      .positive()
      .default(1 / 255),
    /** One value for every channel, or one per channel (in the model's colour order). @default [0] */
    mean: z.array(z.number()).min(1).max(3).default([0]),
    /** As `mean`; every value positive. @default [1] */
    std: z.array(z.number().positive()).min(1).max(3).default([1]),
  })
  .strict()
  .superRefine((image, ctx) => {
    for (const key of ["mean", "std"] as const) {
      const length = image[key].length;
      if (length !== 1 && length !== image.channels) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `has ${length} values; give 1 (every channel) or ${image.channels} (one per channel)`,
        });
      }
    }
  });

const inputSchema = z
  .object({
    /** The graph input the endpoints fill; default: the graph's only input. */
    name: z.string().min(1).optional(),
    /** `/predict-image` decodes uploads into this input. */
    image: imageSchema.optional(),
    /**
     * Tabular feature names in column order: `/predict` then also takes
     * `{"instances": [{"<feature>": value, ...}]}`. The features fill one `[N, features]` input,
     * or one `[N, 1]` input per feature when the graph takes each column as its own input.
     */
    features: z.array(z.string().min(1)).min(1).optional(),
    /** The values `/predict`'s raw rows may hold, `[min, max]`. Default: any finite number. */
    valueRange: z
      .tuple([z.number(), z.number()])
      .refine(([min, max]) => min <= max, { message: "[min, max] with min <= max" })
      .optional(),
  })
  .strict()
  .refine((input) => input.image === undefined || input.features === undefined, {
    message: "an input takes an image or tabular features, not both",
  });

const outputSchema = z
  .object({
    /** The graph output the endpoints read; default: the one the task implies (see docs). */
    name: z.string().min(1).optional(),
    /** Classification only: whether the output is already `probabilities` or `logits` (softmax applied). @default "probabilities" */
    kind: z.enum(["probabilities", "logits"]).default("probabilities"),
  })
  .strict();

const batchingSchema = z
  .object({
    /**
     * Join concurrent requests into one run. Unset: only when the first dimension of every input
     * and every output of the graph is the same named one ("N" everywhere), which says each output
     * row is its input row's. `true`: whenever every first dimension is dynamic; the configuration
     * vouches that rows are independent (an output whose rows are not, e.g. NonZero's `[K,2]` or a
     * top-k over the batch, would then mix callers' values). `false`: never.
     * @default unset (the named-dimension rule)
     */
    enabled: z.boolean().optional(),
    /**
     * How long a request waits for others to join it, in milliseconds. 0 runs it on the next turn
     * of the event loop and joins what arrived meanwhile or while a run was busy, so a lone request
     * waits for nothing. @default 0
     */
    maxDelayMs: z.number().min(0).max(100).default(0),
  })
  .strict();

export const modelConfigSchema = z
  .object({
    /** Format version of this file. */
    schemaVersion: z.literal(1),
    /**
     * `classification`: `/predict` answers a label and class probabilities per row;
     * `regression`: a value (or values) per row; `raw`: only the Open Inference Protocol serves it.
     */
    task: z.enum(TASKS),
    /** Class names, index = class id (classification). Default: the class ids as text. */
    labels: z.array(z.string().min(1)).min(2).optional(),
    input: inputSchema.default({}),
    output: outputSchema.default({ kind: "probabilities" }),
    /**
     * Dynamic batching of a model served by its graph (BATCH_MAX_SIZE and QUEUE_MAX_ROWS still
     * bound it). Default: on when the graph names one batch dimension everywhere, no delay.
     * plinth's own models batch by BATCH_MAX_DELAY_MS instead.
     */
    batching: batchingSchema.optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.labels !== undefined && config.task !== "classification") {
      ctx.addIssue({ code: "custom", path: ["labels"], message: `only a classification model has labels` });
    }
    if (new Set(config.labels ?? []).size !== (config.labels ?? []).length) {
      ctx.addIssue({ code: "custom", path: ["labels"], message: "labels must be unique" });
    }
    const features = config.input.features ?? [];
    const seen = new Set<string>();
    for (const feature of features) {
      if (seen.has(feature))
        ctx.addIssue({ code: "custom", path: ["input", "features"], message: `"${feature}" appears twice` });
      seen.add(feature);
    }
  });

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type ImagePreprocessing = NonNullable<ModelConfig["input"]["image"]>;

/** A configuration whose problems name the file and every bad field. */
export class ModelConfigError extends Error {
  override readonly name = "ModelConfigError";
}

/** Validates a parsed configuration; `source` names where it came from in the error. */
export function parseModelConfig(raw: unknown, source: string): ModelConfig {
  const parsed = modelConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ModelConfigError(`${source}: invalid model configuration: ${formatZodIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** Parses the text of a `model-config.json`. */
export function parseModelConfigJson(text: string, source: string): ModelConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelConfigError(`${source}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseModelConfig(raw, source);
}

/** The configuration plinth's own metadata implies (the trainer writes it as model-config.json). */
export function modelConfigFromMetadata(meta: ModelMetadata): ModelConfig {
  const { scale, mean, std } = meta.input.normalization;
  const { width, height, background } = meta.input.image;
  return {
    schemaVersion: 1,
    task: "classification",
    labels: [...meta.labels],
    input: {
      name: meta.input.name,
      // The metadata's `(x * scale - mean) / std` is this file's, channel by channel.
      image: {
        width,
        height,
        channels: 1,
        colorOrder: "RGB",
        layout: "NCHW",
        resize: "fill",
        background,
        scale,
        mean: [mean],
        std: [std],
      },
      valueRange: meta.input.pixelRange,
    },
    output: { name: meta.output.name, kind: meta.output.kind },
  };
}
