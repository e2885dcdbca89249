import { crc32 } from "node:zlib";
import sharp, { type PngOptions } from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeToGray } from "../../../service/image/decode.js";
import { decodeSmallPng, fastPathApplies, readPngHeader } from "../../../service/image/png-fast.js";
import { rowForClass } from "../inference/fixture-model.js";
import { errorCode, KEY_HEADERS, startTestService, type TestService } from "./service-fixture.js";

const MAX_PIXELS = 1_000_000;
let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ IMAGE_MAX_PIXELS: String(MAX_PIXELS), BODY_LIMIT_BYTES: "200000" });
});
afterAll(() => svc.close());

/** An 8-bit grayscale image (sharp writes one-channel input as RGB unless told b-w). */
function gray(pixels: ArrayLike<number>, width = 28, height = 28) {
  return sharp(Buffer.from(Uint8Array.from(pixels)), { raw: { width, height, channels: 1 } }).toColourspace(
    "b-w",
  );
}
const classPng = (cls: number, options: PngOptions = {}) => gray(rowForClass(cls)).png(options).toBuffer();

/** A PNG whose IHDR declares `width x height` (CRC fixed up) but holds almost no data. */
function pngDeclaring(width: number, height: number, base: Buffer): Buffer {
  const out = Buffer.from(base);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

function postImage(body: Buffer | string, type: string, query = "") {
  return svc.app.inject({
    method: "POST",
    url: `/predict-image${query}`,
    headers: { ...KEY_HEADERS, "content-type": type },
    payload: body,
  });
}

function multipart(file: Buffer, field = "image") {
  const boundary = "----plinth-test";
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n`,
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return svc.app.inject({
    method: "POST",
    url: "/predict-image",
    headers: { ...KEY_HEADERS, "content-type": `multipart/form-data; boundary=${boundary}` },
    payload,
  });
}

describe("PNG fast path", () => {
  it("decodes exactly what the general (sharp) decoder produces, for every PNG filter choice", async () => {
    const random = Array.from({ length: 784 }, (_, i) => (i * 7919 + ((i * i) % 251)) & 0xff);
    for (const options of [
      { adaptiveFiltering: false },
      { adaptiveFiltering: true },
      { compressionLevel: 0 },
      { compressionLevel: 9 },
    ]) {
      for (const pixels of [random, rowForClass(3)]) {
        const png = await gray(pixels).png(options).toBuffer();
        const header = readPngHeader(png, MAX_PIXELS);
        expect(fastPathApplies(header, 28, 28)).toBe(true);
        const fast = decodeSmallPng(png, header);
        expect(fast).toEqual(Uint8Array.from(pixels));
        expect(fast).toEqual(await decodeToGray(png, { width: 28, height: 28, maxPixels: MAX_PIXELS }));
      }
    }
  });

  it("decodes a neutral RGB PNG (R = G = B) like sharp, and leaves a coloured one to sharp", async () => {
    const pixels = rowForClass(6).map((v, i) => (v === 0 ? i % 200 : v));
    const neutral = await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    const header = readPngHeader(neutral, MAX_PIXELS);
    expect(header.colorType).toBe(2);
    expect(decodeSmallPng(neutral, header)).toEqual(Uint8Array.from(pixels));
    expect(decodeSmallPng(neutral, header)).toEqual(
      await decodeToGray(neutral, { width: 28, height: 28, maxPixels: MAX_PIXELS }),
    );
    const coloured = await sharp({ create: { width: 28, height: 28, channels: 3, background: "#ff8000" } })
      .png()
      .toBuffer();
    expect(decodeSmallPng(coloured, readPngHeader(coloured, MAX_PIXELS))).toBeUndefined();
  });

  it("leaves alpha, other sizes and 16-bit images to the general decoder", async () => {
    const rgba = await sharp({ create: { width: 28, height: 28, channels: 4, background: "#80808080" } })
      .png()
      .toBuffer();
    const big = await gray(new Uint8Array(56 * 56), 56, 56)
      .png()
      .toBuffer();
    const deep = await gray(new Uint8Array(784)).toColourspace("grey16").png().toBuffer();
    for (const png of [rgba, big, deep])
      expect(fastPathApplies(readPngHeader(png, MAX_PIXELS), 28, 28)).toBe(false);
  });
});

describe("POST /predict-image", () => {
  it("classifies a raw PNG body through the fast path", async () => {
    const res = await postImage(await classPng(7), "image/png");
    expect(res.statusCode).toBe(200);
    expect(res.json().predictions[0].class_id).toBe(7);
    expect(res.headers["x-prediction-id"]).toBe(res.json().prediction_id);
  });

  it("classifies a multipart upload", async () => {
    const res = await multipart(await classPng(2));
    expect(res.statusCode).toBe(200);
    expect(res.json().predictions[0].class_id).toBe(2);
  });

  it("decodes JPEG, WebP and larger or colour PNGs through sharp", async () => {
    const base = gray(rowForClass(0));
    const bodies: [Buffer, string][] = [
      [await base.clone().jpeg({ quality: 100 }).toBuffer(), "image/jpeg"],
      [await base.clone().webp({ lossless: true }).toBuffer(), "image/webp"],
      [await base.clone().resize(56, 56, { kernel: "nearest" }).png().toBuffer(), "image/png"],
      [await base.clone().toColourspace("srgb").png().toBuffer(), "image/png"],
    ];
    for (const [body, type] of bodies) {
      const res = await postImage(body, type);
      expect(res.statusCode, type).toBe(200);
    }
  });

  it("inverts the image when asked", async () => {
    const inverted = rowForClass(4).map((v) => 255 - v);
    const png = await gray(inverted).png().toBuffer();
    expect((await postImage(png, "image/png", "?invert=true")).json().predictions[0].class_id).toBe(4);
  });

  it.each([
    ["a truncated PNG", async () => (await classPng(1)).subarray(0, 60), 400, "INVALID_IMAGE"],
    [
      "a PNG with a corrupted data byte",
      async () => {
        const png = Buffer.from(await classPng(1));
        png[png.length - 20] = png[png.length - 20]! ^ 0xff;
        return png;
      },
      400,
      "INVALID_IMAGE",
    ],
    [
      "bytes that are no image",
      async () => Buffer.from("definitely not an image, just text"),
      400,
      "INVALID_IMAGE",
    ],
    [
      "a truncated JPEG",
      async () => (await gray(rowForClass(1)).jpeg().toBuffer()).subarray(0, 100),
      400,
      "INVALID_IMAGE",
    ],
    ["a GIF", async () => gray(rowForClass(1)).gif().toBuffer(), 415, "UNSUPPORTED_MEDIA_TYPE"],
    [
      "a PNG bomb (header declares 50000x50000)",
      async () => pngDeclaring(50_000, 50_000, await classPng(1)),
      400,
      "IMAGE_TOO_LARGE",
    ],
    [
      "a JPEG over IMAGE_MAX_PIXELS",
      async () =>
        sharp({ create: { width: 1200, height: 1000, channels: 3, background: "#000" } })
          .jpeg()
          .toBuffer(),
      400,
      "IMAGE_TOO_LARGE",
    ],
  ])("refuses %s", async (_name, make, status, code) => {
    const res = await postImage(await make(), "image/png");
    expect(res.statusCode).toBe(status);
    expect(errorCode(res)).toBe(code);
    expect((await postImage(await classPng(5), "image/png")).json().predictions[0].class_id).toBe(5);
  });

  it("refuses JSON and unknown content types with 415", async () => {
    const json = await postImage(JSON.stringify({ inputs: rowForClass(1) }), "application/json");
    expect(json.statusCode).toBe(415);
    expect(errorCode(json)).toBe("UNSUPPORTED_MEDIA_TYPE");
    const gif = await postImage(Buffer.from("GIF89a"), "image/gif");
    expect(gif.statusCode).toBe(415);
    expect(errorCode(gif)).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("refuses a body or upload over BODY_LIMIT_BYTES with 413", async () => {
    const big = Buffer.alloc(250_000, 1);
    const raw = await postImage(big, "image/png");
    expect(raw.statusCode).toBe(413);
    expect(errorCode(raw)).toBe("PAYLOAD_TOO_LARGE");
    const upload = await multipart(big);
    expect(upload.statusCode).toBe(413);
    expect(errorCode(upload)).toBe("PAYLOAD_TOO_LARGE");
  });

  it("refuses a multipart body without a file", async () => {
    const boundary = "b";
    const res = await svc.app.inject({
      method: "POST",
      url: "/predict-image",
      headers: { ...KEY_HEADERS, "content-type": `multipart/form-data; boundary=${boundary}` },
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--${boundary}--\r\n`,
    });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe("INVALID_REQUEST");
  });
  // Regression (API fuzzing): busboy's "Boundary not found" is a plain Error, which became 500 INTERNAL.
  it.each(["/predict-image", "/predict-image/explain"])(
    "refuses a multipart content type without a boundary on %s with 400",
    async (url) => {
      const res = await svc.app.inject({
        method: "POST",
        url,
        headers: { ...KEY_HEADERS, "content-type": "multipart/form-data" },
        payload: "",
      });
      expect(res.statusCode).toBe(400);
      expect(errorCode(res)).toBe("INVALID_REQUEST");
      expect(res.json().error.message).toBe("malformed multipart body: Multipart: Boundary not found");
    },
  );
});
