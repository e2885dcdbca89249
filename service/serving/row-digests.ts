/**
 * sha256 of each row of a request's input tensors, for the prediction log of a configured model:
 * the row's slice of every input in name order, numbers as little-endian bytes of the input's
 * element type, strings as a 4-byte little-endian length and their UTF-8 bytes (the binary
 * tensor encoding of the Open Inference Protocol). The same row hashes the same whether it came as
 * rows, instances or v2 tensors.
 */
import { createHash } from "node:crypto";
import { endianness } from "node:os";
import type { Tensor } from "onnxruntime-node";

const BIG_ENDIAN_HOST = endianness() === "BE";

function littleEndian(bytes: Buffer, elementBytes: number): Buffer {
  if (!BIG_ENDIAN_HOST || elementBytes === 1) return bytes;
  const copy = Buffer.from(bytes);
  if (elementBytes === 2) return copy.swap16();
  if (elementBytes === 4) return copy.swap32();
  return copy.swap64();
}

function addRow(hash: ReturnType<typeof createHash>, tensor: Tensor, row: number, rows: number): void {
  const data = tensor.data;
  const perRow = data.length / rows;
  if (Array.isArray(data)) {
    for (const value of (data as string[]).slice(row * perRow, (row + 1) * perRow)) {
      const text = Buffer.from(value, "utf8");
      const length = Buffer.alloc(4);
      length.writeUInt32LE(text.length);
      hash.update(length).update(text);
    }
    return;
  }
  const typed = data as Exclude<Tensor["data"], string[]>;
  const size = typed.BYTES_PER_ELEMENT;
  const bytes = Buffer.from(typed.buffer, typed.byteOffset + row * perRow * size, perRow * size);
  hash.update(littleEndian(bytes, size));
}

export function tensorRowDigests(feeds: Readonly<Record<string, Tensor>>, rows: number): string[] {
  const names = Object.keys(feeds).sort();
  return Array.from({ length: rows }, (_, r) => {
    const hash = createHash("sha256");
    for (const name of names) addRow(hash, feeds[name]!, r, rows);
    return hash.digest("hex");
  });
}
