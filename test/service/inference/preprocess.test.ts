/** Row encoding (service/inference/preprocess.ts): JSON rows and binary tensors, same checks, same values. */
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../service/errors/api-error.js";
import { encodeJsonRows, encodeTensorData } from "../../../service/inference/preprocess.js";

const spec = { inputSize: 4, normScale: 1 / 255, normShift: -0.5, pixelMin: 0, pixelMax: 255 };

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return (err as ApiError).message;
  }
  throw new Error("expected a refusal");
}

describe("encoding rows", () => {
  it("gives the same normalised values from a JSON row and from the binary tensors pixels arrive as (FP32, UINT8)", () => {
    const expected = Float32Array.from([0, 51, 204, 255], (v) => v / 255 - 0.5);
    expect(encodeJsonRows([0, 51, 204, 255], spec, 8).data).toEqual(expected);
    for (const typed of [Uint8Array, Float32Array])
      expect(encodeTensorData(typed.from([0, 51, 204, 255]), 4, spec, "x")).toEqual(expected);
  });

  it("refuses a binary value out of range or NaN, naming its index and value", () => {
    expect(refusal(() => encodeTensorData(Float32Array.from([0, 1, Number.NaN, 3]), 4, spec, "x"))).toBe(
      "x[2]: expected a number in [0, 255], got NaN",
    );
    expect(refusal(() => encodeTensorData(Float32Array.from([0, 300, 2, 3]), 4, spec, "x"))).toBe(
      "x[1]: expected a number in [0, 255], got 300",
    );
    expect(refusal(() => encodeTensorData(Float32Array.from([0, 1, 2, -1]), 4, spec, "x"))).toBe(
      "x[3]: expected a number in [0, 255], got -1",
    );
  });

  it("refuses a JSON value that is no number in range, in the row it is in", () => {
    expect(
      refusal(() =>
        encodeJsonRows(
          [
            [0, 1, 2, 3],
            [0, "1", 2, 3],
          ],
          spec,
          8,
        ),
      ),
    ).toBe('inputs[1][1]: expected a number in [0, 255], got "1"');
    expect(refusal(() => encodeJsonRows([0, 1, 2, 256], spec, 8))).toBe(
      "inputs[3]: expected a number in [0, 255], got 256",
    );
  });
});
