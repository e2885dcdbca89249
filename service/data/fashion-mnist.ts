/** Loads Fashion-MNIST from its four IDX files, as installed by Debian's `dataset-fashion-mnist`. */
import { existsSync } from "node:fs";
import path from "node:path";
import { datasetSha256, type DatasetSplits, type ImageDataset } from "./dataset.js";
import { readIdxFile } from "./idx.js";

/** Where Debian's `dataset-fashion-mnist` package installs the IDX files. */
export const DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

export const FASHION_MNIST_LABELS = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

const FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** True when `dir` holds the four IDX files (raw or .gz). */
export function isIdxDir(dir: string): boolean {
  return Object.values(FILES).every(
    (f) => existsSync(path.join(dir, f)) || existsSync(path.join(dir, f + ".gz")),
  );
}

/** The error for absent data: says how to get the default dataset and how to point elsewhere. */
export function datasetNotFound(what: string): Error {
  return new Error(
    `dataset not found: ${what}. Install the Debian package dataset-fashion-mnist ` +
      `(apt-get install dataset-fashion-mnist, files in ${DEBIAN_FASHION_MNIST_DIR}) or pass --data DIR ` +
      `with the four Fashion-MNIST IDX files or a labelled image folder DIR/<label>/*.png.`,
  );
}

function locate(dir: string, base: string): string {
  for (const candidate of [path.join(dir, base + ".gz"), path.join(dir, base)]) {
    if (existsSync(candidate)) return candidate;
  }
  throw datasetNotFound(`${path.join(dir, base)}[.gz] does not exist`);
}

async function loadSplit(imagesFile: string, labelsFile: string): Promise<ImageDataset> {
  const images = await readIdxFile(imagesFile, 3);
  const labels = await readIdxFile(labelsFile, 1);
  const [count, height, width] = images.dims as [number, number, number];
  if (labels.dims[0] !== count) {
    throw new Error(`${labelsFile}: ${labels.dims[0]} labels for ${count} images in ${imagesFile}`);
  }
  return { width, height, pixels: images.data, labels: labels.data, labelNames: [...FASHION_MNIST_LABELS] };
}

/** Loads the training and the official test split from `dir`. */
export async function loadFashionMnist(dir: string = DEBIAN_FASHION_MNIST_DIR): Promise<DatasetSplits> {
  const files = {
    trainImages: locate(dir, FILES.trainImages),
    trainLabels: locate(dir, FILES.trainLabels),
    testImages: locate(dir, FILES.testImages),
    testLabels: locate(dir, FILES.testLabels),
  };
  const [train, test] = await Promise.all([
    loadSplit(files.trainImages, files.trainLabels),
    loadSplit(files.testImages, files.testLabels),
  ]);
  return { train, test, sha256: datasetSha256(train, test), source: path.resolve(dir), skipped: [] };
}
