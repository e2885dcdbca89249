/**
 * Upload bytes -> the model's `width x height x channels` pixels. The format comes from the magic
 * bytes; small greyscale PNGs of the right size for a greyscale model take the zlib fast path,
 * everything else goes through sharp (service/image/decode.ts, the decoder training uses). Images
 * whose header declares more than `maxPixels` are refused before any decoding.
 */
import { decodeImage, type ImageDecodeTarget } from "./decode.js";
import { decodeSmallPng, fastPathApplies, readPngHeader } from "./png-fast.js";
import { sniffImage } from "./sniff.js";

export type PixelTarget = Omit<ImageDecodeTarget, "maxPixels">;

export async function imageToPixels(
  bytes: Uint8Array,
  target: PixelTarget,
  maxPixels: number,
): Promise<Uint8Array> {
  // Other formats, and bytes that are no image, are refused by decodeImage.
  const sniffed = sniffImage(bytes);
  if (target.channels === 1 && sniffed.kind === "supported" && sniffed.format === "png") {
    const header = readPngHeader(bytes, maxPixels);
    // The right size already: no resize, so the fit mode cannot matter.
    if (fastPathApplies(header, target.width, target.height)) {
      const pixels = decodeSmallPng(bytes, header);
      if (pixels !== undefined) return pixels;
    }
  }
  return decodeImage(bytes, { ...target, maxPixels });
}
