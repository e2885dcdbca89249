import path from "node:path";
import { describe, expect, it } from "vitest";
import { artifactProxyPath } from "../../../service/mlflow/artifact-uri.js";
import { loadConfig } from "../../../service/config.js";
import {
  formatModelReference,
  modelReferenceProblem,
  parseModelReference,
} from "../../../service/registry/model-uri.js";

describe("parseModelReference", () => {
  it.each([
    ["models:/fashion-classifier@champion", { kind: "alias", name: "fashion-classifier", alias: "champion" }],
    ["models:/fashion-classifier/12", { kind: "version", name: "fashion-classifier", version: "12" }],
    ["challenger", { kind: "alias", name: "default-model", alias: "challenger" }],
    ["3", { kind: "version", name: "default-model", version: "3" }],
    ["file:/srv/models/fashion-classifier/4", { kind: "file", dir: "/srv/models/fashion-classifier/4" }],
    ["file:///srv/out/train", { kind: "file", dir: "/srv/out/train" }],
    ["file:out/train", { kind: "file", dir: path.resolve("out/train") }],
  ])("parses %s", (text, expected) => {
    expect(parseModelReference(text, "default-model")).toEqual(expected);
  });

  it.each([
    ["models:/fashion-classifier", "not models:/<name>@<alias> or models:/<name>/<version>"],
    ["models:/fashion-classifier/0", "not models:/<name>@<alias> or models:/<name>/<version>"],
    ["models:/../etc@champion", "not models:/<name>@<alias> or models:/<name>/<version>"],
    ["models:/m@", "not models:/<name>@<alias> or models:/<name>/<version>"],
    ["../etc", "not an alias, a version number or a URI"],
    ["s3://bucket/model", "not an alias, a version number or a URI"],
    ["file:", "no folder after file:"],
  ])("refuses %s with INVALID_REFERENCE", (text, why) => {
    expect(() => parseModelReference(text, "m")).toThrow(
      `invalid model reference ${JSON.stringify(text)}: ${why} (expected models:/<name>@<alias>, models:/<name>/<version>, file:<dir>, or a bare alias or version)`,
    );
    expect(modelReferenceProblem(text)).toMatch(new RegExp(`^${why.replace(/[/<>.()]/g, "\\$&")}`));
  });

  it("formats references back to URIs", () => {
    expect(formatModelReference(parseModelReference("champion", "m"))).toBe("models:/m@champion");
    expect(formatModelReference(parseModelReference("7", "m"))).toBe("models:/m/7");
    expect(formatModelReference(parseModelReference("file:/a/b", "m"))).toBe("file:/a/b");
  });

  it("is what MODEL_STABLE and MODEL_CANDIDATE accept", () => {
    const config = loadConfig({
      MODEL_STABLE: "models:/fashion-classifier@champion",
      MODEL_CANDIDATE: "models:/fashion-classifier/4",
      ROLLOUT_STRATEGY: "canary",
      CANDIDATE_WEIGHT: "10",
      MLFLOW_TRACKING_URI: "http://mlflow:5000",
    });
    expect(config.model.stable).toBe("models:/fashion-classifier@champion");
    expect(config.model.candidate).toBe("models:/fashion-classifier/4");
    expect(config.model.mlflowTrackingUri).toBe("http://mlflow:5000");
    expect(() => loadConfig({ MODEL_STABLE: "models:/x" })).toThrow(
      'MODEL_STABLE="models:/x": not models:/<name>@<alias> or models:/<name>/<version>',
    );
    expect(() => loadConfig({ MLFLOW_TRACKING_URI: "mlflow:5000" })).toThrow(
      `MLFLOW_TRACKING_URI="mlflow:5000": expected the MLflow tracking server's http(s):// URL`,
    );
  });
});

describe("artifactProxyPath", () => {
  it("maps mlflow-artifacts URIs, with or without a host, to percent-encoded proxy paths", () => {
    expect(artifactProxyPath("mlflow-artifacts:/1/abc/artifacts/model", "model.onnx")).toBe(
      "1/abc/artifacts/model/model.onnx",
    );
    expect(artifactProxyPath("mlflow-artifacts://mlflow:5000/1/abc/artifacts", "a b/c#d.json")).toBe(
      "1/abc/artifacts/a%20b/c%23d.json",
    );
  });

  it("refuses URIs the proxy does not serve and dot segments", () => {
    expect(() => artifactProxyPath("s3://bucket/1/abc", "model.onnx")).toThrow(
      'artifact URI "s3://bucket/1/abc" is not served by the tracking server\'s artifact proxy (expected mlflow-artifacts:/...; start MLflow with --serve-artifacts)',
    );
    expect(() => artifactProxyPath("mlflow-artifacts:/1/abc", "../../etc/passwd")).toThrow(
      '../../etc/passwd: "." and ".." are not allowed in artifact paths',
    );
  });
});
