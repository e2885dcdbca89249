/**
 * What a loaded model supports (service/serving/capabilities.ts): the same answers, with reasons
 * naming the model, for the explain refusal, the ops summary's drift section, the shadow section of
 * the rollout snapshot, and `/metadata`'s `capabilities`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../../service/errors/api-error.js";
import type { GraphModel } from "../../../service/inference/graph-model.js";
import type { PlinthModel } from "../../../service/inference/model.js";
import { parseModelConfig } from "../../../service/model/model-config.js";
import {
  capabilitiesOf,
  explainableModel,
  type ModelCapabilities,
} from "../../../service/serving/capabilities.js";
import { bindModelConfig } from "../../../service/serving/configured-io.js";
import type { ModelContract } from "../../../service/serving/contract.js";
import { matmulModel } from "../inference/matmul-model.js";
import { OPS_HEADERS, OPS_KEY } from "../rollout/rollout-fixture.js";
import { API_KEY, KEY_HEADERS, startTestService, type TestService } from "../server/service-fixture.js";

const SOURCE = "/models/iris/3/model-config.json";
const TABULAR: ModelContract = {
  inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
  outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, 3] }],
};
const IMAGE: ModelContract = {
  inputs: [{ name: "pixels", datatype: "FP32", shape: [-1, 3, 8, 8] }],
  outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 2] }],
};

/** A graph model as capabilitiesOf reads it: its identity and its bound configuration. */
function graphModel(contract: ModelContract, config: Record<string, unknown> | undefined): GraphModel {
  const io =
    config === undefined
      ? undefined
      : bindModelConfig(parseModelConfig({ schemaVersion: 1, ...config }, SOURCE), contract, SOURCE);
  return { kind: "graph", name: "iris", version: "3", contract, io } as unknown as GraphModel;
}

/** A plinth model as capabilitiesOf reads it. */
function plinthModel(inputSize = 784): PlinthModel {
  return {
    kind: "plinth",
    name: "fashion-classifier",
    version: "7",
    inputSize,
    metadata: { input: { image: { width: 28, height: 28, channels: 1 } } },
  } as unknown as PlinthModel;
}

const yes = { supported: true };
const EXPLAIN_NEEDS_METADATA =
  '/predict-image/explain is not available for model "iris" version 3: explain needs plinth\'s own model ' +
  'metadata ("plinth.metadata" in the ONNX file, written by plinth\'s trainer), which this model does not carry; ';
const DRIFT_NEEDS_BASELINE =
  'model "iris" version 3 has no plinth metadata: drift needs the training baseline (baseline.json of the ' +
  "image features and predicted classes) that plinth's trainer writes, so this model is not monitored";
const agreementNeedsLabels = (what: string) => ({
  supported: false,
  reason:
    `model "iris" version 3 ${what}: shadow agreement compares stable's and the candidate's predicted ` +
    'labels, which only a model configured as "classification" has; shadow still measures latency and drops',
});

