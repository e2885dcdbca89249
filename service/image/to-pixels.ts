/**
 * Upload bytes -> the model's `width x height` single-channel pixels. The format comes from the
 * magic bytes; small grayscale PNGs of the right size take the zlib fast path, everything else
 * goes through sharp (service/image/decode.ts). Images whose header declares more than
 * `maxPixels` are refused before any decoding.
 */
import sharp from "sharp";
import { ImageInputError } from "./errors.js";
import { decodeGrayPng, fastPathApplies, readPngHeader } from "./png-fast.js";
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
  const sniffed = sniffImage(bytes);
  if (sniffed.kind === "other") {
    throw new ImageInputError(
      "UNSUPPORTED_FORMAT",
      `${sniffed.format} images are not accepted; send PNG, JPEG or WebP`,
    );
  }
  if (sniffed.kind === "unknown")
    throw new ImageInputError("CORRUPT", "the body is not a PNG, JPEG or WebP image");
  if (sniffed.format === "png") {
    const header = readPngHeader(bytes, maxPixels);
    if (fastPathApplies(header, target.width, target.height)) return decodeGrayPng(bytes, header);
  }
  // INTERIM until service/image/decode.ts lands (training and serving must share one decoder).
  try {
    const { data } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: "error" })
      .greyscale()
      .resize(target.width, target.height, { fit: "fill" })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return new Uint8Array(data.buffer, data.byteOffset, target.width * target.height);
  } catch (err) {
    const message = (err as Error).message;
    throw new ImageInputError(/pixel limit/i.test(message) ? "TOO_LARGE" : "CORRUPT", message);
  }
}
