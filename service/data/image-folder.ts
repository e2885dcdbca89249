/**
 * Loads a folder of labelled images: `DIR/<label>/*.{png,jpg,jpeg,webp}`, or `DIR/train/<label>/...`
 * with `DIR/test/<label>/...`. Without train/test folders, a stable share of each label's files
 * (chosen by a hash of the file name, so adding files does not reshuffle the rest) becomes the test
 * split. Labels are the folder names in sorted order. Images are decoded to `size x size`
 * grayscale with the service's decoder; an unreadable image is reported and skipped, or stops the
 * load, by choice.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { decodeToGray, DEFAULT_MAX_INPUT_PIXELS } from "../image/decode.js";
import { datasetSha256, type DatasetSplits, type ImageDataset } from "./dataset.js";
import { datasetNotFound } from "./fashion-mnist.js";

export type BadImagePolicy = "skip" | "fail";

export interface ImageFolderOptions {
  /** Decoded images are `size x size`. */
  size: number;
  onBadImage: BadImagePolicy;
  /** Share of each label's files held out for testing when there is no test/ folder. */
  testFraction: number;
  /** Called for each skipped image. */
  report: (file: string, reason: string) => void;
}

const IMAGE_EXTENSIONS = new Set([".png", ".jpg", ".jpeg", ".webp"]);

interface LabelledFile {
  file: string;
  label: number;
}

async function labelFolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
}

async function listImages(dir: string, labels: readonly string[]): Promise<LabelledFile[]> {
  const files: LabelledFile[] = [];
  for (const [label, name] of labels.entries()) {
    const folder = path.join(dir, name);
    if (!existsSync(folder)) continue;
    const entries = (await readdir(folder, { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
    for (const entry of entries) {
      if (IMAGE_EXTENSIONS.has(path.extname(entry).toLowerCase()))
        files.push({ file: path.join(folder, entry), label });
    }
  }
  return files;
}

/** Deterministic test membership from the file's name within its label folder. */
function isTestFile(file: string, fraction: number): boolean {
  const digest = createHash("sha256").update(path.basename(file)).digest();
  return digest.readUInt32BE(0) / 2 ** 32 < fraction;
}

async function decodeAll(
  files: readonly LabelledFile[],
  labelNames: string[],
  opts: ImageFolderOptions,
  skipped: DatasetSplits["skipped"],
): Promise<ImageDataset> {
  const size = opts.size * opts.size;
  const pixels = new Uint8Array(files.length * size);
  const labels = new Uint8Array(files.length);
  let count = 0;
  for (const { file, label } of files) {
    let gray: Uint8Array;
    try {
      gray = await decodeToGray(new Uint8Array(await readFile(file)), {
        width: opts.size,
        height: opts.size,
        maxPixels: DEFAULT_MAX_INPUT_PIXELS,
      });
    } catch (err) {
      const reason = (err as Error).message;
      if (opts.onBadImage === "fail")
        throw new Error(`unreadable image ${file}: ${reason} (use --on-bad-image skip to skip such files)`, {
          cause: err,
        });
      skipped.push({ file, reason });
      opts.report(file, reason);
      continue;
    }
    pixels.set(gray, count * size);
    labels[count++] = label;
  }
  return {
    width: opts.size,
    height: opts.size,
    pixels: pixels.subarray(0, count * size),
    labels: labels.subarray(0, count),
    labelNames,
  };
}

export async function loadImageFolder(dir: string, opts: ImageFolderOptions): Promise<DatasetSplits> {
  if (!existsSync(dir)) throw datasetNotFound(`--data ${dir}: no such directory`);
  const hasSplits = existsSync(path.join(dir, "train")) && existsSync(path.join(dir, "test"));
  const trainDir = hasSplits ? path.join(dir, "train") : dir;
  const labelNames = await labelFolders(trainDir);
  if (labelNames.length > 255)
    throw new Error(`--data ${dir}: ${labelNames.length} label folders; at most 255 are supported`);
  let trainFiles: LabelledFile[];
  let testFiles: LabelledFile[];
  if (hasSplits) {
    trainFiles = await listImages(trainDir, labelNames);
    testFiles = await listImages(path.join(dir, "test"), labelNames);
  } else {
    const all = await listImages(dir, labelNames);
    trainFiles = all.filter((f) => !isTestFile(f.file, opts.testFraction));
    testFiles = all.filter((f) => isTestFile(f.file, opts.testFraction));
  }
  if (trainFiles.length + testFiles.length === 0) {
    throw new Error(
      `--data ${dir}: no images found; expected ${hasSplits ? "train/<label>/" : "<label>/"}*.png|jpg|jpeg|webp`,
    );
  }
  const skipped: DatasetSplits["skipped"] = [];
  const train = await decodeAll(trainFiles, labelNames, opts, skipped);
  const test = await decodeAll(testFiles, labelNames, opts, skipped);
  return { train, test, sha256: datasetSha256(train, test), source: path.resolve(dir), skipped };
}
