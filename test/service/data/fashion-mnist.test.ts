import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import {
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_LABELS,
  isIdxDir,
  loadFashionMnist,
} from "../../../service/data/fashion-mnist.js";

const empty = mkdtempSync(path.join(os.tmpdir(), "plinth-fmnist-"));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe("loadFashionMnist", () => {
  it("loads the Debian dataset: 60k training and 10k test images of 28x28, 10 balanced labels", async () => {
    const data = await loadFashionMnist();
    expect(data.train.labels.length).toBe(60000);
    expect(data.test.labels.length).toBe(10000);
    expect(data.train.pixels.length).toBe(60000 * 28 * 28);
    expect(data.train.labelNames).toEqual(FASHION_MNIST_LABELS);
    const counts = new Array(10).fill(0);
    for (const l of data.test.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
    // The first test image is an ankle boot (label 9), as in the dataset's documentation.
    expect(data.test.labels[0]).toBe(9);
    expect(data.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(data.source).toBe(DEBIAN_FASHION_MNIST_DIR);
  });

  it("names the Debian package and --data when the dataset is missing", async () => {
    await expect(loadFashionMnist(empty)).rejects.toThrow(
      /dataset not found: .*train-images-idx3-ubyte\[\.gz\] does not exist/,
    );
    await expect(loadFashionMnist(empty)).rejects.toThrow(/Debian package dataset-fashion-mnist/);
    await expect(loadFashionMnist(empty)).rejects.toThrow(/--data DIR/);
    expect(isIdxDir(empty)).toBe(false);
  });

  it("hashes the decoded data, so gzipped and raw copies get the same sha256", async () => {
    const raw = mkdtempSync(path.join(os.tmpdir(), "plinth-fmnist-copy-"));
    try {
      for (const f of [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
      ]) {
        writeFileSync(
          path.join(raw, f),
          gunzipSync(readFileSync(path.join(DEBIAN_FASHION_MNIST_DIR, `${f}.gz`))),
        );
      }
      expect(isIdxDir(raw)).toBe(true);
      const [a, b] = await Promise.all([loadFashionMnist(raw), loadFashionMnist()]);
      expect(a.sha256).toBe(b.sha256);
    } finally {
      rmSync(raw, { recursive: true, force: true });
    }
  });
});
