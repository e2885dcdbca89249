/**
 * Two versions of one third-party model with no plinth metadata, in a local registry folder: the
 * scikit-learn iris classifier (scaler + random forest, skl2onnx, zipmap=False) as version 1, and
 * its retraining as gradient-boosted trees (XGBoost, onnxmltools) as version 2, both with the
 * model-config.json the team wrote (feature names, labels). Both are made by
 * test/support/third-party-models.py (makeThirdPartyModels), with onnxruntime-in-Python's outputs
 * on the same 25 rows as each version's reference: same input tensor, same outputs, different
 * probabilities.
 */
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { MODEL_CONFIG_FILE } from "../../service/model/model-config.js";
import { MODEL_FILE } from "../../service/registry/local.js";
import { makeThirdPartyModels, type ModelCase, type V2Tensor } from "./third-party-models.js";

export const IRIS_MODEL = "iris-forest";
export const IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"] as const;
export const IRIS_LABELS = ["setosa", "versicolor", "virginica"] as const;
/** The registry's versions: the forest, then its XGBoost retraining. */
export const IRIS_VERSIONS = ["1", "2"] as const;
export type IrisVersion = (typeof IRIS_VERSIONS)[number];

/** What a version answers for one reference row (onnxruntime in Python). */
export interface ExpectedRow {
  readonly classId: number;
  readonly probabilities: readonly number[];
}

export interface IrisVersions {
  /** `<dir>/iris-forest/{1,2}/` with aliases champion -> 1, challenger -> 2. */
  readonly registryDir: string;
  /** The 25 reference rows, four feature values each, in feature order. */
  readonly rows: readonly (readonly number[])[];
  /** Each version's answer per reference row. */
  readonly expected: Readonly<Record<IrisVersion, readonly ExpectedRow[]>>;
  /** The v2 input tensor of the reference rows (FP32 `[25, 4]`, named `input`). */
  readonly tensor: V2Tensor;
}

/** One array per row of a `[rows, columns]` tensor. */
function rowsOf(tensor: V2Tensor): number[][] {
  const width = tensor.shape[1]!;
  return Array.from({ length: tensor.shape[0]! }, (_, r) =>
    (tensor.data as number[]).slice(r * width, (r + 1) * width),
  );
}

function expectedRows(modelCase: ModelCase): ExpectedRow[] {
  const output = (name: string) => modelCase.outputs!.find((o) => o.name === name)!;
  const classIds = output("label").data as number[];
  return rowsOf(output("probabilities")).map((probabilities, r) => ({
    classId: classIds[r]!,
    probabilities,
  }));
}

/** Makes the models (in `workDir`) and the two-version registry. */
export async function makeIrisVersions(workDir: string): Promise<IrisVersions> {
  const made = await makeThirdPartyModels(workDir);
  const sources: Record<IrisVersion, string> = { "1": IRIS_MODEL, "2": "iris-xgboost" };
  const registryDir = path.join(workDir, "versions");
  for (const version of IRIS_VERSIONS) {
    const dir = path.join(registryDir, IRIS_MODEL, version);
    await mkdir(dir, { recursive: true });
    await copyFile(
      path.join(made.registryDir, sources[version], "1", MODEL_FILE),
      path.join(dir, MODEL_FILE),
    );
    // Version 2 is the same model to its team: same features, same labels, same configuration.
    const config = path.join(made.registryDir, IRIS_MODEL, "1", MODEL_CONFIG_FILE);
    await copyFile(config, path.join(dir, MODEL_CONFIG_FILE));
  }
  const aliases = { champion: "1", challenger: "2" };
  await writeFile(path.join(registryDir, IRIS_MODEL, "aliases.json"), JSON.stringify(aliases));
  const [first, second] = [made.cases.get(sources["1"])!, made.cases.get(sources["2"])!];
  // Both references are for the same rows, or comparing them would mean nothing.
  if (JSON.stringify(second.inputs) !== JSON.stringify(first.inputs))
    throw new Error(`the generator scored ${sources["1"]} and ${sources["2"]} on different rows`);
  return {
    registryDir,
    rows: rowsOf(first.inputs[0]!),
    expected: { "1": expectedRows(first), "2": expectedRows(second) },
    tensor: first.inputs[0]!,
  };
}

/** `{feature: value}` for one reference row. */
export function instanceOf(row: readonly number[]): Record<string, number> {
  return Object.fromEntries(IRIS_FEATURES.map((feature, c) => [feature, row[c]!]));
}
