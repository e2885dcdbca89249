/** jpegSize (service/image/jpeg-size.ts): a JPEG's frame size by its marker segments, or undefined. */
import sharp, { type JpegOptions } from "sharp";
import { describe, expect, it } from "vitest";
import { jpegSize } from "../../../service/image/jpeg-size.js";

const jpeg = (width: number, height: number, options: JpegOptions = {}) =>
  sharp({ create: { width, height, channels: 3, background: "#404040" } })
    .jpeg(options)
    .toBuffer();

/** SOI, then the given segments (marker, payload), then EOI. */
function segments(...parts: [number, number[]][]): Uint8Array {
  const bytes = [0xff, 0xd8];
  for (const [marker, payload] of parts)
    bytes.push(0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload);
  return Uint8Array.from([...bytes, 0xff, 0xd9]);
}

/** A frame header's payload: precision, height, width, one component. */
const frame = (width: number, height: number) => [
  8,
  height >> 8,
  height & 0xff,
  width >> 8,
  width & 0xff,
  1,
  1,
  0x11,
  0,
];

describe("jpegSize", () => {
  it("reads baseline and progressive JPEGs as sharp writes them, EXIF and ICC segments first", async () => {
    expect(jpegSize(await jpeg(640, 480))).toEqual({ width: 640, height: 480 });
    expect(jpegSize(await jpeg(3000, 17, { progressive: true }))).toEqual({ width: 3000, height: 17 });
    const tagged = await sharp(await jpeg(800, 600))
      .withMetadata({ orientation: 6 })
      .withIccProfile("p3")
      .jpeg()
      .toBuffer();
    expect(jpegSize(tagged)).toEqual({ width: 800, height: 600 });
  });

  it("reads the frame header of every coding process libjpeg decodes: arithmetic (SOF9) too", () => {
    expect(jpegSize(segments([0xe0, [0x4a, 0x46, 0x49, 0x46, 0]], [0xc9, frame(4096, 2048)]))).toEqual({
      width: 4096,
      height: 2048,
    });
    // DHT (C4) and DAC (CC) are tables, not frames: skipped.
    expect(jpegSize(segments([0xc4, [0, 1, 2]], [0xcc, [0, 0]], [0xc1, frame(7, 9)]))).toEqual({
      width: 7,
      height: 9,
    });
  });

  it("answers undefined for bytes that hold no frame header, in one pass whatever they are", () => {
    expect(
      jpegSize(Uint8Array.from([0xff, 0xd8, 0xff, ...new Array<number>(65_536).fill(0)])),
    ).toBeUndefined();
    expect(jpegSize(segments([0xe1, new Array<number>(100).fill(7)]))).toBeUndefined(); // EOI first
    expect(jpegSize(segments([0xc0, frame(0, 0)]))).toBeUndefined(); // height from a later DNL
    expect(jpegSize(segments([0xc0, frame(640, 480)]).subarray(0, 10))).toBeUndefined(); // cut short
    expect(jpegSize(Uint8Array.from([0x89, 0x50, 0x4e, 0x47]))).toBeUndefined();
  });
});
