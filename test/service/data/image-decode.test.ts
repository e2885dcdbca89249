/** service/image/decode.ts: the decoder shared by image-folder training and the service. */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { ImageInputError } from "../../../service/image/errors.js";
import { decodeToGray } from "../../../service/image/decode.js";

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
