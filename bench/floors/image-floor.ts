/**
 * The image floor: decoding the bench's PNG to single-channel pixels in a sequential loop, through
 * sharp (libvips, the service's general path, with the service's concurrency setting), through
 * fast-png (an independent pure-JS decoder), and through the service's own small-PNG fast path.
 */
import { decode as fastPngDecode } from "fast-png";
import sharp from "sharp";
import { decodeGrayPng, fastPathApplies, readPngHeader } from "../../service/image/png-fast.js";
import { timedLoop } from "./timed-loop.js";

export interface ImageFloor {
  /** Mean microseconds per decode, by decoder. */
  readonly sharpUs: number;
  readonly fastPngUs: number;
  /** The service's zlib fast path; undefined when the PNG is not one it takes. */
  readonly servicePngUs: number | undefined;
}

export async function measureImageFloor(
  png: Buffer,
  size: { readonly width: number; readonly height: number },
  sharpConcurrency: number,
  budgetMs: number,
): Promise<ImageFloor> {
  const previousConcurrency = sharp.concurrency();
  sharp.concurrency(sharpConcurrency);
  try {
    const perDecoder = budgetMs / 3;
    const sharpTiming = await timedLoop(() => sharp(png).greyscale().raw().toBuffer(), perDecoder, 20);
    const fastPngTiming = await timedLoop(async () => fastPngDecode(png), perDecoder, 50);
    const header = readPngHeader(png, size.width * size.height);
    const servicePngUs = fastPathApplies(header, size.width, size.height)
      ? (await timedLoop(async () => decodeGrayPng(png, header), perDecoder, 50)).meanUs
      : undefined;
    return { sharpUs: sharpTiming.meanUs, fastPngUs: fastPngTiming.meanUs, servicePngUs };
  } finally {
    sharp.concurrency(previousConcurrency);
  }
}
