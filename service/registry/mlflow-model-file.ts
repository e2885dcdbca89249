/**
 * An MLflow model's `MLmodel` file (YAML, written by `mlflow.<flavor>.log_model`), read for what
 * plinth needs: the ONNX flavor's model file (`flavors.onnx.data`, a path in the model's artifact
 * folder) and the model configuration the file implies:
 *
 *   - a column-based signature (`[{"type": "double", "name": "sepal length"}, ...]`) names the
 *     tabular features, in order: `input.features`;
 *   - a tensor-based signature adds nothing (the ONNX graph carries the tensors);
 *   - `metadata.plinth`, a model configuration a data scientist passes as
 *     `mlflow.onnx.log_model(..., metadata={"plinth": {...}})`, gives the rest (task, labels,
 *     image preprocessing...); `schemaVersion` may be left out.
 *
 * Without `metadata.plinth`, a column signature alone makes a `raw` configuration with the
 * features. Errors name the file and the field; an MLmodel without an `onnx` flavor is refused:
 * plinth serves ONNX.
 */
import { parse as parseYaml } from "yaml";
import { ModelConfigError, parseModelConfig, type ModelConfig } from "../model/model-config.js";

/** The name MLflow gives the file describing a logged model, at the root of its artifact folder. */
export const MLMODEL_FILE = "MLmodel";

/** The flavor `mlflow.onnx.log_model` writes. */
export const ONNX_FLAVOR = "onnx";

type YamlMap = Record<string, unknown>;

function isMap(value: unknown): value is YamlMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail(source: string, field: string, problem: string): ModelConfigError {
  return new ModelConfigError(`${source}: ${field} ${problem}`);
}

/** The parsed top-level mapping of an MLmodel; throws naming the file when it is not one. */
function readMlmodel(text: string, source: string): YamlMap {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ModelConfigError(`${source}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  if (!isMap(doc)) throw new ModelConfigError(`${source}: not an MLmodel file (expected a YAML mapping)`);
  return doc;
}

/** The `onnx` flavor's settings; refuses an MLmodel without one, naming the flavors it has. */
function onnxFlavor(doc: YamlMap, source: string): YamlMap {
  const flavors = doc["flavors"];
  if (!isMap(flavors)) throw fail(source, "flavors", "is missing or not a mapping");
  const onnx = flavors[ONNX_FLAVOR];
  if (onnx === undefined) {
    const names = Object.keys(flavors);
    throw new ModelConfigError(
      `${source}: the model has no "${ONNX_FLAVOR}" flavor (flavors: ${names.length > 0 ? names.join(", ") : "none"}); ` +
        `plinth serves ONNX models: convert the model to ONNX and log it with mlflow.onnx.log_model`,
    );
  }
  if (!isMap(onnx)) throw fail(source, `flavors.${ONNX_FLAVOR}`, "is not a mapping");
  return onnx;
}

/**
 * The path of the ONNX file in the model's artifact folder (`flavors.onnx.data`, `model.onnx` as
 * mlflow 3.17 writes it). Throws naming the file and field when there is no onnx flavor or the
 * path is not a plain relative path.
 */
export function onnxModelFileOf(text: string, source: string): string {
  const data = onnxFlavor(readMlmodel(text, source), source)["data"];
  const field = `flavors.${ONNX_FLAVOR}.data`;
  if (typeof data !== "string" || data.trim() === "") throw fail(source, field, "is missing or not a path");
  const segments = data.split("/");
  if (data.startsWith("/") || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw fail(source, field, `${JSON.stringify(data)} is not a relative path inside the model's folder`);
  }
  return data;
}

/** One item of a signature's `inputs` as MLflow writes it (a ColSpec or a TensorSpec). */
interface SignatureItem {
  readonly type: string;
  readonly name?: string;
}

/** The tabular feature names a column-based signature gives, or undefined for a tensor-based one. */
function signatureFeatures(doc: YamlMap, source: string): string[] | undefined {
  const signature = doc["signature"];
  if (signature === undefined || signature === null) return undefined;
  if (!isMap(signature)) throw fail(source, "signature", "is not a mapping");
  const inputs = signature["inputs"];
  if (inputs === undefined || inputs === null) return undefined;
  // MLflow stores the schema as a JSON string inside the YAML.
  let items: unknown;
  try {
    items = typeof inputs === "string" ? JSON.parse(inputs) : inputs;
  } catch (err) {
    throw fail(source, "signature.inputs", `is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(items)) throw fail(source, "signature.inputs", "is not a list");
  const specs = items.map((item: unknown, i): SignatureItem => {
    if (!isMap(item) || typeof item["type"] !== "string") {
      throw fail(source, `signature.inputs[${i}]`, `is not a column or tensor spec (no "type")`);
    }
    const name = item["name"];
    if (name !== undefined && (typeof name !== "string" || name === "")) {
      throw fail(source, `signature.inputs[${i}].name`, "is not a non-empty string");
    }
    return { type: item["type"], name };
  });
  const tensors = specs.filter((s) => s.type === "tensor").length;
  if (tensors === specs.length) return undefined;
  if (tensors > 0) throw fail(source, "signature.inputs", "mixes column and tensor specs");
  const named = specs.filter((s) => s.name !== undefined).length;
  if (named === 0) return undefined;
  if (named < specs.length) throw fail(source, "signature.inputs", "names some columns but not all");
  return specs.map((s) => s.name!);
}

/**
 * The model configuration an MLflow ONNX-flavor model's `MLmodel` implies, or undefined when it
 * says nothing plinth can use (no `metadata.plinth`, no column-based signature). `source` names
 * the file in errors; throws {@link ModelConfigError} on a malformed file or an invalid
 * `metadata.plinth`, and refuses a model without an `onnx` flavor.
 */
export function modelConfigFromMlmodel(text: string, source: string): ModelConfig | undefined {
  const doc = readMlmodel(text, source);
  onnxFlavor(doc, source);
  const features = signatureFeatures(doc, source);
  const metadata = doc["metadata"];
  if (metadata !== undefined && metadata !== null && !isMap(metadata)) {
    throw fail(source, "metadata", "is not a mapping");
  }
  const plinth = isMap(metadata) ? metadata["plinth"] : undefined;
  if (plinth === undefined || plinth === null) {
    return features === undefined
      ? undefined
      : parseModelConfig({ schemaVersion: 1, task: "raw", input: { features } }, source);
  }
  if (!isMap(plinth)) throw fail(source, "metadata.plinth", "is not a mapping (a model configuration)");
  const input = plinth["input"] ?? {};
  if (!isMap(input)) throw fail(source, "metadata.plinth.input", "is not a mapping");
  const given = input["features"];
  if (features !== undefined && given !== undefined && JSON.stringify(given) !== JSON.stringify(features)) {
    throw fail(
      source,
      "metadata.plinth.input.features",
      `${JSON.stringify(given)} differ from the signature's columns ${JSON.stringify(features)}; ` +
        `leave them out (the signature names them) or make them agree`,
    );
  }
  const withFeatures =
    features === undefined || input["image"] !== undefined ? input : { ...input, features };
  return parseModelConfig(
    { schemaVersion: 1, ...plinth, input: withFeatures },
    `${source} (metadata.plinth)`,
  );
}
