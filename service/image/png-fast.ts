/**
 * A fast path for the commonest upload: a small, non-interlaced, 8-bit grayscale (or neutral RGB)
 * PNG that already has the model's size (a Fashion-MNIST sample is 28x28). It is parsed here with node:zlib in tens
 * of microseconds, where a round trip through sharp/libvips costs about 2 ms. Anything else
 * (colour, alpha, palette, 16-bit, interlaced, another size) is left to the general decoder.
 *
 * Chunk CRCs are checked and the inflated size is bounded by what the header declares, so a
 * corrupt or truncated file fails cleanly and a hostile one cannot make us allocate more.
 */
import { crc32, inflateSync } from "node:zlib";
import { ImageInputError } from "./errors.js";

const SIGNATURE_LENGTH = 8;
const COLOR_GRAY = 0;

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function corrupt(message: string): ImageInputError {
  return new ImageInputError("CORRUPT", `PNG: ${message}`);
}

export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: number;
  readonly interlace: number;
}

/** Reads IHDR (must be the first chunk); refuses images over `maxPixels` before any inflate. */
export function readPngHeader(bytes: Uint8Array, maxPixels: number): PngHeader {
  if (bytes.length < SIGNATURE_LENGTH + 25) throw corrupt("truncated header");
  const at = SIGNATURE_LENGTH;
  if (u32(bytes, at) !== 13 || String.fromCharCode(...bytes.subarray(at + 4, at + 8)) !== "IHDR") {
    throw corrupt("first chunk is not IHDR");
  }
  const header = {
    width: u32(bytes, at + 8),
    height: u32(bytes, at + 12),
    bitDepth: bytes[at + 16]!,
    colorType: bytes[at + 17]!,
    interlace: bytes[at + 20]!,
  };
  if (header.width === 0 || header.height === 0) throw corrupt("zero width or height");
  if (header.width * header.height > maxPixels) {
    throw new ImageInputError(
      "TOO_LARGE",
      `image declares ${header.width}x${header.height} pixels, more than the ${maxPixels} allowed`,
    );
  }
  return header;
}

const COLOR_RGB = 2;

/** True when {@link decodeSmallPng} may decode this image to the given size. */
export function fastPathApplies(h: PngHeader, width: number, height: number): boolean {
  return (
    h.width === width &&
    h.height === height &&
    h.bitDepth === 8 &&
    (h.colorType === COLOR_GRAY || h.colorType === COLOR_RGB) &&
    h.interlace === 0
  );
}

/** Paeth predictor (PNG spec 9.4). */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Reverses the per-scanline filters in place (PNG spec 9); `raw` holds filter byte + row bytes per line. */
function unfilter(raw: Buffer, rowBytes: number, height: number, bpp: number): void {
  const stride = rowBytes + 1;
  for (let y = 0; y < height; y++) {
    const line = y * stride + 1;
    const prev = line - stride; // only read when y > 0
    const filter = raw[line - 1]!;
    if (filter > 4) throw corrupt(`unknown filter type ${filter} in row ${y}`);
    if (filter === 0) continue;
    for (let x = 0; x < rowBytes; x++) {
      const left = x >= bpp ? raw[line + x - bpp]! : 0;
      const up = y > 0 ? raw[prev + x]! : 0;
      const upLeft = y > 0 && x >= bpp ? raw[prev + x - bpp]! : 0;
      const predictor =
        filter === 1 ? left : filter === 2 ? up : filter === 3 ? (left + up) >> 1 : paeth(left, up, upLeft);
      raw[line + x] = (raw[line + x]! + predictor) & 0xff;
    }
  }
}

/**
 * Decodes an 8-bit grayscale or RGB, non-interlaced PNG (check {@link fastPathApplies} first) to
 * `width * height` gray bytes, row-major. Returns undefined when the general decoder must decide
 * the pixels: an embedded ICC profile (colour management), EXIF data (its orientation), or an RGB
 * image with any non-neutral pixel (its luminance is libvips' to compute, so training and serving
 * agree exactly).
 */
export function decodeSmallPng(bytes: Uint8Array, h: PngHeader): Uint8Array | undefined {
  const { width, height } = h;
  const bpp = h.colorType === COLOR_RGB ? 3 : 1;
  const idat: Uint8Array[] = [];
  let at = SIGNATURE_LENGTH;
  let ended = false;
  while (at + 12 <= bytes.length) {
    const length = u32(bytes, at);
    const end = at + 12 + length;
    if (end > bytes.length) throw corrupt("truncated chunk");
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== u32(bytes, at + 8 + length))
      throw corrupt("chunk CRC mismatch");
    const name = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    if (name === "IDAT") idat.push(bytes.subarray(at + 8, at + 8 + length));
    // Colour management, or an EXIF orientation to apply: the general decoder's to do.
    else if (name === "iCCP" || name === "eXIf") return undefined;
    else if (name === "IEND") {
      ended = true;
      break;
    }
    at = end;
  }
  if (!ended) throw corrupt("missing IEND (truncated file)");
  if (idat.length === 0) throw corrupt("no image data");

  const rowBytes = width * bpp;
  const expected = (rowBytes + 1) * height;
  let raw: Buffer;
  try {
    raw = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat), { maxOutputLength: expected + 1 });
  } catch (err) {
    throw corrupt(`image data does not inflate: ${(err as Error).message}`);
  }
  if (raw.length !== expected)
    throw corrupt(`image data holds ${raw.length} bytes, the header implies ${expected}`);
  unfilter(raw, rowBytes, height, bpp);

  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const line = y * (rowBytes + 1) + 1;
    for (let x = 0; x < width; x++) {
      const i = line + x * bpp;
      const v = raw[i]!;
      if (bpp === 3 && (raw[i + 1] !== v || raw[i + 2] !== v)) return undefined;
      out[y * width + x] = v;
    }
  }
  return out;
}
