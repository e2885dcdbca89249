/** Rows carved out of shared slabs: each its own values, large requests apart. */
import { describe, expect, it } from "vitest";
import { allocRows, SLAB_BYTES } from "../../../service/inference/row-slab.js";

describe("allocRows", () => {
  it("hands out rows that never share a value, across slabs", () => {
    const rows = Array.from({ length: 50 }, (_, i) => allocRows(784).fill(i));
    rows.forEach((row, i) => {
      expect(row.length).toBe(784);
      expect(row.every((v) => v === i)).toBe(true);
    });
  });

  it("gives a request larger than a quarter slab an array of its own", () => {
    const big = allocRows(SLAB_BYTES / 4 / 4 + 1);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(big.byteLength);
  });
});
