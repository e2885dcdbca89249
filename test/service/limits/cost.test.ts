/** What a request costs (service/limits/cost.ts), by route and body. */
import type { FastifyRequest } from "fastify";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { EXPLAIN_FACTOR, predictRows, requestCost, tensorRows } from "../../../service/limits/cost.js";

const settings = { imageMaxPixels: 16_777_216, explainMaxPixels: 4_194_304, maxRowsPerRequest: 64 };

function request(url: string, body: unknown, multipart = false): FastifyRequest {
  return { routeOptions: { url }, body, isMultipart: () => multipart } as unknown as FastifyRequest;
}

async function png(width: number, height: number, format: "png" | "jpeg" | "webp" = "png"): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: "#000" } })
    .toFormat(format)
    .toBuffer();
}

describe("requestCost", () => {
  it("charges 1 per request plus its rows on /predict", async () => {
    expect(requestCost(request("/metadata", undefined), settings)).toBe(1);
    expect(requestCost(request("/predict", { inputs: [1, 2, 3] }), settings)).toBe(2);
    expect(requestCost(request("/predict", { inputs: [[1], [2], [3]] }), settings)).toBe(4);
    expect(requestCost(request("/predict", { instances: [{}, {}] }), settings)).toBe(3);
    expect(predictRows("nonsense")).toBe(0);
  });

  it("charges the per-model routes as the default model's: rows, megapixels", async () => {
    for (const body of [{ inputs: [1, 2, 3] }, { inputs: [[1], [2], [3]] }, { instances: [{}, {}] }]) {
      const bare = requestCost(request("/predict", body), settings);
      expect(requestCost(request("/models/:name/predict", body), settings)).toBe(bare);
    }
    expect(requestCost(request("/models/:name/predict", { inputs: [[1], [2], [3]] }), settings)).toBe(4);
    const big = await png(2000, 1500); // 3 MP
    expect(requestCost(request("/models/:name/predict-image", big), settings)).toBe(4);
    expect(requestCost(request("/models/:name/predict-image", Buffer.alloc(0), true), settings)).toBe(1 + 17);
  });

  it("charges the largest first dimension of the v2 inputs", async () => {
    const body = { inputs: [{ shape: [8, 784] }, { shape: [2] }, { shape: [] }] };
    expect(requestCost(request("/v2/models/:name/infer", body), settings)).toBe(9);
    expect(requestCost(request("/v2/models/:name/versions/:version/infer", body), settings)).toBe(9);
    expect(tensorRows({ inputs: [{ shape: ["x"] }] })).toBe(0);
    // A declared shape beyond MAX_ROWS_PER_REQUEST is refused 400 by the route; it costs at most that.
    const huge = { inputs: [{ shape: [1_000_000_000, 784] }] };
    expect(requestCost(request("/v2/models/:name/infer", huge), settings)).toBe(1 + 64);
    const many = { inputs: Array.from({ length: 500 }, () => [0]) };
    expect(requestCost(request("/predict", many), settings)).toBe(1 + 64);
  });

  it("charges images by decoded megapixels, explanations ten times over", async () => {
    const big = await png(2000, 1500); // 3 MP
    expect(requestCost(request("/predict-image", big), settings)).toBe(4);
    expect(requestCost(request("/predict-image", await png(28, 28)), settings)).toBe(2);
    expect(requestCost(request("/predict-image/explain", big), settings)).toBe(EXPLAIN_FACTOR * 4);
    // Not an image: the route answers 400, the hook charges the request alone.
    expect(requestCost(request("/predict-image", Buffer.from("nope")), settings)).toBe(1);
    // A header cut short: no size to read, the route answers 400.
    expect(requestCost(request("/predict-image", big.subarray(0, 20)), settings)).toBe(1);
  });

  it("charges a JPEG or WebP whose size cannot be read as the largest image the route decodes", () => {
    // No frame header in the first SIZE_PREFIX_BYTES (here: none at all) but a JPEG to libvips' eye.
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(4 * 1024 * 1024)]);
    expect(requestCost(request("/predict-image", jpeg), settings)).toBe(1 + 17);
    expect(requestCost(request("/predict-image/explain", jpeg), settings)).toBe(EXPLAIN_FACTOR * (1 + 5));
    const webp = Buffer.concat([
      Buffer.from("RIFF"),
      Buffer.alloc(4),
      Buffer.from("WEBPVP8X"),
      Buffer.alloc(8),
    ]);
    expect(requestCost(request("/predict-image", webp), settings)).toBe(1 + 17);
  });

  it("does not size a format the route refuses unread (HEIF: a 415), however it is built", () => {
    // ftyp + heic, then boxes: image-size would walk them all on the event loop.
    const boxes = Buffer.alloc(1024 * 1024, 0x61);
    const heif = Buffer.concat([
      Buffer.from([0, 0, 0, 24]),
      Buffer.from("ftypheic"),
      Buffer.alloc(12),
      boxes,
    ]);
    expect(requestCost(request("/predict-image", heif), settings)).toBe(1);
  });

  it("reads JPEG and WebP dimensions from their headers as well", async () => {
    expect(requestCost(request("/predict-image", await png(2000, 1500, "jpeg")), settings)).toBe(4);
    expect(requestCost(request("/predict-image", await png(1001, 1000, "webp")), settings)).toBe(3);
  });

  it("charges a multipart upload, read only by the handler, at IMAGE_MAX_PIXELS", async () => {
    expect(requestCost(request("/predict-image", undefined, true), settings)).toBe(1 + 17);
  });

  it("charges explain at most what it decodes (EXPLAIN_MAX_PIXELS), whatever the upload declares", async () => {
    expect(requestCost(request("/predict-image/explain", undefined, true), settings)).toBe(
      EXPLAIN_FACTOR * (1 + 5),
    );
    // 4096x4096 declared: explain refuses it unread, so it is charged as the largest it decodes.
    expect(requestCost(request("/predict-image/explain", await png(4096, 4096)), settings)).toBe(
      EXPLAIN_FACTOR * (1 + 5),
    );
  });
});
