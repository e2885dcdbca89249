/**
 * What a loaded model supports, in one place: `/predict` (rows or instances), `/predict-image`,
 * explain, drift and shadow agreement, each `{ supported, reason? }`, the reason naming the model
 * and what it lacks. The explain refusal, the ops summary's drift section, the rollout snapshot's
 * shadow section and `/metadata`'s `capabilities` all read it, so they cannot tell different stories.
 * Pure: it reads the loaded model's metadata and bound configuration, nothing else.
 */
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { GraphModel } from "../inference/graph-model.js";
import type { LoadedModel } from "../inference/load-model.js";
import type { PlinthModel } from "../inference/model.js";
import { METADATA_KEY } from "../model/metadata.js";

export interface Support {
  readonly supported: boolean;
  /** Why not, naming the model and what it lacks; absent when supported. */
  readonly reason?: string;
}

export interface ModelCapabilities {
  /** `POST /predict`: rows (`inputs`) or, with named features, `instances`. */
  readonly predict: Support;
  readonly predictImage: Support;
  /** `POST /predict-image/explain`. */
  readonly explain: Support;
  /** Drift monitoring against the training baseline. */
  readonly drift: Support;
  /** Shadow agreement: stable's and the candidate's predicted labels compared row by row. */
  readonly shadowAgreement: Support;
}

export const EXPLAIN_ROUTE = "/predict-image/explain";

const SUPPORTED: Support = { supported: true };
const no = (reason: string): Support => ({ supported: false, reason });
const named = (model: { readonly name: string; readonly version: string }) =>
  `model "${model.name}" version ${model.version}`;

/** Why drift cannot watch a plinth model's input, or undefined when it can (one image plane a row). */
export function driftUnsupported(
  model: Pick<PlinthModel, "name" | "version" | "inputSize" | "metadata">,
): string | undefined {
  const { width, height } = model.metadata.input.image;
  if (model.inputSize === width * height) return undefined;
  return (
    `${named(model)} takes ${model.inputSize} values a row, not one ${width}x${height} image plane: ` +
    "drift computes image features of one plane"
  );
}

/** What a graph model serves, for a refusal to point to. */
function servedInstead(model: GraphModel): string {
  const io = model.io;
  const v2 = `/v2/models/${model.name}/infer`;
  if (io === undefined || io.task === "raw") return `score it with its own tensors at ${v2}`;
  const served = [
    ...(io.rows === undefined ? [] : ["/predict"]),
    ...(io.image === undefined ? [] : ["/predict-image"]),
    v2,
  ];
  return `it serves ${served.join(", ")}`;
}

/** Why a graph model's configuration does not ask for the convenience endpoints, or undefined. */
function notConfigured(model: GraphModel): string | undefined {
  const io = model.io;
  if (io === undefined)
    return "it has no model configuration (model-config.json beside model.onnx, or an MLflow MLmodel)";
  if (io.task === "raw") return 'its model configuration says task "raw"';
  return undefined;
}

function graphPredict(model: GraphModel, route: "/predict" | "/predict-image"): Support {
  const unavailable = `${route} is not available for ${named(model)}: `;
  const missing = notConfigured(model);
  if (missing !== undefined) return no(`${unavailable}${missing}; ${servedInstead(model)}`);
  if (route === "/predict" && model.io!.rows === undefined)
    return no(
      `${unavailable}it takes no rows of values (its configured input is an image, or its input has dynamic dimensions); ${servedInstead(model)}`,
    );
  if (route === "/predict-image" && model.io!.image === undefined)
    return no(
      `${unavailable}its model configuration has no image input (input.image); ${servedInstead(model)}`,
    );
  return SUPPORTED;
}

function graphShadowAgreement(model: GraphModel): Support {
  const task = model.io?.task;
  if (task === "classification") return SUPPORTED;
  const what =
    task === undefined
      ? `${named(model)} has no model configuration, so its outputs carry no predicted label`
      : `${named(model)} is configured with task "${task}", whose answers are ${task === "regression" ? "values" : "raw tensors"}, not predicted labels`;
  return no(
    `${what}: shadow agreement compares stable's and the candidate's predicted labels, which only a ` +
      'model configured as "classification" has; shadow still measures latency and drops',
  );
}

/** Everything `model` supports, with the reason for what it does not. */
export function capabilitiesOf(model: LoadedModel): ModelCapabilities {
  if (model.kind === "plinth") {
    const drift = driftUnsupported(model);
    return {
      predict: SUPPORTED,
      predictImage: SUPPORTED,
      // Supported as far as metadata goes; a graph operator the explainer lacks is a 501 on request.
      explain: SUPPORTED,
      drift: drift === undefined ? SUPPORTED : no(drift),
      shadowAgreement: SUPPORTED,
    };
  }
  return {
    predict: graphPredict(model, "/predict"),
    predictImage: graphPredict(model, "/predict-image"),
    explain: no(needsPlinthMetadata(model, EXPLAIN_ROUTE, "explain")),
    drift: no(
      `${named(model)} has no plinth metadata: drift needs the training baseline (baseline.json of the ` +
        "image features and predicted classes) that plinth's trainer writes, so this model is not monitored",
    ),
    shadowAgreement: graphShadowAgreement(model),
  };
}

/** Why `feature` (served at `what`) is not available for a graph model: it needs plinth metadata. */
function needsPlinthMetadata(model: GraphModel, what: string, feature: string): string {
  return (
    `${what} is not available for ${named(model)}: ${feature} needs plinth's own model metadata ` +
    `("${METADATA_KEY}" in the ONNX file, written by plinth's trainer), which this model does not carry; ` +
    servedInstead(model)
  );
}

/**
 * The model as a plinth model, for a feature that needs plinth metadata (`feature`, e.g. "scoring
 * rows"); else a 400 saying so and what the model does serve.
 */
export function requirePlinthModel(model: LoadedModel, feature: string): PlinthModel {
  if (model.kind === "plinth") return model;
  throw new ApiError(ErrorCode.INVALID_REQUEST, needsPlinthMetadata(model, feature, feature));
}

/** The model, when explain supports it; else the 400 saying why. */
export function explainableModel(model: LoadedModel): PlinthModel {
  const { explain } = capabilitiesOf(model);
  if (model.kind === "plinth" && explain.supported) return model;
  throw new ApiError(ErrorCode.INVALID_REQUEST, explain.reason!);
}
