/**
 * MLmodel -> model configuration (service/registry/mlflow-model-file.ts), on MLmodel files the
 * pinned mlflow (3.17.2, .tools/mlflow-venv) wrote with `mlflow.onnx.log_model` /
 * `mlflow.sklearn.log_model` (fixtures/mlmodel/, made by test/support/mlflow-onnx-models.py;
 * test/interop/mlflow-onnx-flavor.test.ts checks the first against what that mlflow writes today),
 * and on malformed ones derived from them.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ModelConfigError } from "../../../service/model/model-config.js";
import { modelConfigFromMlmodel, onnxModelFileOf } from "../../../service/registry/mlflow-model-file.js";

const fixture = (name: string) =>
  readFileSync(path.join(import.meta.dirname, "fixtures", "mlmodel", `${name}.MLmodel`), "utf8");

const COLUMNS = fixture("column-signature-plinth-metadata");
const TENSORS = fixture("tensor-signature");
const BARE = fixture("no-signature");
const SKLEARN = fixture("sklearn-flavor");
const IRIS_FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"];

/** The column-signature fixture with its `metadata:` block replaced (or removed with ""). */
function withMetadata(block: string): string {
  const replaced = COLUMNS.replace(/^metadata:\n(?: {2}.*\n)+/m, block);
  expect(replaced).not.toBe(COLUMNS);
  return replaced;
}

function thrown(run: () => unknown): ModelConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelConfigError);
    return err as ModelConfigError;
  }
  throw new Error("expected a ModelConfigError");
}

describe("modelConfigFromMlmodel on what mlflow.onnx.log_model writes", () => {
  it("a column-based signature and metadata.plinth: the features in column order, task and labels", () => {
    expect(modelConfigFromMlmodel(COLUMNS, "MLmodel")).toEqual({
      schemaVersion: 1,
      task: "classification",
      labels: ["setosa", "versicolor", "virginica"],
      input: { features: IRIS_FEATURES },
      output: { kind: "probabilities" },
    });
  });

  it("a column-based signature without metadata.plinth: a raw configuration naming the features", () => {
    expect(modelConfigFromMlmodel(withMetadata(""), "MLmodel")).toEqual({
      schemaVersion: 1,
      task: "raw",
      input: { features: IRIS_FEATURES },
      output: { kind: "probabilities" },
    });
  });

  it("a tensor-based signature or none, and no metadata.plinth: nothing usable (undefined)", () => {
    expect(modelConfigFromMlmodel(TENSORS, "MLmodel")).toBeUndefined();
    expect(modelConfigFromMlmodel(BARE, "MLmodel")).toBeUndefined();
  });

  it("a tensor-based signature with metadata.plinth: the configuration as given (the graph has the tensors)", () => {
    const text = TENSORS.replace(
      /^mlflow_version:/m,
      "metadata:\n  plinth:\n    task: regression\n    input:\n      name: input\n    output:\n      name: probabilities\nmlflow_version:",
    );
    expect(modelConfigFromMlmodel(text, "MLmodel")).toEqual({
      schemaVersion: 1,
      task: "regression",
      input: { name: "input" },
      output: { name: "probabilities", kind: "probabilities" },
    });
  });

  it("metadata.plinth may repeat the signature's features when they agree, and may set schemaVersion", () => {
    const features = IRIS_FEATURES.map((f) => `      - ${f}`).join("\n");
    const text = withMetadata(
      `metadata:\n  plinth:\n    schemaVersion: 1\n    task: classification\n    input:\n      features:\n${features}\n`,
    );
    expect(modelConfigFromMlmodel(text, "MLmodel")?.input.features).toEqual(IRIS_FEATURES);
  });
});

