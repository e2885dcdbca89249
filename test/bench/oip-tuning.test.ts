import { describe, expect, it } from "vitest";
import {
  DEFAULT_TUNING,
  describePlinth,
  describeTuning,
  ortThreadsText,
  recommendedTuning,
  tuningFor,
} from "../../bench/targets/oip-tuning.js";

const ort = ortThreadsText({ intraOpThreads: 1, interOpThreads: 1 });

describe("the OIP peers' settings", () => {
  it("recommends a KServe worker per core and MLServer's inference in-process with adaptive batches", () => {
    expect(tuningFor("recommended", 2)).toEqual({
      kserve: { workers: 2 },
      mlserver: { parallelWorkers: 0, maxBatchSize: 32, maxBatchTimeSeconds: 0.001 },
    });
    expect(recommendedTuning(0).kserve.workers).toBe(1);
    expect(tuningFor("defaults", 8)).toBe(DEFAULT_TUNING);
    expect(DEFAULT_TUNING).toEqual({
      kserve: { workers: 1 },
      mlserver: { parallelWorkers: 1, maxBatchSize: 0, maxBatchTimeSeconds: 0 },
    });
  });

  it("says how each server ran, with the option that sets each setting", () => {
    expect(ort).toBe("ONNX Runtime 1 intra-op thread, 1 inter-op");
    expect(describeTuning("kserve", recommendedTuning(2), ort)).toEqual({
      processes: "2 uvicorn workers (`--workers 2`) under a parent process",
      threads: "ONNX Runtime 1 intra-op thread, 1 inter-op per worker",
      batching: "none (ModelServer has none; KServe batches in an InferenceService's agent sidecar)",
    });
    expect(describeTuning("kserve", DEFAULT_TUNING, ort).processes).toBe("1 uvicorn worker (`--workers 1`)");
    expect(describeTuning("mlserver", recommendedTuning(2), ort)).toEqual({
      processes: "1 (`parallel_workers 0`: inference in the HTTP process)",
      threads: "ONNX Runtime 1 intra-op thread, 1 inter-op per process",
      batching: "adaptive: `max_batch_size 32`, `max_batch_time 0.001` s",
    });
    expect(describeTuning("mlserver", DEFAULT_TUNING, ort)).toEqual({
      processes: "1 HTTP process + 1 inference worker (`parallel_workers 1`)",
      threads: "ONNX Runtime 1 intra-op thread, 1 inter-op per inference worker",
      batching: "off (`max_batch_size 0`, MLServer's default)",
    });
    expect(describePlinth({ maxBatchSize: 32, maxDelayMs: 0 }, ort).batching).toBe(
      "micro-batches of up to 32 rows, 0 ms max delay",
    );
  });
});
