import { describe, expect, it } from "vitest";
import { buildArchitecture, describeArchitecture } from "../../../service/model/network.js";
import {
  architectureLayers,
  ARCHITECTURES,
  isArchitectureName,
} from "../../../service/train/architectures.js";

const built = (name: keyof typeof ARCHITECTURES) =>
  buildArchitecture({ c: 1, h: 28, w: 28 }, architectureLayers(name, 10));

describe("the named architectures", () => {
  it("builds the default CNN the bundled model was trained with", () => {
    const arch = built("cnn");
    expect(describeArchitecture(arch)).toBe(
      "conv(1→12,3x3,pad1)-relu-maxpool(2x2)-conv(12→24,3x3,pad1)-relu-maxpool(2x2)-flatten-dense(1176→64)-relu-dense(64→10)",
    );
    expect(arch.paramCount).toBe(78_714);
  });

  it("builds cnn-small with two thirds of the channels and two thirds of the parameters", () => {
    const arch = built("cnn-small");
    expect(describeArchitecture(arch)).toBe(
      "conv(1→8,3x3,pad1)-relu-maxpool(2x2)-conv(8→16,3x3,pad1)-relu-maxpool(2x2)-flatten-dense(784→64)-relu-dense(64→10)",
    );
    expect(arch.paramCount).toBe(52_138);
  });

  it("knows each name it lists and no other", () => {
    expect(Object.keys(ARCHITECTURES)).toEqual(["cnn", "cnn-small", "mlp"]);
    expect(isArchitectureName("cnn-small")).toBe(true);
    expect(isArchitectureName("toString")).toBe(false);
  });
});
