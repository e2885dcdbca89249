/**
 * Moves normalised rows from one model's normalisation to another's. Requests are encoded for the
 * variant they are routed to; a fallback to stable, or a shadow copy for the candidate, needs the
 * same pixels in the other model's terms. Both are affine in the raw pixel, so no re-parse is needed.
 */
import type { InputSpec } from "../inference/preprocess.js";

export type Normalisation = Pick<InputSpec, "normScale" | "normShift">;

export function reencode(data: Float32Array, from: Normalisation, to: Normalisation): Float32Array {
  if (from.normScale === to.normScale && from.normShift === to.normShift) return data;
  const out = new Float32Array(data.length);
  const scale = to.normScale / from.normScale;
  const shift = to.normShift - from.normShift * scale;
  for (let i = 0; i < data.length; i++) out[i] = data[i]! * scale + shift;
  return out;
}
