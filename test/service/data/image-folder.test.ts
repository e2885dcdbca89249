import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadImageFolder, type ImageFolderOptions } from "../../../service/data/image-folder.js";

const root = mkdtempSync(path.join(os.tmpdir(), "plinth-folder-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A `size x size` gray image whose every pixel is `value`, encoded as `format`. */
async function image(value: number, format: "png" | "jpeg" | "webp", size = 8): Promise<Buffer> {
  const raw = Buffer.alloc(size * size * 3, value);
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } })
    .toFormat(format, format === "webp" ? { lossless: true } : {})
    .toBuffer();
}

const flat = path.join(root, "flat");
const split = path.join(root, "split");

beforeAll(async () => {
  for (const [label, value] of [
    ["boots", 200],
    ["shirts", 40],
  ] as const) {
    mkdirSync(path.join(flat, label), { recursive: true });
    for (let i = 0; i < 10; i++) writeFileSync(path.join(flat, label, `${i}.png`), await image(value, "png"));
    writeFileSync(path.join(flat, label, "photo.jpg"), await image(value, "jpeg", 16));
    writeFileSync(path.join(flat, label, "photo.webp"), await image(value, "webp", 12));
    writeFileSync(path.join(flat, label, "notes.txt"), "not an image");
  }
  writeFileSync(
    path.join(flat, "shirts", "broken.png"),
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Buffer.from("this is not a png")]),
  );
  for (const part of ["train", "test"]) {
    for (const label of ["a", "b"]) {
      mkdirSync(path.join(split, part, label), { recursive: true });
      writeFileSync(path.join(split, part, label, "x.png"), await image(label === "a" ? 10 : 250, "png"));
    }
  }
});

const options = (over: Partial<ImageFolderOptions> = {}): ImageFolderOptions => ({
  size: 4,
  onBadImage: "skip",
  testFraction: 0.25,
  report: () => {},
  ...over,
});

describe("loadImageFolder", () => {
  it("decodes PNG, JPEG and WebP to size x size grayscale, labels from sorted folder names", async () => {
    const data = await loadImageFolder(flat, options());
    expect(data.train.labelNames).toEqual(["boots", "shirts"]);
    expect(data.train.width).toBe(4);
    expect(data.train.labels.length + data.test.labels.length).toBe(24);
    for (const ds of [data.train, data.test]) {
      for (let i = 0; i < ds.labels.length; i++) {
        const px = ds.pixels.subarray(i * 16, (i + 1) * 16);
        // Flat gray images stay flat; JPEG may shift a level or two.
        for (const v of px) expect(Math.abs(v - (ds.labels[i] === 0 ? 200 : 40))).toBeLessThanOrEqual(3);
      }
    }
    expect(data.test.labels.length).toBeGreaterThan(0);
    expect(data.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("reports and skips an unreadable image with --on-bad-image skip", async () => {
    const reported: string[] = [];
    const data = await loadImageFolder(flat, options({ report: (file) => reported.push(file) }));
    const broken = path.join(flat, "shirts", "broken.png");
    expect(reported).toEqual([broken]);
    expect(data.skipped).toHaveLength(1);
    expect(data.skipped[0]!.file).toBe(broken);
    expect(data.skipped[0]!.reason).toMatch(/^unreadable png header/);
  });

  it("stops at an unreadable image with --on-bad-image fail, naming the file", async () => {
    await expect(loadImageFolder(flat, options({ onBadImage: "fail" }))).rejects.toThrow(
      `unreadable image ${path.join(flat, "shirts", "broken.png")}`,
    );
  });

  it("keeps the same files in the test split across runs", async () => {
    const [a, b] = await Promise.all([loadImageFolder(flat, options()), loadImageFolder(flat, options())]);
    expect([...a.test.labels]).toEqual([...b.test.labels]);
    expect(a.sha256).toBe(b.sha256);
  });

  it("uses train/ and test/ folders when both exist", async () => {
    const data = await loadImageFolder(split, options());
    expect(data.train.labelNames).toEqual(["a", "b"]);
    expect([...data.train.labels]).toEqual([0, 1]);
    expect([...data.test.labels]).toEqual([0, 1]);
  });

  it("names the Debian package and --data when the folder is missing, and explains an empty one", async () => {
    await expect(loadImageFolder(path.join(root, "missing"), options())).rejects.toThrow(
      /no such directory.*dataset-fashion-mnist.*--data DIR/,
    );
    mkdirSync(path.join(root, "empty", "label"), { recursive: true });
    await expect(loadImageFolder(path.join(root, "empty"), options())).rejects.toThrow(
      /no images found; expected <label>\/\*\.png\|jpg\|jpeg\|webp/,
    );
  });
});
