/**
 * The files the training job stores beside each model version (baseline.json,
 * training_summary.json, data_quality_report.json, model.onnx), located through the same model
 * source the service loads models from. A version's files never change once registered, so what
 * was read is cached per version.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseBaseline, type Baseline } from "../drift/baseline.js";
import { readOptional } from "../files/read-optional.js";
import type { ModelSource } from "../inference/model-holder.js";

export const BASELINE_FILE = "baseline.json";
export const TRAINING_SUMMARY_FILE = "training_summary.json";
export const QUALITY_REPORT_FILE = "data_quality_report.json";

export interface ModelRef {
  readonly name: string;
  readonly version: string;
}

export class ModelArtifacts {
  private readonly cache = new Map<string, Promise<unknown>>();

  constructor(private readonly source: ModelSource) {}

  /** baseline.json of the version, or undefined when it has none. */
  baseline(model: ModelRef): Promise<Baseline | undefined> {
    return this.cached(model, BASELINE_FILE, async (file) => {
      const text = await readOptional(file);
      return text === undefined ? undefined : parseBaseline(text, file);
    });
  }

  /** A JSON side file of the version (e.g. training_summary.json), or undefined when absent. */
  json(model: ModelRef, name: string): Promise<unknown> {
    return this.cached(model, name, async (file) => {
      const text = await readOptional(file);
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw new Error(`${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
      }
    });
  }

  /** The version's ONNX bytes. */
  async modelBytes(model: ModelRef): Promise<Uint8Array> {
    const resolved = await this.source.resolve(model.name, model.version);
    return new Uint8Array(await readFile(resolved.modelPath));
  }

  private cached<T>(model: ModelRef, name: string, read: (file: string) => Promise<T>): Promise<T> {
    const key = `${model.name}\u0000${model.version}\u0000${name}`;
    let entry = this.cache.get(key) as Promise<T> | undefined;
    if (entry === undefined) {
      entry = this.source
        .resolve(model.name, model.version)
        .then((resolved) => read(path.join(path.dirname(resolved.modelPath), name)));
      // A failure (registry briefly unreachable) is not cached: the next call tries again.
      entry.catch(() => this.cache.delete(key));
      this.cache.set(key, entry);
    }
    return entry;
  }
}
