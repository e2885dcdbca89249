/**
 * Scheduled retraining is plinth's Fashion-MNIST example: a stack serving another model leaves
 * `inference.retrain` out, and then no CronJob registers a Fashion-MNIST network under its name.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../infra/render/index.js";
import { readStackFile } from "../../infra/render/stack-config.js";
import { ENV } from "../../service/config.js";
import { at, StackView } from "../support/stack.js";
import { modelsOverride } from "../support/three-model-stack.js";

type EnvVar = { name: string; value?: string };

/** Staging's model settings, without retrain, served as another model (iris). */
function irisWithoutRetrain() {
  const { models } = readStackFile("staging").values.inference as {
    models: Record<string, Record<string, unknown>>;
  };
  const { retrain: _retrain, ...settings } = models["fashion-classifier"]!;
  return modelsOverride({ iris: settings });
}

let withRetrain: StackView;
let without: StackView;
beforeAll(async () => {
  const render = async (config = {}) =>
    new StackView(await renderStack({ stack: "staging", cloud: "existing", config }));
  [withRetrain, without] = await Promise.all([render(), render(irisWithoutRetrain())]);
});

const cronJobs = (view: StackView) =>
  view
    .manifests()
    .filter((o) => o.kind === "CronJob")
    .map((o) => (o.metadata as { name: string }).name)
    .sort();

describe("inference.retrain", () => {
  it("adds the retrain CronJob when set (the bundled model's stack files)", () => {
    expect(cronJobs(withRetrain)).toEqual(["plinth-inference-drift-check", "plinth-inference-retrain"]);
  });

  it("left out, no retrain CronJob: the drift check alone, and the model served by its own name", () => {
    expect(cronJobs(without)).toEqual(["plinth-inference-drift-check"]);
    const modelNames = without
      .manifests()
      .filter((o) => o.kind === "Deployment")
      .flatMap((o) => (at(o, "spec.template.spec.containers[0].env") as EnvVar[] | undefined) ?? [])
      .filter((e) => e.name === ENV.MODEL_NAME)
      .map((e) => e.value);
    expect(modelNames.length).toBeGreaterThan(0);
    expect(new Set(modelNames)).toEqual(new Set(["iris"]));
  });
});
