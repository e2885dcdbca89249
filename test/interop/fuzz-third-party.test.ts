/**
 * API fuzzing of a third-party model with no plinth metadata: the scikit-learn iris classifier
 * (skl2onnx) with the model-config.json its team wrote (feature names, labels), made at test time
 * (test/support/iris-versions.ts), served by the real process; the checks, seed and phases of the
 * bundled model's suite (test/support/schemathesis.ts), with fewer examples per operation.
 *
 * The served document's request examples are the bundled model's (784 pixels, a `[1, 784]` UINT8
 * tensor) whatever model is served, so schemathesis' examples and the coverage phase built on them
 * would never reach this model's scoring. schemathesis therefore reads the served document with
 * the request examples of /predict and /v2 inference replaced by reference rows of this model, and
 * nothing else changed (asserted below).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { instanceOf, IRIS_MODEL, makeIrisVersions, type IrisVersions } from "../support/iris-versions.js";
import { describeFuzzing, type OpenApiDocument } from "../support/schemathesis.js";

let workDir: string;
let iris: IrisVersions;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), "plinth-fuzz-iris-"));
  iris = await makeIrisVersions(workDir);
}, 240_000);

afterAll(async () => {
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

const INFER_PATHS = ["/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"];

/** The JSON request body's content entry of a POST operation. */
function jsonBody(document: OpenApiDocument, route: string): Record<string, unknown> {
  const post = document.paths[route]!.post as { requestBody: { content: Record<string, object> } };
  return post.requestBody.content["application/json"] as Record<string, unknown>;
}

/** The served document with request examples of the iris model: two reference rows. */
function irisExamples(document: OpenApiDocument): OpenApiDocument {
  const [first, second] = [iris.rows[0]!, iris.rows[12]!];
  jsonBody(document, "/predict").examples = {
    instances: { value: { instances: [instanceOf(first)] } },
    rows: { value: { inputs: [first, second] } },
  };
  const tensor = { name: iris.tensor.name, shape: [2, 4], datatype: "FP32", data: [...first, ...second] };
  for (const route of INFER_PATHS) jsonBody(document, route).example = { inputs: [tensor] };
  return document;
}

const fuzzed = describeFuzzing(`schemathesis against ${IRIS_MODEL} (no plinth metadata)`, {
  env: () => ({ PLINTH_REGISTRY_DIR: iris.registryDir, MODEL_NAME: IRIS_MODEL }),
  // Per operation and phase: about 950 requests, a third of the bundled model's run time.
  maxExamples: 25,
  minRequests: 800,
  answered: [/\/predict$/, new RegExp(`/v2/models/${IRIS_MODEL}/infer$`), /\/metadata$/],
  document: irisExamples,
});

describe("the document schemathesis reads", () => {
  it("is the served one but for the request examples of /predict and /v2 inference", () => {
    const { served, read } = fuzzed();
    const withoutExamples = (document: OpenApiDocument) =>
      JSON.stringify(document, (key, value: unknown) =>
        key === "example" || key === "examples" ? undefined : value,
      );
    expect(withoutExamples(read)).toBe(withoutExamples(served));
    expect(read).not.toEqual(served);
    for (const route of INFER_PATHS) expect(jsonBody(served, route)).toHaveProperty("example");
  });
});
