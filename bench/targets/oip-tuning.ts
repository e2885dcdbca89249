/**
 * How each Open Inference Protocol peer is configured: its processes, threads and batching, either
 * as it ships (`defaults`) or as its documentation recommends for CPU serving (`recommended`),
 * with the values measured on a 2-core machine (issue #22). The report lists them as a table.
 */
import type { OipPeer } from "./oip-peers.js";

/** KServe's Python ModelServer: uvicorn worker processes (`--workers`); it has no batching. */
export interface KserveTuning {
  readonly workers: number;
}

/** Seldon's MLServer: inference pool size (`parallel_workers`) and adaptive batching. */
export interface MlserverTuning {
  /** 0 runs inference in the server's own process. */
  readonly parallelWorkers: number;
  /** 0 or 1 disables adaptive batching. */
  readonly maxBatchSize: number;
  /** Seconds to wait for a full batch; 0 disables adaptive batching. */
  readonly maxBatchTimeSeconds: number;
}

export interface OipTuning {
  readonly kserve: KserveTuning;
  readonly mlserver: MlserverTuning;
}

export const OIP_TUNING_MODES = ["recommended", "defaults"] as const;
export type OipTuningMode = (typeof OIP_TUNING_MODES)[number];

/** What each peer does when started without settings (KServe `--workers 1`, MLServer's defaults). */
export const DEFAULT_TUNING: OipTuning = {
  kserve: { workers: 1 },
  mlserver: { parallelWorkers: 1, maxBatchSize: 0, maxBatchTimeSeconds: 0 },
};

/**
 * The documented levers for CPU serving, at the values that measured best on 2 cores (4 s
 * saturations, 32 connections, the load generator on the same machine; 2026-12-05):
 *
 * - KServe: `--workers` "is often used to help increase the resource utilization of the container"
 *   (kserve/website, docs/modelserving/v1beta1/custom/custom_model/README.md, "Arguments"): one per
 *   core. JSON: 1 worker 1,496-1,681 req/s at ~1 core; 2 workers 1,328-2,738 req/s at 0.95-1.78
 *   cores. The workers share one listening socket, so which of them gets the connections varies
 *   from run to run: sometimes one holds nearly all of them.
 * - MLServer: inference in a pool of `parallel_workers` processes (docs/user-guide/parallel-inference.md;
 *   1 by default; 0 runs it in the HTTP process) and adaptive batching, off by default, its values
 *   "usually found through experimentation" (docs/user-guide/adaptive-batching.md). JSON, req/s:
 *   defaults (pool of 1, no batching) 1,141; pool of 0 1,407-1,756; pool of 1 with batches of 32
 *   within 1 ms 1,487-1,777; pool of 2 with them 1,228; pool of 0 with them 1,953-2,002 (5 ms: 1,876).
 *   The HTTP process, at one core, is the limit: the pool only adds the IPC the docs warn of.
 *   Batches of up to 32 rows are plinth's own limit.
 */
export function recommendedTuning(cores: number): OipTuning {
  return {
    kserve: { workers: Math.max(1, cores) },
    mlserver: { parallelWorkers: 0, maxBatchSize: 32, maxBatchTimeSeconds: 0.001 },
  };
}

export function tuningFor(mode: OipTuningMode, cores: number): OipTuning {
  return mode === "recommended" ? recommendedTuning(cores) : DEFAULT_TUNING;
}

/** One server's settings as the report's table shows them. */
export interface ServerSettings {
  readonly processes: string;
  readonly threads: string;
  readonly batching: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** A peer's settings in words, with the option that sets each. */
export function describeTuning(peer: OipPeer, tuning: OipTuning, ortThreads: string): ServerSettings {
  if (peer === "kserve") {
    const { workers } = tuning.kserve;
    return {
      processes: `${plural(workers, "uvicorn worker")} (\`--workers ${workers}\`)${workers > 1 ? " under a parent process" : ""}`,
      threads: `${ortThreads} per worker`,
      batching: "none (ModelServer has none; KServe batches in an InferenceService's agent sidecar)",
    };
  }
  const { parallelWorkers, maxBatchSize, maxBatchTimeSeconds } = tuning.mlserver;
  const batching =
    maxBatchSize > 1 && maxBatchTimeSeconds > 0
      ? `adaptive: \`max_batch_size ${maxBatchSize}\`, \`max_batch_time ${maxBatchTimeSeconds}\` s`
      : "off (`max_batch_size 0`, MLServer's default)";
  return {
    processes:
      parallelWorkers === 0
        ? "1 (`parallel_workers 0`: inference in the HTTP process)"
        : `1 HTTP process + ${plural(parallelWorkers, "inference worker")} (\`parallel_workers ${parallelWorkers}\`)`,
    threads: `${ortThreads} per ${parallelWorkers === 0 ? "process" : "inference worker"}`,
    batching,
  };
}

/** plinth's own settings, from the configuration the service runs with. */
export function describePlinth(
  batching: { readonly maxBatchSize: number; readonly maxDelayMs: number },
  ortThreads: string,
): ServerSettings {
  return {
    processes: "1 (node, one event loop)",
    threads: ortThreads,
    batching: `micro-batches of up to ${batching.maxBatchSize} rows, ${batching.maxDelayMs} ms max delay`,
  };
}

/** ONNX Runtime's thread settings in words (the same for every server). */
export function ortThreadsText(ort: {
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
}): string {
  return `ONNX Runtime ${plural(ort.intraOpThreads, "intra-op thread")}, ${ort.interOpThreads} inter-op`;
}
