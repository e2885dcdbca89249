/**
 * The Open Inference Protocol peers: the servers a team would deploy instead of plinth, each from its
 * own pinned venv (scripts/install-test-tools.sh), serving the same ONNX file with onnxruntime and
 * answering the same `POST /v2/models/{name}/infer`:
 *
 * - kserve: KServe's Python ModelServer (what a KServe custom predictor runs), bench/peer/kserve;
 * - mlserver: Seldon's MLServer with a custom runtime, bench/peer/mlserver.
 *
 * Each is started as its documentation starts it, with the processes and batching of an
 * {@link OipTuning} (oip-tuning.ts), on a free loopback port, and is ready when its model's
 * `/v2/models/{name}/ready` answers 200. Per-request logs are off (bench/peer/quiet-logging.json), as
 * plinth's are in the bench.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { HttpTarget } from "../load/target.js";
import { LOOPBACK } from "../load/target.js";
import type { OipRequest } from "../oip-request.js";
import { REPO_ROOT } from "../paths.js";
import { freePort, startProcess, waitUntilReady, type ManagedProcess } from "../processes.js";
import { baseEnv, STARTUP_TIMEOUT_MS } from "./launch.js";
import { DEFAULT_TUNING, type OipTuning } from "./oip-tuning.js";

export const OIP_PEERS = ["kserve", "mlserver"] as const;
export type OipPeer = (typeof OIP_PEERS)[number];

const PEER_DIR = path.join(REPO_ROOT, "bench", "peer");
const QUIET_LOGGING = path.join(PEER_DIR, "quiet-logging.json");
const venvBin = (peer: OipPeer, file: string) => path.join(REPO_ROOT, ".tools", `${peer}-venv`, "bin", file);

export interface OipPeerOptions {
  readonly modelPath: string;
  readonly modelName: string;
  /** ONNX Runtime threads: the service's. */
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  /** Each peer's processes and batching. @default DEFAULT_TUNING (as each ships) */
  readonly tuning?: OipTuning;
}

/**
 * Why a peer does not accept the binary tensor data extension on REST, from its code, its docs and
 * a request to it; a peer absent here accepts it (KServe since kserve/kserve#3685: its dataplane
 * splits the body at `Inference-Header-Content-Length`, `InferRequest.from_bytes`).
 *
 * MLServer 1.7.1's REST `infer` endpoint takes the body as a pydantic `InferenceRequest`
 * (mlserver/rest/endpoints.py), so a binary tail fails JSON validation (RequestValidationError,
 * answered 500); its server metadata lists no extensions; binary payloads on REST are
 * SeldonIO/MLServer#324, open. Only its `mlserver infer` client sends binary data (tritonclient).
 */
export const BINARY_UNSUPPORTED: Partial<Record<OipPeer, string>> = {
  mlserver: "MLServer 1.7.1 parses the REST infer body as JSON only (SeldonIO/MLServer#324, open)",
};

export interface RunningOipPeer {
  readonly peer: OipPeer;
  readonly process: ManagedProcess;
  readonly port: number;
  /** Milliseconds from spawn to ready. */
  readonly startupMs: number;
  /** A v2 infer request to this peer: `request`'s body and headers. */
  inferTarget(request: OipRequest): HttpTarget;
  stop(): Promise<void>;
}

/** The command, arguments and environment each peer's documentation starts it with. */
function command(peer: OipPeer, port: number, options: OipPeerOptions, ports: readonly number[]) {
  const tuning = options.tuning ?? DEFAULT_TUNING;
  const ort = {
    PEER_INTRA_OP_THREADS: String(options.intraOpThreads),
    PEER_INTER_OP_THREADS: String(options.interOpThreads),
  };
  if (peer === "kserve") {
    return {
      command: venvBin(peer, "python"),
      args: [path.join(PEER_DIR, "kserve", "server.py"), "--log_config_file", QUIET_LOGGING],
      env: {
        ...ort,
        PEER_MODEL: options.modelPath,
        PEER_MODEL_NAME: options.modelName,
        PEER_PORT: String(port),
        PEER_WORKERS: String(tuning.kserve.workers),
      },
    };
  }
  // `mlserver start <folder>`: the folder holds the custom runtime; one model, from MLSERVER_MODEL_*.
  const [grpcPort, metricsPort] = ports;
  const { parallelWorkers, maxBatchSize, maxBatchTimeSeconds } = tuning.mlserver;
  return {
    command: venvBin(peer, "mlserver"),
    args: ["start", path.join(PEER_DIR, "mlserver")],
    env: {
      ...ort,
      MLSERVER_HOST: LOOPBACK,
      MLSERVER_HTTP_PORT: String(port),
      MLSERVER_GRPC_PORT: String(grpcPort),
      MLSERVER_METRICS_PORT: String(metricsPort),
      MLSERVER_PARALLEL_WORKERS: String(parallelWorkers),
      MLSERVER_LOGGING_LEVEL: "WARNING",
      MLSERVER_LOGGING_SETTINGS: QUIET_LOGGING,
      MLSERVER_MODEL_MAX_BATCH_SIZE: String(maxBatchSize),
      MLSERVER_MODEL_MAX_BATCH_TIME: String(maxBatchTimeSeconds),
      MLSERVER_MODEL_NAME: options.modelName,
      MLSERVER_MODEL_IMPLEMENTATION: "runtime.OnnxRuntime",
      MLSERVER_MODEL_URI: options.modelPath,
    },
  };
}

/** Starts `peer` and waits until its model is ready; one that never gets ready is stopped. */
export async function startOipPeer(peer: OipPeer, options: OipPeerOptions): Promise<RunningOipPeer> {
  const python = venvBin(peer, "python");
  if (!existsSync(python)) {
    throw new Error(`${python} is missing: run \`bash scripts/install-test-tools.sh --bench\``);
  }
  const port = await freePort();
  const spec = command(peer, port, options, [await freePort(), await freePort()]);
  const started = performance.now();
  const proc = startProcess({
    name: peer,
    cwd: path.join(PEER_DIR, peer),
    ...spec,
    // No __pycache__ inside the repository.
    env: { ...baseEnv(), ...spec.env, PYTHONDONTWRITEBYTECODE: "1" },
  });
  const readyPath = `/v2/models/${encodeURIComponent(options.modelName)}/ready`;
  try {
    await waitUntilReady(proc, port, readyPath, STARTUP_TIMEOUT_MS);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const inferPath = `/v2/models/${encodeURIComponent(options.modelName)}/infer`;
  return {
    peer,
    process: proc,
    port,
    startupMs: performance.now() - started,
    inferTarget: ({ body, headers }) => ({ port, method: "POST", path: inferPath, headers, body }),
    stop: () => proc.stop(),
  };
}