describe("capabilitiesOf", () => {
  it("a plinth model supports everything", () => {
    expect(capabilitiesOf(plinthModel())).toEqual({
      predict: yes,
      predictImage: yes,
      explain: yes,
      drift: yes,
      shadowAgreement: yes,
    });
  });

  it("a plinth model whose input is not one image plane is not monitored for drift, and says why", () => {
    expect(capabilitiesOf(plinthModel(1568)).drift).toEqual({
      supported: false,
      reason:
        'model "fashion-classifier" version 7 takes 1568 values a row, not one 28x28 image plane: ' +
        "drift computes image features of one plane",
    });
  });

  it("a graph model configured as a tabular classification: /predict and shadow agreement", () => {
    const model = graphModel(TABULAR, { task: "classification", input: { features: ["a", "b", "c", "d"] } });
    expect(capabilitiesOf(model)).toEqual({
      predict: yes,
      predictImage: {
        supported: false,
        reason:
          '/predict-image is not available for model "iris" version 3: its model configuration has no image ' +
          "input (input.image); it serves /predict, /v2/models/iris/infer",
      },
      explain: {
        supported: false,
        reason: `${EXPLAIN_NEEDS_METADATA}it serves /predict, /v2/models/iris/infer`,
      },
      drift: { supported: false, reason: DRIFT_NEEDS_BASELINE },
      shadowAgreement: yes,
    });
  });

  it("a graph model configured as an image classification: /predict-image, not rows", () => {
    const model = graphModel(IMAGE, {
      task: "classification",
      output: { kind: "logits" },
      input: { image: { width: 8, height: 8, channels: 3 } },
    });
    const capabilities = capabilitiesOf(model);
    expect(capabilities.predictImage).toEqual(yes);
    expect(capabilities.predict).toEqual({
      supported: false,
      reason:
        '/predict is not available for model "iris" version 3: it takes no rows of values (its configured ' +
        "input is an image, or its input has dynamic dimensions); it serves /predict-image, /v2/models/iris/infer",
    });
    expect(capabilities.shadowAgreement).toEqual(yes);
  });

  it("a graph model configured as a regression: /predict, no shadow agreement", () => {
    const capabilities = capabilitiesOf(graphModel(TABULAR, { task: "regression" }));
    expect(capabilities.predict).toEqual(yes);
    expect(capabilities.shadowAgreement).toEqual(
      agreementNeedsLabels(
        'is configured with task "regression", whose answers are values, not predicted labels',
      ),
    );
    expect(capabilities.drift).toEqual({ supported: false, reason: DRIFT_NEEDS_BASELINE });
  });

  it.each<[string, Record<string, unknown> | undefined, string, string]>([
    [
      "raw",
      { task: "raw" },
      'its model configuration says task "raw"',
      'is configured with task "raw", whose answers are raw tensors, not predicted labels',
    ],
    [
      "unconfigured",
      undefined,
      "it has no model configuration (model-config.json beside model.onnx, or an MLflow MLmodel)",
      "has no model configuration, so its outputs carry no predicted label",
    ],
  ])("a %s graph model serves /v2 only", (_, config, why, agreement) => {
    const capabilities: ModelCapabilities = capabilitiesOf(graphModel(TABULAR, config));
    const v2Only = "; score it with its own tensors at /v2/models/iris/infer";
    expect(capabilities).toEqual({
      predict: {
        supported: false,
        reason: `/predict is not available for model "iris" version 3: ${why}${v2Only}`,
      },
      predictImage: {
        supported: false,
        reason: `/predict-image is not available for model "iris" version 3: ${why}${v2Only}`,
      },
      explain: {
        supported: false,
        reason: `${EXPLAIN_NEEDS_METADATA}score it with its own tensors at /v2/models/iris/infer`,
      },
      drift: { supported: false, reason: DRIFT_NEEDS_BASELINE },
      shadowAgreement: agreementNeedsLabels(agreement),
    });
  });
});

describe("explainableModel", () => {
  it("passes a plinth model through", () => {
    const model = plinthModel();
    expect(explainableModel(model)).toBe(model);
  });

  it("refuses a graph model with a 400 carrying the capability's reason", () => {
    const model = graphModel(TABULAR, { task: "classification" });
    let error: unknown;
    try {
      explainableModel(model);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).statusCode).toBe(400);
    expect((error as ApiError).message).toBe(capabilitiesOf(model).explain.reason);
  });
});

describe("/metadata capabilities", () => {
  let plinth: TestService;
  let graph: TestService;
  beforeAll(async () => {
    plinth = await startTestService();
    graph = await startTestService(
      {
        API_KEYS: `tester:${API_KEY},ops:${OPS_KEY}`,
        API_KEY_ROLES: "ops:admin",
        MODEL_NAME: "tabular",
      },
      "probabilities",
      async ({ registry }) => {
        const v1 = await registry.registerVersion("tabular", {
          "model.onnx": matmulModel([1, 0, 0, 1, 0, 0]),
        });
        await registry.setAlias("tabular", "champion", v1);
      },
    );
  }, 60_000);
  afterAll(async () => {
    await plinth?.close();
    await graph?.close();
  });

  it("says a plinth model supports everything", async () => {
    const res = await plinth.app.inject({ method: "GET", url: "/metadata", headers: KEY_HEADERS });
    expect(res.statusCode).toBe(200);
    expect(res.json().capabilities).toEqual({
      predict: yes,
      predictImage: yes,
      explain: yes,
      drift: yes,
      shadowAgreement: yes,
    });
  });

  it("says what an unconfigured graph model lacks, as the refusals and the ops summary do", async () => {
    const res = await graph.app.inject({ method: "GET", url: "/metadata", headers: KEY_HEADERS });
    expect(res.statusCode).toBe(200);
    const { capabilities } = res.json();
    expect(capabilities).toEqual(capabilitiesOf(graph.models.stable.current!));
    expect(capabilities.predict.supported).toBe(false);
    expect(capabilities.drift.reason).toBe(
      DRIFT_NEEDS_BASELINE.replace('"iris" version 3', '"tabular" version 1'),
    );

    const explain = await graph.app.inject({
      method: "POST",
      url: "/predict-image/explain",
      headers: { ...KEY_HEADERS, "content-type": "image/png" },
      payload: Buffer.from("not decoded: refused before"),
    });
    expect(explain.statusCode).toBe(400);
    expect(explain.json().error.message).toBe(capabilities.explain.reason);

    const summary = await graph.app.inject({ method: "GET", url: "/ops/summary", headers: OPS_HEADERS });
    expect(summary.json().drift.unsupported).toBe(capabilities.drift.reason);
    expect(summary.json().rollout.shadow.agreementUnsupported).toBe(capabilities.shadowAgreement.reason);
  });
});