describe("modelConfigFromMlmodel refuses, naming the file and the field", () => {
  it("an MLmodel without an onnx flavor (plinth serves ONNX), naming the flavors it has", () => {
    expect(thrown(() => modelConfigFromMlmodel(SKLEARN, "models/iris/MLmodel")).message).toBe(
      'models/iris/MLmodel: the model has no "onnx" flavor (flavors: python_function, sklearn); plinth serves ONNX models: convert the model to ONNX and log it with mlflow.onnx.log_model',
    );
  });

  it.each([
    ["text that is not YAML", "flavors: [onnx\n", /^f: not valid YAML: /],
    ["a YAML list", "- onnx\n", /^f: not an MLmodel file \(expected a YAML mapping\)$/],
    ["no flavors", "mlflow_version: 3.17.2\n", /^f: flavors is missing or not a mapping$/],
    [
      "an onnx flavor that is not a mapping",
      "flavors:\n  onnx: model.onnx\n",
      /^f: flavors\.onnx is not a mapping$/,
    ],
  ])("%s", (_what, text, message) => {
    expect(thrown(() => modelConfigFromMlmodel(text, "f")).message).toMatch(message);
  });

  it("signature inputs that are not JSON, not a list, or not specs", () => {
    const inputs = (json: string) =>
      COLUMNS.replace(/^ {2}inputs: '(?:.*\n)+? {2}outputs:/m, `  inputs: '${json}'\n  outputs:`);
    expect(thrown(() => modelConfigFromMlmodel(inputs("[{"), "f")).message).toMatch(
      /^f: signature\.inputs is not valid JSON: /,
    );
    expect(thrown(() => modelConfigFromMlmodel(inputs('{"type": "double"}'), "f")).message).toBe(
      "f: signature.inputs is not a list",
    );
    expect(thrown(() => modelConfigFromMlmodel(inputs('[{"name": "a"}]'), "f")).message).toBe(
      'f: signature.inputs[0] is not a column or tensor spec (no "type")',
    );
    expect(
      thrown(() => modelConfigFromMlmodel(inputs('[{"type": "double", "name": ""}]'), "f")).message,
    ).toBe("f: signature.inputs[0].name is not a non-empty string");
    expect(
      thrown(() =>
        modelConfigFromMlmodel(
          inputs('[{"type": "double", "name": "a"}, {"type": "tensor", "tensor-spec": {}}]'),
          "f",
        ),
      ).message,
    ).toBe("f: signature.inputs mixes column and tensor specs");
    expect(
      thrown(() =>
        modelConfigFromMlmodel(inputs('[{"type": "double", "name": "a"}, {"type": "double"}]'), "f"),
      ).message,
    ).toBe("f: signature.inputs names some columns but not all");
    // Unnamed columns (a DataFrame without column names): no features to take.
    expect(
      modelConfigFromMlmodel(
        withMetadata("").replace(
          /^ {2}inputs: '(?:.*\n)+? {2}outputs:/m,
          `  inputs: '[{"type": "double"}]'\n  outputs:`,
        ),
        "f",
      ),
    ).toBeUndefined();
  });

  it("metadata.plinth that is not a valid model configuration, naming the field", () => {
    const bad = withMetadata("metadata:\n  plinth:\n    task: clustering\n    labels: [a]\n");
    expect(thrown(() => modelConfigFromMlmodel(bad, "f")).message).toMatch(
      /^f \(metadata\.plinth\): invalid model configuration: task: .*; labels: /,
    );
    expect(
      thrown(() => modelConfigFromMlmodel(withMetadata("metadata:\n  plinth: classification\n"), "f"))
        .message,
    ).toBe("f: metadata.plinth is not a mapping (a model configuration)");
    expect(thrown(() => modelConfigFromMlmodel(withMetadata("metadata: [plinth]\n"), "f")).message).toBe(
      "f: metadata is not a mapping",
    );
  });

  it("metadata.plinth features that differ from the signature's columns", () => {
    const text = withMetadata(
      "metadata:\n  plinth:\n    task: raw\n    input:\n      features: [a, b, c, d]\n",
    );
    expect(thrown(() => modelConfigFromMlmodel(text, "f")).message).toBe(
      `f: metadata.plinth.input.features ["a","b","c","d"] differ from the signature's columns ${JSON.stringify(IRIS_FEATURES)}; leave them out (the signature names them) or make them agree`,
    );
  });
});

describe("onnxModelFileOf: the ONNX file an MLmodel names", () => {
  it("is flavors.onnx.data (model.onnx as mlflow 3.17 writes it)", () => {
    expect(onnxModelFileOf(COLUMNS, "MLmodel")).toBe("model.onnx");
    expect(
      onnxModelFileOf(COLUMNS.replace(/^ {4}data: model\.onnx$/m, "    data: data/iris.onnx"), "f"),
    ).toBe("data/iris.onnx");
  });

  it.each(["../model.onnx", "/etc/passwd", "data//model.onnx", "./model.onnx"])(
    "refuses %s: not a relative path inside the model's folder",
    (data) => {
      const text = COLUMNS.replace(/^ {4}data: model\.onnx$/m, `    data: ${data}`);
      expect(thrown(() => onnxModelFileOf(text, "f")).message).toBe(
        `f: flavors.onnx.data ${JSON.stringify(data)} is not a relative path inside the model's folder`,
      );
    },
  );

  it("refuses a missing data entry and a model of another flavor", () => {
    expect(thrown(() => onnxModelFileOf(COLUMNS.replace(/^ {4}data: model\.onnx\n/m, ""), "f")).message).toBe(
      "f: flavors.onnx.data is missing or not a path",
    );
    expect(thrown(() => onnxModelFileOf(SKLEARN, "f")).message).toContain('the model has no "onnx" flavor');
  });
});
