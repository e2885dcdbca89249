/**
 * Third-party ONNX models made at test time the way a team makes them (scikit-learn + skl2onnx,
 * XGBoost and LightGBM + onnxmltools, onnx.helper), with onnxruntime-in-Python's outputs on the same inputs as the reference: the
 * generator is test/support/third-party-models.py, run in .tools/models-venv (exactly
 * test/support/third-party-models-requirements.txt, installed by scripts/install-test-tools.sh).
 * The models land in a local registry folder the service can serve from (PLINTH_REGISTRY_DIR).
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { MODEL_CONFIG_FILE } from "../../service/model/model-config.js";
import { runProgram } from "./fuzz-venv.js";
import { REPO_ROOT } from "./service-process.js";

export const MODELS_VENV = path.join(REPO_ROOT, ".tools", "models-venv");
const GENERATOR = path.join(REPO_ROOT, "test", "support", "third-party-models.py");

/** A v2 JSON tensor with flat data, as the generator writes them. */
export interface V2Tensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
  readonly data: (number | string | boolean)[];
}

export interface ModelCase {
  readonly inputs: V2Tensor[];
  /** onnxruntime-in-Python's outputs; null for a model whose outputs are not all tensors (ZipMap). */
  readonly outputs: V2Tensor[] | null;
}

/** The Python of the models venv; throws, naming the installer, when it is missing. */
export function modelsVenvPython(): string {
  const python = path.join(MODELS_VENV, "bin", "python");
  if (!existsSync(python)) {
    throw new Error(
      `${python} is missing: run bash scripts/install-test-tools.sh (it installs ${MODELS_VENV})`,
    );
  }
  return python;
}

/**
 * Makes every model into `<registryDir>/<name>/1/model.onnx` (with its model-config.json when the
 * team wrote one; alias champion -> 1) and returns the cases by model name, and the generator's
 * folder (`<madeDir>/rgb-cnn/pixels.rgb` is the colour model's reference picture).
 */
export async function makeThirdPartyModels(workDir: string): Promise<{
  registryDir: string;
  madeDir: string;
  cases: Map<string, ModelCase>;
}> {
  const made = path.join(workDir, "made");
  const run = await runProgram(modelsVenvPython(), [GENERATOR, made], {
    env: { PATH: process.env.PATH },
    timeoutMs: 180_000,
  });
  if (run.code !== 0) throw new Error(`third-party-models.py exited ${run.code}:\n${run.stderr}`);
  const registryDir = path.join(workDir, "registry");
  const cases = new Map<string, ModelCase>();
  for (const name of MODEL_NAMES) {
    const version = path.join(registryDir, name, "1");
    await mkdir(version, { recursive: true });
    await rename(path.join(made, name, "model.onnx"), path.join(version, "model.onnx"));
    const config = path.join(made, name, MODEL_CONFIG_FILE);
    if (existsSync(config)) await rename(config, path.join(version, MODEL_CONFIG_FILE));
    await writeFile(path.join(registryDir, name, "aliases.json"), JSON.stringify({ champion: "1" }));
    cases.set(name, JSON.parse(await readFile(path.join(made, name, "case.json"), "utf8")) as ModelCase);
  }
  return { registryDir, madeDir: made, cases };
}

/** The models the generator makes (its main() in the same order). */
export const MODEL_NAMES = [
  "iris-forest",
  "iris-forest-zipmap",
  "diabetes-ridge",
  "diabetes-forest",
  "iris-mixed",
  "iris-xgboost",
  "diabetes-lightgbm",
  "all-types",
  "rgb-cnn",
] as const;
