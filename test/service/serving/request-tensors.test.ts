/**
 * A request checked against a graph's contract before anything runs: names, datatypes, shapes
 * with dynamic dimensions, data lengths, element values, output selection; each refusal a 400
 * naming the tensor.
 */
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../service/errors/api-error.js";
import type { ModelContract } from "../../../service/serving/contract.js";
import { checkRequest, type RequestTensor } from "../../../service/serving/request-tensors.js";

const CONTRACT: ModelContract = {
  inputs: [
    { name: "region", datatype: "BYTES", shape: [-1, 1] },
    { name: "counts", datatype: "INT8", shape: [-1, 2] },
    { name: "weights", datatype: "FP16", shape: [-1, -1] },
  ],
  outputs: [
    { name: "label", datatype: "INT64", shape: [-1] },
    { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
  ],
};

const GOOD: RequestTensor[] = [
  { name: "region", datatype: "BYTES", shape: [2, 1], data: ["north", "été"] },
  {
    name: "counts",
    datatype: "INT8",
    shape: [2, 2],
    data: [
      [-128, 127],
      [0, 1],
    ],
  },
  { name: "weights", datatype: "FP16", shape: [2, 3], data: [0.5, 1, 2, 65504, -0.25, 0] },
];

function refusal(inputs: RequestTensor[], outputs?: { name: string }[], maxRows = 64): ApiError {
  try {
    checkRequest(inputs, outputs, CONTRACT, maxRows);
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("the request was accepted");
}

const replaced = (index: number, tensor: Partial<RequestTensor>) =>
  GOOD.map((t, i) => (i === index ? { ...t, ...tensor } : t));

describe("checkRequest", () => {
  it("builds one ONNX Runtime tensor per input (nested data flattened) and counts the rows", () => {
    const checked = checkRequest(GOOD, undefined, CONTRACT, 64);
    expect(checked.rows).toBe(2);
    expect(checked.feeds.region!.data).toEqual(["north", "été"]);
    expect(checked.feeds.region!.dims).toEqual([2, 1]);
    expect(Array.from(checked.feeds.counts!.data as Int8Array)).toEqual([-128, 127, 0, 1]);
    expect(checked.feeds.weights!.type).toBe("float16");
    expect(checked.feeds.weights!.dims).toEqual([2, 3]);
    expect(checked.outputs.map((o) => o.name)).toEqual(["label", "probabilities"]);
  });

  it("selects the requested outputs in the requested order", () => {
    const checked = checkRequest(GOOD, [{ name: "probabilities" }], CONTRACT, 64);
    expect(checked.outputs.map((o) => o.name)).toEqual(["probabilities"]);
  });

  it.each<[string, () => ApiError, string, string]>([
    [
      "an unknown input",
      () => refusal([...GOOD, { name: "extra", datatype: "FP32", shape: [1], data: [1] }]),
      "INVALID_REQUEST",
      'unknown input "extra"; the model\'s inputs are region (BYTES [-1,1]), counts (INT8 [-1,2]), weights (FP16 [-1,-1])',
    ],
    [
      "a missing input",
      () => refusal(GOOD.slice(1)),
      "INVALID_REQUEST",
      "missing input region (BYTES [-1,1])",
    ],
    [
      "an input given twice",
      () => refusal([...GOOD, GOOD[0]!]),
      "INVALID_REQUEST",
      'input "region" is given twice',
    ],
    [
      "another datatype",
      () => refusal(replaced(1, { datatype: "INT16" })),
      "INVALID_REQUEST",
      `input "counts": datatype INT16, the model's is INT8`,
    ],
    [
      "a fixed dimension of another size",
      () => refusal(replaced(1, { shape: [1, 4] })),
      "INVALID_SHAPE",
      `input "counts": shape [1,4] does not fit the model's [-1,2] (-1 is any size)`,
    ],
    [
      "another rank",
      () => refusal(replaced(2, { shape: [6] })),
      "INVALID_SHAPE",
      `input "weights": shape [6] does not fit the model's [-1,-1] (-1 is any size)`,
    ],
    [
      "data shorter than the shape",
      () => refusal(replaced(2, { shape: [2, 4] })),
      "INVALID_SHAPE",
      `input "weights": shape [2,4] holds 8 values, data has 6`,
    ],
    [
      "an integer out of its type's range",
      () => refusal(replaced(1, { data: [0, 1, 2, 128] })),
      "INVALID_VALUE",
      `input "counts": data[3]: expected an integer in [-128, 127], got 128`,
    ],
    [
      "a number where a string belongs",
      () => refusal(replaced(0, { data: ["north", 3] })),
      "INVALID_VALUE",
      `input "region": data[1]: expected a string, got 3`,
    ],
    [
      "batched inputs with different numbers of rows",
      () => refusal(replaced(1, { shape: [1, 2], data: [1, 2] })),
      "INVALID_SHAPE",
      `input "counts": 1 rows, input "region" has 2; inputs whose first dimension is dynamic are one batch and need the same number of rows`,
    ],
    [
      "more rows than allowed",
      () => refusal(GOOD, undefined, 1),
      "BATCH_TOO_LARGE",
      `input "region": 2 rows, at most 1 per request`,
    ],
    [
      "an unknown output",
      () => refusal(GOOD, [{ name: "scores" }]),
      "INVALID_REQUEST",
      `unknown output "scores"; the model's outputs are label, probabilities`,
    ],
  ])("refuses %s with a 400 naming the tensor", (_case, refuse, code, message) => {
    const err = refuse();
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe(code);
    expect(err.message).toBe(message);
  });

  it("takes 64-bit integers as JSON numbers within +-2^53 or as bigints (binary tensors)", () => {
    const contract: ModelContract = {
      inputs: [{ name: "ids", datatype: "INT64", shape: [-1] }],
      outputs: [],
    };
    const ok = checkRequest(
      [{ name: "ids", datatype: "INT64", shape: [3], data: [2 ** 53 - 1, -(2 ** 53) + 1, 2n ** 62n] }],
      undefined,
      contract,
      64,
    );
    expect(Array.from(ok.feeds.ids!.data as BigInt64Array)).toEqual([
      2n ** 53n - 1n,
      -(2n ** 53n) + 1n,
      2n ** 62n,
    ]);
    expect(() =>
      checkRequest(
        [{ name: "ids", datatype: "INT64", shape: [1], data: [2 ** 60] }],
        undefined,
        contract,
        64,
      ),
    ).toThrow(/input "ids": data\[0\]: expected an integer in .*within \+-2\^53/);
  });
});
