/**
 * The messages of the Open Inference Protocol (KServe v2 / Triton) as the serving core reads and
 * answers them, independent of the transport that carries them:
 * https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
 * and, for the model repository extension, Triton's
 * https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_model_repository.md
 */
import type { V2Datatype } from "./datatypes.js";
import type { RequestTensor } from "./request-tensors.js";

export interface RequestInput extends RequestTensor {
  readonly parameters?: Readonly<Record<string, unknown>>;
}

export interface InferRequest {
  readonly id?: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly inputs: readonly RequestInput[];
  readonly outputs?: readonly {
    readonly name: string;
    readonly parameters?: Readonly<Record<string, unknown>>;
  }[];
}

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  /** -1 for a dynamic dimension. */
  readonly shape: readonly number[];
}

export interface ResponseOutput extends TensorMetadata {
  readonly datatype: V2Datatype;
  readonly data: readonly unknown[];
}

export interface InferResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly outputs: readonly ResponseOutput[];
}

export interface ModelMetadataResponse {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
}

export interface ServerMetadataResponse {
  readonly name: string;
  readonly version: string;
  readonly extensions: readonly string[];
}

/** A model's state in the repository index: READY serves, LOADING will, UNAVAILABLE does not. */
export type ModelState = "READY" | "LOADING" | "UNAVAILABLE";

/** What a served model's loaded versions cost in memory (inference/load-footprint.ts). */
export interface ModelMemory {
  /** The ONNX files of the loaded versions (stable and any candidate), in bytes. */
  readonly onnx_file_bytes: number;
  /** Process RSS growth measured across those versions' loads, in bytes: an estimate. */
  readonly rss_delta_at_load_bytes: number;
}

/** One row of `POST /v2/repository/index`; `memory` is plinth's addition, present while loaded. */
export interface RepositoryIndexEntry {
  readonly name: string;
  /** The stable version serving; absent while none is loaded. */
  readonly version?: string;
  readonly state: ModelState;
  /** Why the model is not READY; "" when it is. */
  readonly reason: string;
  readonly memory?: ModelMemory;
}
