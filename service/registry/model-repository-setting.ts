/**
 * MODEL_REPOSITORY: the models a process serves beside its default one, as comma-separated
 * `name=reference` items, e.g. `iris=models:/iris@champion,churn=file:/models/churn`. A reference
 * takes MODEL_STABLE's forms (models:/<name>@<alias>, models:/<name>/<version>, file:<dir>, or a
 * bare alias or version of `name` in the configured registry). A model is addressed by its
 * registered name, so a `models:/` reference must name the model its item names.
 */
import { MODEL_NAME_PATTERN } from "../contract/model-name.js";
import { modelReferenceProblem, parseModelReference } from "./model-uri.js";

export interface RepositoryModel {
  /** The name requests address it by (`/v2/models/<name>`), and its registered name. */
  readonly name: string;
  /** What its stable variant follows. */
  readonly reference: string;
}

/** The entries of `text`, or why one item is wrong (naming the item). */
export function parseModelRepository(text: string): RepositoryModel[] | string {
  const models: RepositoryModel[] = [];
  for (const item of text.split(",").map((s) => s.trim())) {
    if (item === "") continue;
    const problem = itemProblem(item, models);
    if (problem !== undefined) return `item ${JSON.stringify(item)}: ${problem}`;
    const at = item.indexOf("=");
    models.push({ name: item.slice(0, at).trim(), reference: item.slice(at + 1).trim() });
  }
  return models;
}

function itemProblem(item: string, before: readonly RepositoryModel[]): string | undefined {
  const at = item.indexOf("=");
  const name = at < 0 ? "" : item.slice(0, at).trim();
  const reference = at < 0 ? "" : item.slice(at + 1).trim();
  if (name === "" || reference === "") {
    return "expected name=reference (e.g. iris=models:/iris@champion)";
  }
  if (!MODEL_NAME_PATTERN.test(name)) return `model name "${name}" is not like fashion-classifier`;
  const referenceProblem = modelReferenceProblem(reference);
  if (referenceProblem !== undefined) return referenceProblem;
  const target = parseModelReference(reference, name);
  if (target.kind !== "file" && target.name !== name) {
    return `the reference names model "${target.name}", not "${name}" (a model is served under its registered name)`;
  }
  if (before.some((m) => m.name === name)) return `model "${name}" is listed twice`;
  return undefined;
}
