/** The serving contract read from a session's metadata, and the graphs it refuses. */
import { describe, expect, it } from "vitest";
import { contractDifference, readContract } from "../../../service/serving/contract.js";
import { fromHalfBits, toHalfBits } from "../../../service/serving/float16.js";

const session = (outputs: unknown[]) =>
  ({
    inputMetadata: [{ name: "input", isTensor: true, type: "float32", shape: ["", 4] }],
    outputMetadata: outputs,
  }) as unknown as Parameters<typeof readContract>[0];

describe("readContract", () => {
  it("maps element types to protocol datatypes and symbolic dimensions to -1", () => {
    const contract = readContract(
      session([
        { name: "label", isTensor: true, type: "string", shape: ["N"] },
        { name: "probabilities", isTensor: true, type: "float16", shape: ["N", 3] },
      ]),
      "m.onnx",
    );
    expect(contract).toEqual({
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
      outputs: [
        { name: "label", datatype: "BYTES", shape: [-1] },
        { name: "probabilities", datatype: "FP16", shape: [-1, 3] },
      ],
    });
  });

  it("refuses a sequence-of-maps output (skl2onnx's ZipMap), naming the converter option", () => {
    expect(() =>
      readContract(
        session([
          { name: "output_label", isTensor: true, type: "int64", shape: [""] },
          { name: "output_probability", isTensor: false },
        ]),
        "m.onnx",
      ),
    ).toThrow(/^m\.onnx: output "output_probability" is not a tensor .*ZipMap.*zipmap=False/);
  });

  it("refuses an element type the protocol has no datatype for", () => {
    expect(() =>
      readContract(session([{ name: "packed", isTensor: true, type: "int4", shape: [2] }]), "m.onnx"),
    ).toThrow('m.onnx: output "packed" has element type int4, which is not served');
  });

  it("tells two contracts apart by tensor name, datatype and shape", () => {
    const a = readContract(session([{ name: "y", isTensor: true, type: "float32", shape: ["N", 3] }]), "a");
    const b = readContract(session([{ name: "y", isTensor: true, type: "float64", shape: ["N", 3] }]), "b");
    expect(contractDifference(a, a)).toBeUndefined();
    expect(contractDifference(a, b)).toBe("outputs y:FP32[-1,3] vs y:FP64[-1,3]");
  });
});

describe("half precision", () => {
  it.each([0, 0.5, -2.25, 65504, 2 ** -10, 2 ** -24, -0.0009765625])("round-trips %s exactly", (value) => {
    expect(fromHalfBits(toHalfBits(value))).toBe(value);
  });

  it("rounds to the nearest half, ties to even, and overflows to infinity", () => {
    expect(fromHalfBits(toHalfBits(1 + 2 ** -11))).toBe(1);
    expect(fromHalfBits(toHalfBits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(fromHalfBits(toHalfBits(70000))).toBe(Infinity);
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
  });
});
