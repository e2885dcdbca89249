/** service/image/decode.ts: the decoder shared by image-folder training and the service. */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { ImageInputError } from "../../../service/image/errors.js";
import { decodeImage, decodeToGray } from "../../../service/image/decode.js";

const target = { width: 4, height: 4, maxPixels: 64 * 64 };

async function expectProblem(
  promise: Promise<unknown>,
  problem: ImageInputError["problem"],
  message: RegExp,
) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageInputError);
  expect((err as ImageInputError).problem).toBe(problem);
  expect((err as ImageInputError).message).toMatch(message);
}

describe("decodeToGray", () => {
  it("decodes colour to one luminance channel and resizes to the target", async () => {
    const level = async (background: { r: number; g: number; b: number }) => {
      const png = await sharp({ create: { width: 8, height: 8, channels: 3, background } })
        .png()
        .toBuffer();
      const gray = await decodeToGray(png, target);
      expect(gray.length).toBe(16);
      expect(new Set(gray).size).toBe(1);
      return gray[0]!;
    };
    expect(await level({ r: 120, g: 120, b: 120 })).toBe(120);
    const [red, green, blue] = [
      await level({ r: 255, g: 0, b: 0 }),
      await level({ r: 0, g: 255, b: 0 }),
      await level({ r: 0, g: 0, b: 255 }),
    ];
    // Perceived brightness: green > red > blue.
    expect(green).toBeGreaterThan(red);
    expect(red).toBeGreaterThan(blue);
  });

  it("flattens transparency onto black, the training background", async () => {
    const clear = await sharp({
      create: { width: 4, height: 4, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0 } },
    })
      .png()
      .toBuffer();
    expect([...(await decodeToGray(clear, target))]).toEqual(new Array(16).fill(0));
  });

  it("refuses an image whose header declares more than maxPixels, before decoding", async () => {
    const big = await sharp(Buffer.alloc(100 * 100), { raw: { width: 100, height: 100, channels: 1 } })
      .png()
      .toBuffer();
    await expectProblem(
      decodeToGray(big, target),
      "TOO_LARGE",
      /^image is 100x100 = 10000 pixels; the limit is 4096$/,
    );
  });

  it("refuses other formats and corrupt bytes with distinct problems", async () => {
    const gif = await sharp({ create: { width: 2, height: 2, channels: 3, background: "#fff" } })
      .gif()
      .toBuffer();
    await expectProblem(decodeToGray(gif, target), "UNSUPPORTED_FORMAT", /^gif images are not accepted/);
    await expectProblem(
      decodeToGray(new TextEncoder().encode("hello"), target),
      "CORRUPT",
      /^not a PNG, JPEG or WebP image$/,
    );
    const noise = Buffer.from(Array.from({ length: 64 * 3 }, (_, i) => (i * 97) % 256));
    const png = await sharp(noise, { raw: { width: 8, height: 8, channels: 3 } })
      .png()
      .toBuffer();
    await expectProblem(decodeToGray(png.subarray(0, 20), target), "CORRUPT", /^unreadable png header: /);
    await expectProblem(decodeToGray(png.subarray(0, png.length - 30), target), "CORRUPT", /^png: /);
  });
});

describe("decodeImage", () => {
  const colour = { width: 4, height: 2, maxPixels: 64 * 64, channels: 3, background: "black" } as const;

  it("keeps three channels in RGB order, pixel by pixel", async () => {
    const rgb = Uint8Array.from([
      255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 1, 2, 3, 4, 5, 6, 7, 8, 9, 200, 100, 50,
    ]);
    const png = await sharp(rgb, { raw: { width: 4, height: 2, channels: 3 } })
      .png()
      .toBuffer();
    expect(Array.from(await decodeImage(png, { ...colour, resize: "fill" }))).toEqual(Array.from(rgb));
  });

  it("expands a greyscale upload to three equal channels", async () => {
    const png = await sharp({ create: { width: 4, height: 2, channels: 3, background: "#505050" } })
      .greyscale()
      .png()
      .toBuffer();
    const pixels = await decodeImage(png, { ...colour, resize: "fill" });
    expect(pixels.length).toBe(4 * 2 * 3);
    expect(new Set(pixels)).toEqual(new Set([0x50]));
  });

  it("letterboxes onto the model's background (contain) or crops the centre (cover)", async () => {
    // A 2x2 red square into a 4x2 target: contain leaves a bar each side, cover fills it.
    const square = await sharp({ create: { width: 2, height: 2, channels: 3, background: "#ff0000" } })
      .png()
      .toBuffer();
    const contained = await decodeImage(square, { ...colour, resize: "contain", background: "white" });
    const firstPixel = Array.from(contained.subarray(0, 3));
    const secondPixel = Array.from(contained.subarray(3, 6));
    expect(firstPixel).toEqual([255, 255, 255]);
    expect(secondPixel).toEqual([255, 0, 0]);
    const covered = await decodeImage(square, { ...colour, resize: "cover" });
    expect(Array.from(covered.subarray(0, 3))).toEqual([255, 0, 0]);
  });

  it("flattens transparency onto the model's background", async () => {
    const clear = await sharp({
      create: { width: 4, height: 2, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const onWhite = await decodeImage(clear, { ...colour, resize: "fill", background: "white" });
    expect(new Set(onWhite)).toEqual(new Set([255]));
  });
});
