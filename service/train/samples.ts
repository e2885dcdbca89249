/**
 * `npm run samples`: writes the bundled demo/test images, the first N images of each class of the
 * Fashion-MNIST test set, as 28x28 grayscale PNGs in samples/fashion-mnist/, with labels.json:
 * `[{ file, label, labelName, testIndex }]`. Deterministic: rerunning gives the same files.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { DEBIAN_FASHION_MNIST_DIR, loadFashionMnist } from "../data/fashion-mnist.js";
import { PACKAGE_ROOT } from "../files/package-root.js";

export const SAMPLES_DIR = path.join(PACKAGE_ROOT, "samples", "fashion-mnist");

export interface SampleEntry {
  file: string;
  label: number;
  labelName: string;
  testIndex: number;
}

/** Test-set indices of the first `perClass` images of each class, in test-set order. */
export function pickSamples(labels: Uint8Array, classes: number, perClass: number): number[] {
  const taken = new Array<number>(classes).fill(0);
  const picked: number[] = [];
  for (let i = 0; i < labels.length && picked.length < classes * perClass; i++) {
    const l = labels[i]!;
    if (taken[l]! < perClass) {
      taken[l]!++;
      picked.push(i);
    }
  }
  return picked;
}

export async function writeSamples(
  dataDir: string,
  outDir: string,
  perClass: number,
): Promise<SampleEntry[]> {
  const { test } = await loadFashionMnist(dataDir);
  const size = test.width * test.height;
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const entries: SampleEntry[] = [];
  for (const testIndex of pickSamples(test.labels, test.labelNames.length, perClass)) {
    const label = test.labels[testIndex]!;
    const labelName = test.labelNames[label]!;
    const file = `${String(testIndex).padStart(4, "0")}-${labelName.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.png`;
    const png = await sharp(test.pixels.subarray(testIndex * size, (testIndex + 1) * size), {
      raw: { width: test.width, height: test.height, channels: 1 },
    })
      .png({ compressionLevel: 9 })
      .toBuffer();
    await writeFile(path.join(outDir, file), png);
    entries.push({ file, label, labelName, testIndex });
  }
  await writeFile(path.join(outDir, "labels.json"), JSON.stringify(entries, null, 2) + "\n");
  return entries;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const entries = await writeSamples(process.argv[2] ?? DEBIAN_FASHION_MNIST_DIR, SAMPLES_DIR, 10);
  console.log(`wrote ${entries.length} samples and labels.json to ${SAMPLES_DIR}`);
}
