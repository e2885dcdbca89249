import { describe, expect, it } from "vitest";
import { sharedRate } from "../../bench/oip-phase.js";
import { INFERENCE_HEADER_LENGTH, oipRequest, oipTensorRequest } from "../../bench/oip-request.js";
import { oipRun } from "./fixtures.js";

const pixels = Array.from({ length: 784 }, (_, i) => (i * 37) % 256);

describe("the v2 infer requests of the OIP comparison", () => {
  it("puts the rows' raw pixels in the JSON body's data, FP32 [rows,1,28,28]", () => {
    const { body, headers } = oipRequest("json", "input", pixels, 2);
    const input = (JSON.parse(body.toString()) as { inputs: Record<string, unknown>[] }).inputs[0]!;
    expect(headers).toEqual({ "content-type": "application/json" });
    expect([input.name, input.shape, input.datatype]).toEqual(["input", [2, 1, 28, 28], "FP32"]);
    expect(input.data).toEqual([...pixels, ...pixels]);
  });

  it("sends the same tensor as binary tensor data: JSON header, then little-endian FP32", () => {
    const { body, headers } = oipRequest("binary", "input", pixels, 2);
    const headerLength = Number(headers[INFERENCE_HEADER_LENGTH]);
    expect(headers["content-type"]).toBe("application/octet-stream");
    const header = JSON.parse(body.subarray(0, headerLength).toString()) as {
      inputs: Record<string, unknown>[];
    };
    expect(header.inputs).toEqual([
      {
        name: "input",
        shape: [2, 1, 28, 28],
        datatype: "FP32",
        parameters: { binary_data_size: 2 * 784 * 4 },
      },
    ]);
    const tail = body.subarray(headerLength);
    expect(tail.length).toBe(2 * 784 * 4);
    const values = Array.from({ length: 2 * 784 }, (_, i) => tail.readFloatLE(i * 4));
    expect(values).toEqual([...pixels, ...pixels]);
    expect(oipTensorRequest("binary", "input", [...pixels, ...pixels], 2).body.equals(body)).toBe(true);
    expect(() => oipTensorRequest("json", "input", pixels, 2)).toThrow("784 pixels for 2 28x28 rows");
  });
});

describe("the shared fixed rate of a body", () => {
  it("is a share of the slowest saturation among the servers measured with that body", () => {
    const { servers } = oipRun();
    expect(sharedRate(servers, "json", 0.5)).toBe(600); // KServe's 1,200
    // MLServer refused the binary body: the slowest that took it is KServe's 1,000.
    expect(sharedRate(servers, "binary", 0.5)).toBe(500);
    expect(sharedRate({}, "json", 0.5)).toBeUndefined();
  });
});
