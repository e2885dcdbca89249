/**
 * Float32 rows carved out of shared slabs, for callers that write every value before anything
 * reads the row (JSON rows: a row is written whole, or refused and dropped). `new Float32Array(784)`
 * allocates and zero-fills a backing store of its own (malloc, V8's external-memory accounting, a
 * sweep when it dies); a view into a slab is a small object, and the slab is not zero-filled
 * either, as every value is written anyway (as Buffer.allocUnsafe's pool). Only a row's `buffer`
 * is shared, which every reader of rows already honours (`byteOffset`); a slab lives while any of
 * its views does: a few requests in flight, at most {@link SLAB_BYTES} each.
 */

/** 64 KiB: twenty 784-value rows per allocation. */
export const SLAB_BYTES = 64 * 1024;
/** Larger requests get an array of their own, so one cannot pin a slab for many small ones. */
const MAX_POOLED_BYTES = SLAB_BYTES / 4;

const newSlab = (): ArrayBuffer => Buffer.allocUnsafeSlow(SLAB_BYTES).buffer as ArrayBuffer;

let slab = newSlab();
let used = 0;

/** A Float32Array of `length` values whose contents are unspecified: the caller writes them all. */
export function allocRows(length: number): Float32Array {
  const bytes = length * Float32Array.BYTES_PER_ELEMENT;
  if (bytes > MAX_POOLED_BYTES) return new Float32Array(length);
  if (used + bytes > SLAB_BYTES) {
    slab = newSlab();
    used = 0;
  }
  const rows = new Float32Array(slab, used, length);
  used += bytes;
  return rows;
}
