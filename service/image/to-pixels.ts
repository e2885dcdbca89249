/**
 * Upload bytes -> the model's `width x height` single-channel pixels. The format comes from the
 * magic bytes; small grayscale PNGs of the right size take the zlib fast path, everything else
 * goes through sharp (service/image/decode.ts, the decoder training uses). Images whose header declares more than
 * `maxPixels` are refused before any decoding.
 */
import { decodeToGray } from "./decode.js";
import { decodeSmallPng, fastPathApplies, readPngHeader } from "./png-fast.js";
import { sniffImage } from "./sniff.js";

export interface PixelTarget {
  readonly width: number;
  readonly height: number;
}

export async function imageToPixels(
  bytes: Uint8Array,
  target: PixelTarget,
  maxPixels: number,
): Promise<Uint8Array> {
  // Other formats, and bytes that are no image, are refused by decodeToGray.
  const sniffed = sniffImage(bytes);
  if (sniffed.kind === "supported" && sniffed.format === "png") {
    const header = readPngHeader(bytes, maxPixels);
    if (fastPathApplies(header, target.width, target.height)) {
      const pixels = decodeSmallPng(bytes, header);
      if (pixels !== undefined) return pixels;
    }
  }
  return decodeToGray(bytes, { width: target.width, height: target.height, maxPixels });
}
