/**
 * A stack file serving three models (plinth:inference.models): fashion-mnist (the default) on a
 * canary, a tabular `churn` on single, an image model `defects` in shadow. Everything but
 * plinth:inference is Pulumi.staging.yaml's, so it validates as a real stack file does. The text is
 * built from each model's rollout block, so a test states the exact bytes it expects after a step
 * by swapping one block.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

export const MODELS = ["fashion-mnist", "churn", "defects"] as const;
export type ModelName = (typeof MODELS)[number];

/** Each model's rollout block as the fixture writes it: the lines under `rollout:`. */
export const ROLLOUT_BLOCKS: Readonly<Record<ModelName, string>> = {
  "fashion-mnist": [
    "          strategy: canary",
    "          stable: { modelVersion: champion }",
    "          candidate: { modelVersion: challenger, weight: 20 }",
    "          gates:",
    "            window: 10m",
    "            minRequests: 200",
    "",
  ].join("\n"),
  churn: [
    "          strategy: single",
    '          stable: { modelVersion: "1" }',
    "          # a tabular model: climbs from 2 %",
    "          gates:",
    "            window: 5m",
    "            minRequests: 50",
    "            weightLadder: [2, 10, 50, 100]",
    "",
  ].join("\n"),
  defects: [
    "          strategy: shadow",
    '          stable: { modelVersion: "3" }',
    '          candidate: { modelVersion: "4", shadowPercent: 50 }',
    "          gates: { window: 15m }",
    "",
  ].join("\n"),
};

const RESOURCES = [
  "        resources:",
  "          requests: { cpu: 250m, memory: 384Mi }",
  '          limits: { cpu: "1", memory: 768Mi }',
];

/** plinth:inference with `blocks` as the models' rollouts (the fixture's by default). */
export function inferenceSection(blocks: Partial<Record<ModelName, string>> = {}): string {
  const rollout = (model: ModelName) => `        rollout:\n${blocks[model] ?? ROLLOUT_BLOCKS[model]}`;
  return [
    "  plinth:inference:",
    "    image: ghcr.io/plinth-ml/plinth:0.1.0@sha256:462816a60a051e04fa4242969a9b829e060437bb71e75282e49cfbe34f06c800",
    "    # three models, each in its own Deployments",
    "    models:",
    "      fashion-mnist:",
    "        replicas: { min: 2, max: 4 }",
    "        targetCpuUtilization: 70",
    ...RESOURCES,
    rollout("fashion-mnist") +
      [
        "        drift:",
        '          schedule: "*/15 * * * *"',
        "          warnPsi: 0.1",
        "          alertPsi: 0.25",
      ].join("\n"),
    "      churn:",
    "        replicas: { min: 1, max: 3 }",
    "        targetCpuUtilization: 60",
    ...RESOURCES,
    rollout("churn") + "      defects:",
    "        source: image",
    "        replicas: { min: 1, max: 2 }",
    "        targetCpuUtilization: 70",
    ...RESOURCES,
    rollout("defects"),
  ].join("\n");
}

/** Pulumi.staging.yaml with its plinth:inference replaced by inferenceSection(blocks). */
export async function multiModelStackText(blocks: Partial<Record<ModelName, string>> = {}): Promise<string> {
  const staging = await readFile(path.join(REPO, "Pulumi.staging.yaml"), "utf8");
  const start = staging.indexOf("  plinth:inference:\n");
  const end = staging.indexOf("  plinth:mlflow:\n");
  if (start < 0 || end < start)
    throw new Error("Pulumi.staging.yaml: no plinth:inference before plinth:mlflow");
  return staging.slice(0, start) + inferenceSection(blocks) + staging.slice(end);
}
