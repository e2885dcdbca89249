/**
 * encodeImage (service/serving/configured-io.ts): decoded RGB pixels -> the configured image input,
 * written straight into the typed array of the input's element type. Exact values for a small BGR
 * image with per-channel mean and std, channels last and first, in FP32, FP64 and FP16.
 */
import { describe, expect, it } from "vitest";
import { parseModelConfig } from "../../../service/model/model-config.js";
import { bindModelConfig, encodeImage } from "../../../service/serving/configured-io.js";
import type { V2Datatype } from "../../../service/serving/datatypes.js";
import { fromHalfBits, toHalfBits } from "../../../service/serving/float16.js";

const SOURCE = "/models/m/1/model-config.json";

/** Two pixels wide, one high: RGB (100, 50, 10) then (0, 255, 128). */
const PIXELS = Uint8Array.from([100, 50, 10, 0, 255, 128]);

/**
 * BGR per pixel: (10, 50, 100) and (128, 255, 0); x' = (x * 0.5 - mean[c]) / std[c] with
 * mean (5, 10, 15) and std (1, 2, 4): (0, 7.5, 8.75) and (59, 58.75, -3.75).
 */
const NHWC = [0, 7.5, 8.75, 59, 58.75, -3.75];
const NCHW = [0, 59, 7.5, 58.75, 8.75, -3.75];

function bound(datatype: V2Datatype, layout: "NHWC" | "NCHW", normalisation: object = {}) {
  const image = {
    width: 2,
    height: 1,
    channels: 3,
    colorOrder: "BGR",
    layout,
    scale: 0.5,
    mean: [5, 10, 15],
    std: [1, 2, 4],
    ...normalisation,
  };
  const config = parseModelConfig({ schemaVersion: 1, task: "classification", input: { image } }, SOURCE);
  const shape = layout === "NCHW" ? [-1, 3, 1, 2] : [-1, 1, 2, 3];
  return bindModelConfig(
    config,
    {
      inputs: [{ name: "image", datatype, shape }],
      outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, 2] }],
    },
    SOURCE,
  );
}

describe("encodeImage", () => {
  it.each([
    ["NHWC", NHWC],
    ["NCHW", NCHW],
  ] as const)("FP32 %s: a Float32Array of the exact values, shape [1, ...]", (layout, expected) => {
    const tensor = encodeImage(bound("FP32", layout), "m", PIXELS, false).feeds.image!;
    expect(tensor.type).toBe("float32");
    expect(tensor.data).toBeInstanceOf(Float32Array);
    expect(Array.from(tensor.data as Float32Array)).toEqual(expected);
    expect(tensor.dims).toEqual(layout === "NCHW" ? [1, 3, 1, 2] : [1, 1, 2, 3]);
  });

  it("FP64: a Float64Array, computed in double precision", () => {
    const tensor = encodeImage(bound("FP64", "NCHW"), "m", PIXELS, false).feeds.image!;
    expect(tensor.type).toBe("float64");
    expect(tensor.data).toBeInstanceOf(Float64Array);
    expect(Array.from(tensor.data as Float64Array)).toEqual(NCHW);
    // A value float32 cannot hold keeps its double: the first blue byte at scale 1/3.
    const third = bound("FP64", "NCHW", { scale: 1 / 3, mean: [0], std: [1] });
    const value = (encodeImage(third, "m", PIXELS, false).feeds.image!.data as Float64Array)[0]!;
    expect(value).toBe((10 * (1 / 3) - 0) / 1);
    expect(value).not.toBe(Math.fround(value));
  });

  it("FP16: half-precision bit patterns (Uint16Array), as ONNX Runtime holds them", () => {
    const tensor = encodeImage(bound("FP16", "NHWC"), "m", PIXELS, false).feeds.image!;
    expect(tensor.type).toBe("float16");
    expect(tensor.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(tensor.data as Uint16Array)).toEqual(NHWC.map(toHalfBits));
    // Every expected value is exact in half precision.
    expect(Array.from(tensor.data as Uint16Array, fromHalfBits)).toEqual(NHWC);
  });

  it("inverts the pixels first when asked", () => {
    const white = Uint8Array.from([255, 255, 255, 255, 255, 255]);
    const tensor = encodeImage(bound("FP32", "NHWC"), "m", white, true).feeds.image!;
    // Inverted white is 0: (0 - mean[c]) / std[c] for each BGR channel.
    expect(Array.from(tensor.data as Float32Array)).toEqual([-5, -5, -3.75, -5, -5, -3.75]);
  });

  it("refuses pixels that are not the configured image's size, instead of encoding NaN", () => {
    expect(() => encodeImage(bound("FP32", "NHWC"), "m", PIXELS.subarray(0, 5), false)).toThrow(
      'model "m": 5 decoded bytes for a 2x1x3 image input',
    );
  });
});
