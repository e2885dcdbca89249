/**
 * Model references, the same for the stable and the candidate variant:
 *
 *   models:/<name>@<alias>     an alias, followed as it moves (MLflow's URI form)
 *   models:/<name>/<version>   a fixed version
 *   file:<dir>                 a folder holding model.onnx (a local registry version folder, or the
 *                              training job's output folder); fixed, nothing to follow
 *   <alias> | <version>        shorthand for models:/<MODEL_NAME>@<alias> or .../<version>
 *
 * `models:/` references are looked up in the configured registry: MLflow when
 * MLFLOW_TRACKING_URI is set, the local registry folder otherwise.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isVersionRef, RegistryError } from "./registry.js";

export type ModelReference =
  | { readonly kind: "alias"; readonly name: string; readonly alias: string }
  | { readonly kind: "version"; readonly name: string; readonly version: string }
  | { readonly kind: "file"; readonly dir: string };

/** Registered model names and aliases as MLflow and the local registry both accept them. */
const NAME = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}";
const ALIAS = "[A-Za-z_][A-Za-z0-9._-]{0,63}";
const SHORT_REF = new RegExp(`^(?:[1-9][0-9]{0,8}|${ALIAS})$`);
const MODELS_ALIAS = new RegExp(`^models:/(${NAME})@(${ALIAS})$`);
const MODELS_VERSION = new RegExp(`^models:/(${NAME})/([1-9][0-9]{0,8})$`);

/** What a reference may look like, for configuration messages. */
export const MODEL_REFERENCE_FORMS =
  "models:/<name>@<alias>, models:/<name>/<version>, file:<dir>, or a bare alias or version";

/** The parsed reference, or why `text` is not one. */
function parse(text: string, defaultName: string): ModelReference | string {
  if (text.startsWith("file:")) {
    let dir: string;
    try {
      // file:///abs/dir (RFC 8089) or file:relative/dir, file:/abs/dir (MLflow's loose form).
      dir = text.startsWith("file://") ? fileURLToPath(text) : text.slice("file:".length);
    } catch (err) {
      return (err as Error).message;
    }
    if (dir === "") return "no folder after file:";
    return { kind: "file", dir: path.resolve(dir) };
  }
  if (text.startsWith("models:")) {
    const byAlias = MODELS_ALIAS.exec(text);
    if (byAlias !== null) return { kind: "alias", name: byAlias[1]!, alias: byAlias[2]! };
    const byVersion = MODELS_VERSION.exec(text);
    if (byVersion !== null) return { kind: "version", name: byVersion[1]!, version: byVersion[2]! };
    return "not models:/<name>@<alias> or models:/<name>/<version>";
  }
  if (!SHORT_REF.test(text)) return "not an alias, a version number or a URI";
  return isVersionRef(text)
    ? { kind: "version", name: defaultName, version: text }
    : { kind: "alias", name: defaultName, alias: text };
}

/**
 * Parses a model reference; `defaultName` (MODEL_NAME) completes a bare alias or version.
 * Throws INVALID_REFERENCE naming the accepted forms.
 */
export function parseModelReference(text: string, defaultName: string): ModelReference {
  const parsed = parse(text, defaultName);
  if (typeof parsed === "string") {
    throw new RegistryError(
      "INVALID_REFERENCE",
      `invalid model reference ${JSON.stringify(text)}: ${parsed} (expected ${MODEL_REFERENCE_FORMS})`,
    );
  }
  return parsed;
}

/** Why `text` is not a model reference (for configuration messages), or undefined when it is one. */
export function modelReferenceProblem(text: string): string | undefined {
  const parsed = parse(text, "model");
  return typeof parsed === "string" ? `${parsed} (expected ${MODEL_REFERENCE_FORMS})` : undefined;
}

/** The reference back in URI form, for logs and summaries. */
export function formatModelReference(ref: ModelReference): string {
  switch (ref.kind) {
    case "alias":
      return `models:/${ref.name}@${ref.alias}`;
    case "version":
      return `models:/${ref.name}/${ref.version}`;
    case "file":
      return `file:${ref.dir}`;
  }
}
