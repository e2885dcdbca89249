/**
 * The two request bodies every server receives: a 28x28 PNG from the bundled samples, and the same
 * image as one JSON row of raw pixels (`{"inputs": [...]}`, the shape of plinth's POST /predict).
 */
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import type { ModelMetadata } from "../../service/model/metadata.js";
import { SAMPLES_DIR } from "../paths.js";

export interface Payloads {
  readonly pngPath: string;
  readonly png: Buffer;
  readonly jsonRow: Buffer;
  /** The row after the model's normalisation, for the in-process inference floor. */
  readonly normalizedRow: Float32Array;
}

/** The first PNG (by name) in the samples folder. */
export async function defaultSamplePath(): Promise<string> {
  let names: string[];
  try {
    names = (await readdir(SAMPLES_DIR)).filter((n) => n.endsWith(".png")).sort();
  } catch {
    names = [];
  }
  if (names.length === 0) throw new Error(`no sample PNG in ${SAMPLES_DIR}; pass one with --sample`);
  return path.join(SAMPLES_DIR, names[0]!);
}

export async function loadPayloads(pngPath: string, meta: ModelMetadata): Promise<Payloads> {
  const png = await readFile(pngPath);
  const { width, height } = meta.input.image;
  const info = await sharp(png).metadata();
  if (info.format !== "png" || info.width !== width || info.height !== height) {
    throw new Error(`${pngPath}: the bench needs a ${width}x${height} PNG (the model's input size)`);
  }
  const pixels = await sharp(png).greyscale().raw().toBuffer();
  const { scale, mean, std } = meta.input.normalization;
  return {
    pngPath,
    png,
    jsonRow: Buffer.from(JSON.stringify({ inputs: Array.from(pixels) })),
    normalizedRow: Float32Array.from(pixels, (p) => (p * scale - mean) / std),
  };
}
