/**
 * The image floor: decoding the bench's PNG to single-channel pixels in a sequential loop, through
 * sharp (libvips, the service's general path, with the service's concurrency setting), through
 * fast-png (an independent pure-JS decoder), and through the service's own decode path.
 */
import { decode as fastPngDecode } from "fast-png";
import sharp from "sharp";
import { imageToPixels } from "../../service/image/to-pixels.js";
import { timedLoop } from "./timed-loop.js";

export interface ImageFloor {
  /** Mean microseconds per decode, by decoder. */
  readonly sharpUs: number;
  readonly fastPngUs: number;
  /** The service's own decode path (imageToPixels: its small-PNG fast path, else sharp). */
  readonly serviceUs: number;
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
    const serviceTiming = await timedLoop(
      () =>
        imageToPixels(
          png,
          { ...size, channels: 1, resize: "fill", background: "black" },
          size.width * size.height,
        ),
      perDecoder,
      50,
    );
    return { sharpUs: sharpTiming.meanUs, fastPngUs: fastPngTiming.meanUs, serviceUs: serviceTiming.meanUs };
  } finally {
    sharp.concurrency(previousConcurrency);
  }
}
