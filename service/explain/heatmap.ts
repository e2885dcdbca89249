/**
 * Draws a saliency map over the uploaded image: the image in dimmed grayscale, the map in a
 * black-body ramp (dark red to yellow-white) whose opacity follows the saliency, at the image's
 * own size or scaled down to a bounded longest side (so the answer's size is bounded whatever the
 * upload's), as a PNG. The image is drawn upright, its EXIF orientation applied, as the decoder
 * gives it to the model (image/decode.ts): the saliency is the upright picture's.
 */
import { DEFAULT_MAX_INPUT_PIXELS } from "../image/decode.js";
import { loadSharp } from "../image/sharp.js";

/** Colour stops of the ramp, saliency 0..1. */
const RAMP: readonly (readonly [number, number, number, number])[] = [
  [0, 90, 0, 20],
  [0.35, 200, 30, 20],
  [0.7, 255, 150, 0],
  [1, 255, 250, 170],
];
/** What bounds a heatmap's cost: its input (checked by the caller first) and its output. */
export interface HeatmapBounds {
  /** Larger images are drawn scaled to fit this side (the saliency itself is at model resolution). */
  readonly maxSide: number;
  /** libvips refuses to decode more (a second guard behind the route's header check). */
  readonly maxInputPixels: number;
}

/** EXPLAIN_HEATMAP_MAX_SIDE's default; the route passes the configured bounds. */
export const DEFAULT_HEATMAP_BOUNDS: HeatmapBounds = {
  maxSide: 512,
  maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
};
/** Brightness of the grayscale image under the map. */
const BASE_BRIGHTNESS = 0.55;

function ramp(s: number): [number, number, number] {
  for (let i = 1; i < RAMP.length; i++) {
    const [p1, r1, g1, b1] = RAMP[i]!;
    if (s > p1 && i < RAMP.length - 1) continue;
    const [p0, r0, g0, b0] = RAMP[i - 1]!;
    const t = Math.min(1, Math.max(0, (s - p0) / (p1 - p0)));
    return [r0 + (r1 - r0) * t, g0 + (g1 - g0) * t, b0 + (b1 - b0) * t];
  }
  return [255, 250, 170];
}

/** The saliency (`width x height`, 0..1) as RGBA pixels: ramp colour, opacity rising with saliency. */
export function heatLayer(saliency: Float32Array, width: number, height: number): Buffer {
  const out = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const s = saliency[i]!;
    const [r, g, b] = ramp(s);
    out[i * 4] = r;
    out[i * 4 + 1] = g;
    out[i * 4 + 2] = b;
    out[i * 4 + 3] = Math.round(255 * Math.min(1, Math.sqrt(s) * 1.1));
  }
  return out;
}

export interface Heatmap {
  readonly png: Buffer;
  readonly width: number;
  readonly height: number;
}

/**
 * Renders `saliency` (`mapWidth x mapHeight`) over `image` (the upload's bytes). With `invert`,
 * the image is shown negated, as the model saw it.
 */
export async function renderHeatmap(
  image: Uint8Array,
  saliency: Float32Array,
  mapWidth: number,
  mapHeight: number,
  invert: boolean,
  bounds: HeatmapBounds = DEFAULT_HEATMAP_BOUNDS,
): Promise<Heatmap> {
  const sharp = await loadSharp();
  const limits = { limitInputPixels: bounds.maxInputPixels };
  // The upright picture's size: a phone photo stored sideways (orientation 5-8) has width and height swapped.
  const upright = (await sharp(image, limits).metadata()).autoOrient;
  const fit = Math.min(1, bounds.maxSide / Math.max(upright.width, upright.height));
  const width = Math.max(1, Math.round(upright.width * fit));
  const height = Math.max(1, Math.round(upright.height * fit));
  let base = sharp(image, limits).autoOrient().flatten({ background: "#000000" }).greyscale();
  if (invert) base = base.negate({ alpha: false });
  const gray = await base
    .resize(width, height, { fit: "fill" })
    .linear(BASE_BRIGHTNESS, 0)
    .toColourspace("srgb")
    .png()
    .toBuffer();
  const heat = await sharp(heatLayer(saliency, mapWidth, mapHeight), {
    raw: { width: mapWidth, height: mapHeight, channels: 4 },
  })
    .resize(width, height, { fit: "fill", kernel: "cubic" })
    .png()
    .toBuffer();
  const png = await sharp(gray)
    .composite([{ input: heat }])
    .removeAlpha()
    .png()
    .toBuffer();
  return { png, width, height };
}
