/**
 * The explain heatmap is drawn over the upright picture: a phone photo stored sideways with EXIF
 * orientation 6 is decoded upright for the model (image/decode.ts), so its saliency is the upright
 * picture's, and the heatmap applies the same orientation to the image under it. Its size is the
 * upright picture's (width and height swapped against the stored pixels) and it matches the
 * heatmap of the same picture stored upright.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp, { type Sharp } from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderHeatmap } from "../../../service/explain/heatmap.js";
import { KEY_HEADERS, startTestService, type TestService } from "../server/service-fixture.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SAMPLE = path.join(ROOT, "samples/fashion-mnist/0000-ankle-boot.png");

/** The upright picture: the sample boot on a 112 x 56 canvas (wider than high), as RGB pixels. */
const WIDTH = 112;
const HEIGHT = 56;

async function uprightPixels(): Promise<Buffer> {
  const boot = await sharp(await readFile(SAMPLE))
    .greyscale()
    .resize(56, 56, { kernel: "nearest" })
    .toBuffer();
  return sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: "#000000" } })
    .composite([{ input: boot, left: 8, top: 0 }])
    .raw()
    .toBuffer();
}

const jpeg = (image: Sharp) => image.jpeg({ quality: 100, chromaSubsampling: "4:4:4" }).toBuffer();

/** The upright picture as a JPEG, and as a phone stores it: turned anticlockwise, orientation 6. */
async function pictures(): Promise<{ upright: Buffer; sideways: Buffer }> {
  const pixels = await uprightPixels();
  const raw = { raw: { width: WIDTH, height: HEIGHT, channels: 3 as const } };
  const sensor = await sharp(pixels, raw).rotate(-90).raw().toBuffer();
  const sideways = await jpeg(
    sharp(sensor, { raw: { width: HEIGHT, height: WIDTH, channels: 3 } }).withMetadata({ orientation: 6 }),
  );
  const stored = await sharp(sideways).metadata();
  expect([stored.width, stored.height, stored.orientation]).toEqual([HEIGHT, WIDTH, 6]);
  return { upright: await jpeg(sharp(pixels, raw)), sideways };
}

/** Raw RGB pixels and size of a PNG. */
async function decoded(png: Buffer) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** The largest and the mean difference between two images' bytes. */
function difference(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  expect(a.length).toBe(b.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

describe("the heatmap of an orientation-6 JPEG", () => {
  it("is drawn over the upright picture, at its size, as the upright JPEG's is", async () => {
    const { upright, sideways } = await pictures();
    // A saliency map hot in its top-left corner only: on a sideways base it would sit elsewhere.
    const saliency = new Float32Array(28 * 14);
    for (let y = 0; y < 5; y++) for (let x = 0; x < 7; x++) saliency[y * 28 + x] = 1;
    const expected = await renderHeatmap(upright, saliency, 28, 14, false);
    const actual = await renderHeatmap(sideways, saliency, 28, 14, false);
    expect([actual.width, actual.height]).toEqual([WIDTH, HEIGHT]);
    const got = await decoded(actual.png);
    const want = await decoded(expected.png);
    expect([got.width, got.height]).toEqual([want.width, want.height]);
    const { max, mean } = difference(got.data, want.data);
    expect(max).toBeLessThanOrEqual(8);
    expect(mean).toBeLessThan(1);
  });
});

describe("POST /predict-image/explain with an orientation-6 JPEG", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ PLINTH_REGISTRY_DIR: path.join(ROOT, "models") });
  });
  afterAll(() => svc.close());

  interface Explained {
    prediction: { label: string };
    saliency: { width: number; height: number; values: number[] };
    heatmap: { width: number; height: number; base64: string };
  }

  const explain = async (payload: Buffer): Promise<Explained> => {
    const res = await svc.app.inject({
      method: "POST",
      url: "/predict-image/explain",
      headers: { ...KEY_HEADERS, "content-type": "image/jpeg" },
      payload,
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  it("answers the upright picture's heatmap: its size, its saliency over the upright image", async () => {
    const { upright, sideways } = await pictures();
    const [fromUpright, fromSideways] = [await explain(upright), await explain(sideways)];
    expect([fromSideways.heatmap.width, fromSideways.heatmap.height]).toEqual([WIDTH, HEIGHT]);
    const got = await decoded(Buffer.from(fromSideways.heatmap.base64, "base64"));
    expect([got.width, got.height]).toEqual([WIDTH, HEIGHT]);
    // The model saw the upright picture (image/decode.ts; test/service/image/orientation.test.ts).
    expect(fromSideways.prediction.label).toBe(fromUpright.prediction.label);
    // And the heatmap is that saliency over the upright picture, pixel for pixel but for JPEG noise.
    const { width, height, values } = fromSideways.saliency;
    const overUpright = await renderHeatmap(upright, Float32Array.from(values), width, height, false);
    const { max, mean } = difference(got.data, (await decoded(overUpright.png)).data);
    expect(max).toBeLessThanOrEqual(8);
    expect(mean).toBeLessThan(1);
  });
});
