/**
 * EXIF orientation: a phone stores a portrait photo as landscape pixels with orientation 6 ("rotate
 * 90 degrees clockwise to display"). The decoders apply it before resizing, so the model sees the
 * upright picture: the general decoder (JPEG, WebP, PNG; configured colour models and the bundled
 * greyscale model's non-PNG uploads) and the PNG fast path, which leaves a PNG carrying EXIF to it.
 */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeImage, DEFAULT_MAX_INPUT_PIXELS } from "../../../service/image/decode.js";
import { imageToPixels } from "../../../service/image/to-pixels.js";

/** The upright picture: 32 wide, 16 high, four flat quadrants (JPEG keeps flat areas intact). */
const WIDTH = 32;
const HEIGHT = 16;
const QUADRANTS = [
  [240, 20, 20], // top left: red
  [20, 240, 20], // top right: green
  [20, 20, 240], // bottom left: blue
  [240, 240, 20], // bottom right: yellow
] as const;

function upright(): Buffer {
  const pixels = Buffer.alloc(WIDTH * HEIGHT * 3);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const colour = QUADRANTS[(y < HEIGHT / 2 ? 0 : 2) + (x < WIDTH / 2 ? 0 : 1)]!;
      pixels.set(colour, (y * WIDTH + x) * 3);
    }
  }
  return pixels;
}

/**
 * The picture as a phone camera stores it: the sensor's pixels (the upright picture turned 90
 * degrees anticlockwise, 16 wide and 32 high) with orientation 6 in the EXIF data.
 */
async function asStoredByAPhone(format: "jpeg" | "png" | "webp"): Promise<Buffer> {
  const sensor = await sharp(upright(), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .rotate(-90)
    .raw()
    .toBuffer({ resolveWithObject: true });
  expect([sensor.info.width, sensor.info.height]).toEqual([HEIGHT, WIDTH]);
  const image = sharp(sensor.data, { raw: { width: HEIGHT, height: WIDTH, channels: 3 } }).withMetadata({
    orientation: 6,
  });
  const encoded =
    format === "jpeg"
      ? image.jpeg({ quality: 100, chromaSubsampling: "4:4:4" })
      : format === "png"
        ? image.png()
        : image.webp({ lossless: true });
  const bytes = await encoded.toBuffer();
  expect((await sharp(bytes).metadata()).orientation).toBe(6);
  return bytes;
}

/** The largest difference between two images' bytes. */
function maxDifference(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Removes one kind of PNG chunk (CRCs are per chunk, so the others stay valid). */
function withoutChunk(png: Buffer, name: string): Buffer {
  const kept: Buffer[] = [png.subarray(0, 8)];
  for (let at = 8; at < png.length;) {
    const end = at + 12 + png.readUInt32BE(at);
    if (png.toString("latin1", at + 4, at + 8) !== name) kept.push(png.subarray(at, end));
    at = end;
  }
  return Buffer.concat(kept);
}

describe("EXIF orientation", () => {
  it.each(["jpeg", "png", "webp"] as const)(
    "a %s with orientation 6 decodes to the upright picture, at the upright size",
    async (format) => {
      const decoded = await decodeImage(await asStoredByAPhone(format), {
        width: WIDTH,
        height: HEIGHT,
        channels: 3,
        resize: "fill",
        background: "black",
        maxPixels: DEFAULT_MAX_INPUT_PIXELS,
      });
      // Ignoring the orientation would stretch the 16x32 sensor image over 32x16: every quadrant wrong.
      expect(maxDifference(decoded, upright())).toBeLessThanOrEqual(format === "jpeg" ? 12 : 0);
    },
  );

  it("applies the orientation before the resize: half size equals the upright picture resized", async () => {
    const target = { width: WIDTH / 2, height: HEIGHT / 2 };
    const decoded = await decodeImage(await asStoredByAPhone("png"), {
      ...target,
      channels: 3,
      resize: "fill",
      background: "black",
      maxPixels: DEFAULT_MAX_INPUT_PIXELS,
    });
    const expected = await sharp(upright(), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
      .resize(target.width, target.height, { fit: "fill" })
      .raw()
      .toBuffer();
    expect(maxDifference(decoded, expected)).toBeLessThanOrEqual(1);
  });

  it("the bundled greyscale model's path: a PNG of the model's size with EXIF leaves the fast path", async () => {
    // A 28x28 greyscale picture, top half white, stored turned anticlockwise with orientation 6
    // (and no ICC profile, which alone would already send it to the general decoder).
    const side = 28;
    const picture = Buffer.alloc(side * side);
    picture.fill(255, 0, (side * side) / 2);
    const sensor = await sharp(picture, { raw: { width: side, height: side, channels: 1 } })
      .rotate(-90)
      .toColourspace("b-w")
      .raw()
      .toBuffer();
    const stored = withoutChunk(
      await sharp(sensor, { raw: { width: side, height: side, channels: 1 } })
        .toColourspace("b-w")
        .withMetadata({ orientation: 6 })
        .png()
        .toBuffer(),
      "iCCP",
    );
    expect(stored.includes(Buffer.from("eXIf"))).toBe(true);
    expect(stored.includes(Buffer.from("iCCP"))).toBe(false);
    const pixels = await imageToPixels(
      stored,
      { width: side, height: side, channels: 1, resize: "fill", background: "black" },
      DEFAULT_MAX_INPUT_PIXELS,
    );
    expect(maxDifference(pixels, picture)).toBe(0);
  });
});
