/**
 * Input normalisation, `x' = (x * scale - mean) / std` on raw 0..255 pixels: the formula of
 * ModelMetadata.input.normalization. Training computes mean and std on its own training images;
 * the service applies the same numbers from the model's metadata.
 */
import type { ModelMetadata } from "../model/metadata.js";
import type { ImageDataset } from "../data/dataset.js";

export type Normalization = ModelMetadata["input"]["normalization"];

export const PIXEL_SCALE = 1 / 255;

/** Mean and standard deviation of `pixel * scale` over every pixel of the dataset. */
export function fitNormalization(ds: ImageDataset): Normalization {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < ds.pixels.length; i++) {
    const v = (ds.pixels[i] as number) * PIXEL_SCALE;
    sum += v;
    sumSq += v * v;
  }
  const n = Math.max(1, ds.pixels.length);
  const mean = sum / n;
  const std = Math.sqrt(Math.max(sumSq / n - mean * mean, 1e-12));
  // Rounded so the metadata is readable and identical however the sum was accumulated.
  return { scale: PIXEL_SCALE, mean: Number(mean.toFixed(6)), std: Number(std.toFixed(6)) };
}

/** Normalises `count` images of `pixels` starting at image `first` into a new Float32Array. */
export function normalizeImages(
  pixels: Uint8Array,
  first: number,
  count: number,
  size: number,
  norm: Normalization,
): Float32Array {
  const out = new Float32Array(count * size);
  const base = first * size;
  for (let i = 0; i < out.length; i++)
    out[i] = ((pixels[base + i] as number) * norm.scale - norm.mean) / norm.std;
  return out;
}
