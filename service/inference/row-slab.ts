/**
 * Float32 rows carved out of shared slabs, for JSON rows (a row is written whole, or refused and
 * dropped). `new Float32Array(784)` allocates a backing store of its own (malloc, V8's external-
 * memory accounting, a sweep when it dies); a view into a slab is a small object. Only a row's
 * `buffer` is shared, which every reader of rows already honours (`byteOffset`); a slab lives
 * while any of its views does, so whatever keeps a row beyond its request copies it (the drift
 * window, the shadow queue, the worker thread's input).
 */

/** 64 KiB: twenty 784-value rows per allocation. */
export const SLAB_BYTES = 64 * 1024;
/** Larger requests get an array of their own, so one cannot pin a slab for many small ones. */
const MAX_POOLED_BYTES = SLAB_BYTES / 4;

// Zero-filled, though every value is written before it is read: uninitialised memory could hold
// another caller's body or a credential, and the fill costs ~0.5 us a request (one per 20 rows).
const newSlab = (): ArrayBuffer => new ArrayBuffer(SLAB_BYTES);

let slab = newSlab();
let used = 0;

/** A Float32Array of `length` values (zeros), a view into the current slab: the caller writes them all. */
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
