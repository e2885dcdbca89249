/**
 * The general image decoder shared by training (labelled image folders) and serving (uploads):
 * PNG, JPEG or WebP bytes -> `width x height` 8-bit pixels, row-major, 1 channel (grey) or 3
 * interleaved (RGB).
 *
 * Decompression bombs are refused twice: the declared dimensions are read from the header
 * (sharp's metadata(), no pixel decoding) and compared with `maxPixels` first, and sharp's
 * `limitInputPixels` enforces the same bound inside libvips. The EXIF orientation is applied
 * first (a phone photo stored sideways with orientation 6 comes out upright), then transparent
 * pixels are flattened onto the model's background (black for the training images) and the image
 * is resized.
 */
import { ImageInputError } from "./errors.js";
import { loadSharp } from "./sharp.js";
import { sniffImage } from "./sniff.js";

export interface DecodeTarget {
  width: number;
  height: number;
  /** Largest accepted `width * height` of the encoded image. */
  maxPixels: number;
}

export interface ImageDecodeTarget extends DecodeTarget {
  /** 1: greyscale; 3: RGB, interleaved (HWC). */
  channels: 1 | 3;
  /** sharp's fit: `fill` stretches, `contain` letterboxes onto the background, `cover` crops the centre. */
  resize: "fill" | "contain" | "cover";
  /** Transparency and letterbox bars take this colour. */
  background: "black" | "white";
}

/** 4096 x 4096: far above any sensible upload for a 28x28 model, far below a bomb. */
export const DEFAULT_MAX_INPUT_PIXELS = 4096 * 4096;

/** Greyscale, stretched, on black: what training and the bundled model use. */
export function decodeToGray(bytes: Uint8Array, target: DecodeTarget): Promise<Uint8Array> {
  return decodeImage(bytes, { ...target, channels: 1, resize: "fill", background: "black" });
}

/** `width * height * channels` bytes, row-major, channels interleaved. */
export async function decodeImage(bytes: Uint8Array, target: ImageDecodeTarget): Promise<Uint8Array> {
  const sniffed = sniffImage(bytes);
  if (sniffed.kind === "other") {
    throw new ImageInputError(
      "UNSUPPORTED_FORMAT",
      `${sniffed.format} images are not accepted; send PNG, JPEG or WebP`,
    );
  }
  if (sniffed.kind === "unknown") throw new ImageInputError("CORRUPT", "not a PNG, JPEG or WebP image");
  const sharp = await loadSharp();
  let declared: { width?: number | undefined; height?: number | undefined };
  try {
    declared = await sharp(bytes).metadata();
  } catch (err) {
    throw new ImageInputError("CORRUPT", `unreadable ${sniffed.format} header: ${(err as Error).message}`);
  }
  const { width = 0, height = 0 } = declared;
  if (width <= 0 || height <= 0)
    throw new ImageInputError("CORRUPT", `${sniffed.format} header declares no dimensions`);
  if (width * height > target.maxPixels) {
    throw new ImageInputError(
      "TOO_LARGE",
      `image is ${width}x${height} = ${width * height} pixels; the limit is ${target.maxPixels}`,
    );
  }
  try {
    const background = target.background === "white" ? "#ffffff" : "#000000";
    const { data, info } = await sharp(bytes, { limitInputPixels: target.maxPixels, failOn: "error" })
      // Before the resize: the target size is the upright picture's.
      .autoOrient()
      .flatten({ background })
      .toColourspace(target.channels === 1 ? "b-w" : "srgb")
      .resize(target.width, target.height, { fit: target.resize, background })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const expected = target.width * target.height * target.channels;
    if (info.channels !== target.channels || data.length !== expected) {
      throw new Error(`decoder produced ${info.channels} channels, ${data.length} bytes`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  } catch (err) {
    const message = (err as Error).message;
    throw new ImageInputError(
      /pixel limit/i.test(message) ? "TOO_LARGE" : "CORRUPT",
      `${sniffed.format}: ${message}`,
    );
  }
}
