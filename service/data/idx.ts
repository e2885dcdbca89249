/**
 * Reader for the IDX format of (Fashion-)MNIST: a 4-byte magic number (two zero bytes, a type code,
 * the number of dimensions), one big-endian uint32 per dimension, then the data. plinth reads the
 * unsigned-byte variant only (type code 0x08), gzipped or raw.
 */
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

/** Parses IDX bytes (gunzipped already); `source` names the file in errors. */
export function parseIdx(bytes: Uint8Array, source: string, expectedDims?: number): IdxArray {
  if (bytes.length < 4) throw new Error(`${source}: truncated IDX file: ${bytes.length} bytes, no header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const ndims = bytes[3] as number;
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== UBYTE || ndims === 0) {
    throw new Error(
      `${source}: wrong IDX magic number 0x${magic.toString(16).padStart(8, "0")}: expected 0x000008NN (unsigned bytes, NN dimensions)`,
    );
  }
  if (expectedDims !== undefined && ndims !== expectedDims) {
    throw new Error(
      `${source}: wrong IDX magic number 0x${magic.toString(16).padStart(8, "0")}: expected ${expectedDims} dimensions, found ${ndims}`,
    );
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes)
    throw new Error(
      `${source}: truncated IDX file: header needs ${headerBytes} bytes, file has ${bytes.length}`,
    );
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d));
  const count = dims.reduce((a, b) => a * b, 1);
  const available = bytes.length - headerBytes;
  if (available < count) {
    throw new Error(
      `${source}: truncated IDX file: dims [${dims.join(", ")}] need ${count} data bytes, file has ${available}`,
    );
  }
  if (available > count) {
    throw new Error(
      `${source}: IDX file has ${available - count} trailing bytes after dims [${dims.join(", ")}]`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes, headerBytes + count) };
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads an IDX file, gunzipping it when it starts with the gzip magic bytes. */
export async function readIdxFile(file: string, expectedDims?: number): Promise<IdxArray> {
  const raw = new Uint8Array(await readFile(file));
  let bytes = raw;
  if (isGzip(raw)) {
    try {
      bytes = new Uint8Array(gunzipSync(raw));
    } catch (err) {
      throw new Error(`${file}: truncated or corrupt gzip data: ${(err as Error).message}`, { cause: err });
    }
  }
  return parseIdx(bytes, file, expectedDims);
}
