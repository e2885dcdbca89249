/** What the micro-batcher needs from an inference engine: run rows laid out back to back. */
export interface BatchResult {
  /** `rows * outputSize` values, row-major. */
  readonly output: Float32Array;
  /** Wall time of the engine's run itself (not of queueing for it), in seconds. */
  readonly seconds: number;
}

export interface BatchRunner {
  /** Runs `rows` rows of `input` (length `rows * inputSize`). */
  run(input: Float32Array, rows: number): Promise<BatchResult>;
  /** Releases the engine; called once no batch is in flight. */
  dispose(): Promise<void>;
}
