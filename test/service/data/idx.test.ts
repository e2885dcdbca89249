import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { parseIdx, readIdxFile } from "../../../service/data/idx.js";

/** An IDX file of unsigned bytes with the given dims and data. */
function idx(dims: number[], data: number[], magicType = 0x08): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  header[2] = magicType;
  header[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  return new Uint8Array([...header, ...data]);
}

const dir = mkdtempSync(path.join(os.tmpdir(), "plinth-idx-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("parseIdx", () => {
  it("reads dims (big-endian) and data", () => {
    const parsed = parseIdx(idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]), "x.idx");
    expect(parsed.dims).toEqual([2, 2, 3]);
    expect([...parsed.data]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
  });

  it("refuses a wrong magic number with the number found", () => {
    const bytes = idx([1], [7]);
    bytes[2] = 0x0d; // float data
    expect(() => parseIdx(bytes, "labels.idx")).toThrow(
      "labels.idx: wrong IDX magic number 0x00000d01: expected 0x000008NN (unsigned bytes, NN dimensions)",
    );
    expect(() => parseIdx(new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0]), "x")).toThrow(
      /wrong IDX magic number 0x1f8b0800/,
    );
  });

  it("refuses an IDX file with other dimensions than expected", () => {
    expect(() => parseIdx(idx([2], [1, 2]), "images.idx", 3)).toThrow(
      "images.idx: wrong IDX magic number 0x00000801: expected 3 dimensions, found 1",
    );
  });

  it("refuses truncated files, naming what is missing", () => {
    expect(() => parseIdx(new Uint8Array([0, 0]), "a")).toThrow("a: truncated IDX file: 2 bytes, no header");
    expect(() => parseIdx(idx([2, 2, 3], []).subarray(0, 10), "b")).toThrow(
      "b: truncated IDX file: header needs 16 bytes, file has 10",
    );
    expect(() => parseIdx(idx([2, 2, 3], [1, 2, 3]), "c")).toThrow(
      "c: truncated IDX file: dims [2, 2, 3] need 12 data bytes, file has 3",
    );
  });

  it("refuses trailing bytes", () => {
    expect(() => parseIdx(idx([2], [1, 2, 3]), "d")).toThrow(
      "d: IDX file has 1 trailing bytes after dims [2]",
    );
  });
});

describe("readIdxFile", () => {
  it("reads raw and gzipped files alike", async () => {
    const bytes = idx([3], [9, 8, 7]);
    writeFileSync(path.join(dir, "raw"), bytes);
    writeFileSync(path.join(dir, "packed.gz"), gzipSync(bytes));
    expect([...(await readIdxFile(path.join(dir, "raw"), 1)).data]).toEqual([9, 8, 7]);
    expect([...(await readIdxFile(path.join(dir, "packed.gz"), 1)).data]).toEqual([9, 8, 7]);
  });

  it("reports a truncated gzip stream with the file name", async () => {
    const gz = gzipSync(idx([100], new Array(100).fill(1)));
    const file = path.join(dir, "cut.gz");
    writeFileSync(file, gz.subarray(0, gz.length - 12));
    await expect(readIdxFile(file, 1)).rejects.toThrow(`${file}: truncated or corrupt gzip data`);
  });
});
