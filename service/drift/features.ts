/**
 * The image features drift is measured on. One function, used by the training job to build the
 * baseline and by the service on live inputs, so both sides compute exactly the same numbers.
 *
 * Features are computed on raw 8-bit grayscale pixels scaled to 0..1:
 * - `mean_intensity`, `std_intensity`: brightness and contrast of the whole image;
 * - `ink_fraction`: share of pixels brighter than {@link INK_THRESHOLD} (the garment's area on
 *   Fashion-MNIST's black background);
 * - `block_R_C`: mean intensity of each cell of a 4x4 grid (where the garment sits).
 */

export const INK_THRESHOLD = 0.1;
export const GRID = 4;

export const IMAGE_FEATURE_NAMES: readonly string[] = [
  "mean_intensity",
  "std_intensity",
  "ink_fraction",
  ...Array.from({ length: GRID * GRID }, (_, i) => `block_${Math.floor(i / GRID)}_${i % GRID}`),
];

/**
 * Features of one `width x height` image stored row-major in `pixels` from `offset`, in the order
 * of {@link IMAGE_FEATURE_NAMES}.
 */
export function imageFeatures(
  pixels: ArrayLike<number>,
  width: number,
  height: number,
  offset = 0,
): number[] {
  const size = width * height;
  const blockSums = new Array<number>(GRID * GRID).fill(0);
  const blockCounts = new Array<number>(GRID * GRID).fill(0);
  let sum = 0;
  let sumSq = 0;
  let ink = 0;
  for (let y = 0; y < height; y++) {
    const by = Math.min(GRID - 1, Math.floor((y * GRID) / height));
    for (let x = 0; x < width; x++) {
      const v = pixels[offset + y * width + x]! / 255;
      sum += v;
      sumSq += v * v;
      if (v > INK_THRESHOLD) ink++;
      const b = by * GRID + Math.min(GRID - 1, Math.floor((x * GRID) / width));
      blockSums[b]! += v;
      blockCounts[b]!++;
    }
  }
  const mean = sum / size;
  const std = Math.sqrt(Math.max(0, sumSq / size - mean * mean));
  return [
    mean,
    std,
    ink / size,
    ...blockSums.map((s, i) => (blockCounts[i]! === 0 ? 0 : s / blockCounts[i]!)),
  ];
}
