/**
 * The registry folder and the stack file of the three-model local stack (test/e2e/three-models.test.ts):
 *
 * - `fashion-classifier`: the bundled model (models/fashion-classifier/1, its files as they are:
 *   its embedded metadata names it fashion-classifier, as the service requires of a registered
 *   name) as version 1, aliased champion, and again as version 2, aliased challenger (the canary's
 *   two variants);
 * - `churn`: a scikit-learn pipeline exported to ONNX by skl2onnx (test/support/churn-model.py) as
 *   version 3, with scikit-learn's own answers on its reference rows;
 * - `defects`: the 3-channel colour CNN of the third-party models (test/support/third-party-models.py,
 *   `rgb-cnn`, served on /predict-image by its model-config.json) as version 1, aliased champion,
 *   and again as version 2, aliased challenger (the shadow's two variants), with onnxruntime's
 *   probabilities for its reference picture.
 *
 * The stack file is Pulumi.staging.yaml with plinth:inference replaced by THREE_MODELS.
 */
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { parseDocument } from "yaml";
import { MODEL_CONFIG_FILE } from "../../service/model/model-config.js";
import { LocalRegistry, MODEL_FILE } from "../../service/registry/local.js";
import { runProgram } from "./fuzz-venv.js";
import { REPO_ROOT } from "./service-process.js";
import { makeThirdPartyModels, modelsVenvPython } from "./third-party-models.js";
import { THREE_MODELS } from "./three-model-stack.js";

const CHURN_GENERATOR = path.join(REPO_ROOT, "test", "support", "churn-model.py");
const BUNDLED_VERSION = path.join(REPO_ROOT, "models", "fashion-classifier", "1");
/** The colour model's reference picture (third-party-models.py's IMAGE_WIDTH x IMAGE_HEIGHT). */
const DEFECTS_WIDTH = 32;
const DEFECTS_HEIGHT = 24;

/** The version of churn the three-model stack serves (THREE_MODELS.churn). */
export const CHURN_VERSION = THREE_MODELS.churn.rollout.stable.modelVersion;

export interface ChurnCase {
  readonly features: string[];
  readonly labels: string[];
  readonly rows: number[][];
  /** scikit-learn's predict_proba on `rows`. */
  readonly probabilities: number[][];
  /** scikit-learn's predict on `rows` (class ids). */
  readonly predicted: number[];
}

export interface ThreeModelRegistry {
  /** The registry folder (PLINTH_REGISTRY_DIR). */
  readonly dir: string;
  readonly churn: ChurnCase;
  readonly defects: {
    /** An RGB PNG of the reference picture. */
    readonly png: Buffer;
    /** onnxruntime-in-Python's class probabilities for it. */
    readonly probabilities: number[];
    readonly labels: string[];
  };
  /** The bundled model's class labels. */
  readonly fashionLabels: string[];
}

/** Copies a version folder's files into `<dir>/<model>/<version>/`. */
async function putVersion(dir: string, model: string, version: string, from: string): Promise<void> {
  await cp(from, path.join(dir, model, version), { recursive: true });
}

/** Makes the registry under `workDir` (the two Python generators run in .tools/models-venv). */
export async function makeThreeModelRegistry(workDir: string): Promise<ThreeModelRegistry> {
  const dir = path.join(workDir, "registry");
  const registry = new LocalRegistry(dir);
  await mkdir(dir, { recursive: true });

  for (const version of ["1", "2"]) await putVersion(dir, "fashion-classifier", version, BUNDLED_VERSION);
  await registry.setAlias("fashion-classifier", "champion", "1");
  await registry.setAlias("fashion-classifier", "challenger", "2");

  const churnOut = path.join(workDir, "churn-made");
  const run = await runProgram(modelsVenvPython(), [CHURN_GENERATOR, churnOut], {
    env: { PATH: process.env.PATH },
    timeoutMs: 180_000,
  });
  if (run.code !== 0) throw new Error(`churn-model.py exited ${run.code}:\n${run.stderr}`);
  await mkdir(path.join(dir, "churn", CHURN_VERSION), { recursive: true });
  for (const name of [MODEL_FILE, MODEL_CONFIG_FILE]) {
    await cp(path.join(churnOut, name), path.join(dir, "churn", CHURN_VERSION, name));
  }
  const churn = JSON.parse(await readFile(path.join(churnOut, "case.json"), "utf8")) as ChurnCase;

  const thirdParty = await makeThirdPartyModels(path.join(workDir, "third-party"));
  const rgbVersion = path.join(thirdParty.registryDir, "rgb-cnn", "1");
  await putVersion(dir, "defects", "1", rgbVersion);
  await putVersion(dir, "defects", "2", rgbVersion);
  await registry.setAlias("defects", "champion", "1");
  await registry.setAlias("defects", "challenger", "2");
  const rgb = await readFile(path.join(thirdParty.madeDir, "rgb-cnn", "pixels.rgb"));
  const png = await sharp(rgb, { raw: { width: DEFECTS_WIDTH, height: DEFECTS_HEIGHT, channels: 3 } })
    .png()
    .toBuffer();
  const outputs = thirdParty.cases.get("rgb-cnn")!.outputs!;
  const probabilities = outputs.find((o) => o.name === "probabilities")!.data as number[];
  const defectsConfig = JSON.parse(await readFile(path.join(rgbVersion, MODEL_CONFIG_FILE), "utf8")) as {
    labels: string[];
  };
  const fashionConfig = JSON.parse(await readFile(path.join(BUNDLED_VERSION, MODEL_CONFIG_FILE), "utf8")) as {
    labels: string[];
  };

  return {
    dir,
    churn,
    defects: { png, probabilities, labels: defectsConfig.labels },
    fashionLabels: fashionConfig.labels,
  };
}

/**
 * Writes `<workDir>/Pulumi.three-models.yaml`: Pulumi.staging.yaml with plinth:inference replaced
 * by the `models` shape of THREE_MODELS (the staging image kept). Returns its path.
 */
export async function writeThreeModelStackFile(workDir: string): Promise<string> {
  const document = parseDocument(await readFile(path.join(REPO_ROOT, "Pulumi.staging.yaml"), "utf8"));
  const image = document.getIn(["config", "plinth:inference", "image"]) as string;
  document.setIn(["config", "plinth:inference"], document.createNode({ image, models: THREE_MODELS }));
  const file = path.join(workDir, "Pulumi.three-models.yaml");
  await writeFile(file, document.toString());
  return file;
}
