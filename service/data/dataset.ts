/** The in-memory form every data source is loaded into: 8-bit grayscale images with integer labels. */
import { createHash } from "node:crypto";

export interface ImageDataset {
  width: number;
  height: number;
  /** `count * height * width` raw pixels (0..255), row-major, image after image. */
  pixels: Uint8Array;
  /** `count` class ids, indices into `labelNames`. */
  labels: Uint8Array;
  labelNames: string[];
}

/** A training split and the held-out test split, plus a hash identifying the source data. */
export interface DatasetSplits {
  train: ImageDataset;
  test: ImageDataset;
  /** sha256 (hex) over the source bytes, recorded in model provenance. */
  sha256: string;
  /** Where the data came from, for the summary. */
  source: string;
  /** Inputs that were reported and skipped while loading (unreadable images). */
  skipped: { file: string; reason: string }[];
}

export function sampleCount(ds: ImageDataset): number {
  return ds.labels.length;
}

/** The first `limit` samples (or all); shares memory with `ds`. */
export function takeFirst(ds: ImageDataset, limit: number | undefined): ImageDataset {
  if (limit === undefined || limit >= ds.labels.length) return ds;
  const size = ds.width * ds.height;
  return { ...ds, pixels: ds.pixels.subarray(0, limit * size), labels: ds.labels.subarray(0, limit) };
}

/**
 * sha256 over the decoded data (geometry, label names, pixels, labels of both splits), so the same
 * images hash the same whether they came gzipped, raw or as image files.
 */
export function datasetSha256(train: ImageDataset, test: ImageDataset): string {
  const hash = createHash("sha256");
  for (const ds of [train, test]) {
    hash.update(
      JSON.stringify({
        width: ds.width,
        height: ds.height,
        labelNames: ds.labelNames,
        count: ds.labels.length,
      }),
    );
    hash.update(ds.pixels);
    hash.update(ds.labels);
  }
  return hash.digest("hex");
}
