/**
 * The earlier single-model shape of plinth:inference (`modelName`, `replicas`, `rollout`, ...
 * directly under plinth:inference), which stack files written before plinth:inference.models keep
 * using and plinth keeps reading as a map of one. The shipped stack files list their model under
 * plinth:inference.models; these fixtures are the same stacks in the earlier shape.
 */
import { readStackFile } from "../../infra/render/stack-config.js";
import type { StackName } from "../../infra/render/types.js";

/** The model the shipped stack files serve. */
export const BUNDLED_MODEL = "fashion-classifier";

/**
 * A renderStack (or stagingWith) override giving `stack`'s file the single-model shape: its one
 * model's settings, unchanged, directly under plinth:inference, named by modelName.
 */
export function singleModelOverride(stack: StackName = "staging"): { inference: Record<string, unknown> } {
  const { models } = readStackFile(stack).values.inference as { models: Record<string, object> };
  const [name, ...others] = Object.keys(models);
  if (name === undefined || others.length > 0) {
    throw new Error(`Pulumi.${stack}.yaml: expected one model under plinth:inference.models`);
  }
  return { inference: { models: null, modelName: name, ...models[name] } };
}

/**
 * A stack file's text (Pulumi.staging.yaml's, Pulumi.production.yaml's) in the single-model shape:
 * the comment above `models:`, `models:` and `<name>:` give way to `modelName: <name>`, and the
 * model's settings move up one level (4 spaces), every other byte as it was. Refuses a file that
 * does not list exactly one model as the shipped files do.
 */
export function singleModelStackText(text: string): string {
  const lines = text.split("\n");
  const models = lines.indexOf("    models:");
  const entry = /^ {6}([a-z][a-z0-9-]*):$/.exec(lines[models + 1] ?? "");
  if (models < 0 || !entry)
    throw new Error("expected `    models:` then one `      <name>:` in plinth:inference");
  let commentStart = models;
  while (commentStart > 0 && lines[commentStart - 1]!.startsWith("    # ")) commentStart--;
  let end = models + 2;
  while (end < lines.length && (lines[end]!.startsWith("        ") || lines[end] === "")) end++;
  if (lines[end]?.startsWith("      ")) throw new Error("expected one model under plinth:inference.models");
  const settings = lines.slice(models + 2, end).map((line) => line.slice(4));
  return [
    ...lines.slice(0, commentStart),
    `    modelName: ${entry[1]}`,
    ...settings,
    ...lines.slice(end),
  ].join("\n");
}
