/**
 * The inference floor: a raw `session.run` loop on the bundled model, with the session options the
 * service uses (createSession) and nothing around it: one row per call, then 32 rows per call.
 */
import * as ort from "onnxruntime-node";
import { createSession, type OrtSettings } from "../../service/inference/ort-session.js";
import { inputSize, type ModelMetadata } from "../../service/model/metadata.js";
import { timedLoop } from "./timed-loop.js";

export const FLOOR_BATCH_SIZE = 32;

export interface InferenceFloor {
  readonly singleRowUs: number;
  readonly batchCallUs: number;
  readonly batchPerRowUs: number;
  readonly batchSize: number;
}

/** `row`: one normalised input row; the batch repeats it. */
export async function measureInferenceFloor(
  model: Uint8Array,
  meta: ModelMetadata,
  settings: OrtSettings,
  row: Float32Array,
  budgetMs: number,
): Promise<InferenceFloor> {
  const session = await createSession(model, settings);
  const size = inputSize(meta);
  if (row.length !== size)
    throw new Error(`inference floor: row has ${row.length} values, model takes ${size}`);
  const feedsFor = (rows: number) => {
    const data = new Float32Array(size * rows);
    for (let r = 0; r < rows; r++) data.set(row, r * size);
    return { [meta.input.name]: new ort.Tensor("float32", data, [rows, ...meta.input.shape]) };
  };
  try {
    const single = feedsFor(1);
    const batch = feedsFor(FLOOR_BATCH_SIZE);
    const singleTiming = await timedLoop(() => session.run(single), budgetMs / 2, 200);
    const batchTiming = await timedLoop(() => session.run(batch), budgetMs / 2, 50);
    return {
      singleRowUs: singleTiming.meanUs,
      batchCallUs: batchTiming.meanUs,
      batchPerRowUs: batchTiming.meanUs / FLOOR_BATCH_SIZE,
      batchSize: FLOOR_BATCH_SIZE,
    };
  } finally {
    await session.release();
  }
}
