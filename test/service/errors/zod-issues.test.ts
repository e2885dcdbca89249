/**
 * The one formatter of zod issues (service/errors/zod-issues.ts) and the files that use it: the
 * model configuration, plinth's model metadata and the drift baseline name the path of every bad
 * field, `(root)` for the value itself, all issues in one message.
 */
import { z } from "zod";
import { describe, expect, it } from "vitest";
import { parseBaseline } from "../../../service/drift/baseline.js";
import { formatZodIssues, issuePath } from "../../../service/errors/zod-issues.js";
import { parseModelMetadata } from "../../../service/model/metadata.js";
import { parseModelConfig } from "../../../service/model/model-config.js";

describe("formatZodIssues", () => {
  it("names each issue's path, array indices included, and joins them", () => {
    const schema = z.object({ a: z.object({ b: z.array(z.number()) }), c: z.string() });
    const parsed = schema.safeParse({ a: { b: [1, "x"] }, c: 3 });
    expect(parsed.success).toBe(false);
    expect(formatZodIssues(parsed.error!)).toBe(
      "a.b.1: Invalid input: expected number, received string; c: Invalid input: expected string, received number",
    );
  });

  it("says (root) for the value itself, and names a symbol key", () => {
    expect(formatZodIssues(z.object({}).safeParse(7).error!)).toBe(
      "(root): Invalid input: expected object, received number",
    );
    expect(issuePath([Symbol("key"), 0])).toBe("Symbol(key).0");
  });
});

describe("the files that report zod issues", () => {
  it("the model configuration: every bad field, from the root", () => {
    expect(() => parseModelConfig([], "c.json")).toThrow(
      "c.json: invalid model configuration: (root): Invalid input: expected object, received array",
    );
    expect(() => parseModelConfig({ schemaVersion: 1, task: "raw", labels: 3 }, "c.json")).toThrow(
      /^c\.json: invalid model configuration: labels: /,
    );
  });

  it("the model metadata", () => {
    expect(() => parseModelMetadata("null", "m.onnx")).toThrow(
      "m.onnx: invalid model metadata: (root): Invalid input: expected object, received null",
    );
  });

  it("the drift baseline", () => {
    expect(() => parseBaseline("[]", "b.json")).toThrow(
      "b.json: invalid baseline: (root): Invalid input: expected object, received array",
    );
  });
});
