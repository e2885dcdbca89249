/**
 * The serving core's one entry point, as KServe's DataPlane is: model repository -> loaded models
 * (each with its variants and rollout engine) -> typed tensors. It answers liveness, readiness,
 * server and model metadata, inference with Open Inference Protocol tensors, and the repository's
 * index, load and unload, for any protocol adapter; it knows nothing of HTTP. Errors are ApiErrors
 * (a stable code and status), which each adapter renders in its protocol.
 *
 * What an adapter must record for a request (who answered, what a plinth model scored) comes back
 * in the {@link InferOutcome}; the core never writes to the request.
 */
import type { ServiceConfig } from "../config.js";
import type { ModelStateLabel } from "../contract/metrics.js";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { GraphModel } from "../inference/graph-model.js";
import { STABLE_VARIANT, type VariantName } from "../inference/model-holder.js";
import type { LoadedModel } from "../inference/load-model.js";
import type { PlinthModel } from "../inference/model.js";
import type { RolloutEngine, Routed, Scored } from "../rollout/engine.js";
import { labelsOfResults } from "../rollout/shadow.js";
import { notReady } from "./availability.js";
import { classificationsInResults } from "./configured-io.js";
import { describeDefaultModel } from "./default-model-description.js";
import type { ModelRepository, RepositoryListener } from "./model-repository.js";
import {
  checkRequestedOutputs,
  pixelTensorContract,
  probabilityOutput,
  readPixelInput,
} from "./pixel-tensors.js";
import type { PredictionCounter } from "./prediction-counter.js";
import { checkRequest } from "./request-tensors.js";
import { shownName, type ModelLease, type ServedModel, type VariantState } from "./served-model.js";
import type { ServingRequest } from "./serving-request.js";
import { outputTensors } from "./tensor-codec.js";
import type {
  InferRequest,
  InferResponse,
  ModelMetadataResponse,
  RepositoryIndexEntry,
  ServerMetadataResponse,
} from "./v2-messages.js";

const SERVER_NAME = "plinth";
const SERVER_VERSION = "0.1.0";
const PLATFORM = "onnxruntime_onnx";
/** The protocol extension the repository endpoints implement (advertised only when they exist). */
const REPOSITORY_EXTENSION = "model_repository";

/** GET /ready/pod's answer: whether the pod may take traffic, and each model's part in it. */
export interface PodReadiness {
  readonly ready: boolean;
  /** `ready` (every model serves), `awaiting_version` (some await their first version), `not_ready`. */
  readonly status: "ready" | "awaiting_version" | "not_ready";
  readonly models: readonly {
    readonly name: string;
    readonly state: RepositoryIndexEntry["state"];
    readonly podReady: boolean;
    readonly variants: readonly VariantState[];
    /** Why the model is not READY, as callers may see it; "" when it is. */
    readonly reason: string;
    /** Why the model keeps the pod out of its Service; "" when it does not. */
    readonly podReason: string;
  }[];
}

/** What an inference produced, and what the adapter records of it. */
export interface InferOutcome {
  readonly response: InferResponse;
  /** Who answered, after any fallback. */
  readonly answer: { readonly variant: VariantName; readonly model: LoadedModel };
  /** What a plinth model scored (drift, the prediction log); undefined for a graph model. */
  readonly scored: Scored | undefined;
}

export class DataPlane {
  constructor(
    private readonly config: ServiceConfig,
    readonly repository: ModelRepository,
    private readonly predictions: PredictionCounter,
  ) {}

  /** The default model's engine (/predict, /predict-image, explain, the ops summary). */
  get defaultEngine(): RolloutEngine {
    // The default model is never unloaded, so its engine is always there.
    return this.repository.defaultModel.loadedEngine!;
  }

  /** The process serves: it answers at all. */
  live(): boolean {
    return true;
  }

  /**
   * The default model serves and every other model has had its first load attempt (a model that
   * failed is reported by the index, and does not hold the others back).
   */
  ready(): boolean {
    const { repository } = this;
    return repository.defaultModel.ready && repository.list().every((m) => m.isDefault || m.settled);
  }

  serverMetadata(): ServerMetadataResponse {
    const extensions = this.repository.multiModel ? [REPOSITORY_EXTENSION] : [];
    return { name: SERVER_NAME, version: SERVER_VERSION, extensions };
  }

  /**
   * The default model's name and stable version, when the service is ready; else 503 saying why
   * (loading, awaiting its first version: which registry and what to do, shutting down).
   */
  readyModel(): { readonly name: string; readonly version: string } {
    const model = this.defaultEngine.variants.current;
    if (model === undefined) throw this.defaultEngine.notReady();
    if (!this.ready()) throw notReady();
    return { name: model.name, version: model.version };
  }

  /**
   * Whether the pod may take traffic (GET /ready/pod, the kubelet's readiness): every model serves
   * or awaits the first version of a model its registry does not hold at all (and answers 503
   * saying so); a repository model an operator loaded or unloaded through the API no longer counts
   * (ServedModel.podReady). Unlike {@link ready}, such a pod is ready here: its explicit 503s and
   * admin panel must reach people, and a first deployment on an empty registry must complete.
   */
  podReadiness(): PodReadiness {
    const models = this.repository.list().map((m) => ({
      name: m.name,
      state: m.state,
      podReady: m.podReady,
      variants: m.variantStates,
      reason: m.callerReason,
      podReason: m.podReason,
    }));
    const ready = models.every((m) => m.podReady);
    const awaiting = models.some((m) => m.variants.some((v) => v.state === "awaiting_version"));
    return { ready, status: !ready ? "not_ready" : awaiting ? "awaiting_version" : "ready", models };
  }

  /** Each configured model variant's state (plinth_model_state). */
  variantStates(): { model: string; variant: string; state: ModelStateLabel }[] {
    return this.repository.list().flatMap((m) => m.variantStates.map((v) => ({ model: m.name, ...v })));
  }

  /** GET /metadata: the default model and how it is served; 503 while it is not loaded. */
  describeDefaultModel() {
    return describeDefaultModel(this.config, this.defaultEngine);
  }

  /** Whether the model (at `version`, when given) is ready; 404 unknown or not loaded, 503 loading. */
  modelReady(name: string, version: string | undefined): boolean {
    const served = this.served(name);
    this.addressedVariant(served, served.servingEngine(), version);
    return served.ready;
  }

  /** The model's tensors: the addressed version's, else stable's. */
  modelMetadata(name: string, version: string | undefined): ModelMetadataResponse {
    const served = this.served(name);
    const engine = served.servingEngine();
    const variant = this.addressedVariant(served, engine, version) ?? STABLE_VARIANT;
    const model = engine.variants.holder(variant)!.current!;
    return {
      name: model.name,
      versions: version === undefined ? servedVersions(engine) : [model.version],
      platform: PLATFORM,
      ...(model.kind === "graph" ? model.contract : pixelTensorContract(model)),
    };
  }

  /**
   * Runs an inference request on the model (at `version`, when given), on the variant its rollout
   * routes the request to. The model is held until the answer is there, so an unload waits for it.
   */
  async infer(
    request: ServingRequest,
    name: string,
    version: string | undefined,
    body: InferRequest,
  ): Promise<InferOutcome> {
    const served = this.served(name);
    const lease = served.acquire();
    try {
      const { engine } = lease;
      const routed = engine.route(request, this.addressedVariant(served, engine, version));
      if (routed.model.kind === "graph") {
        return await this.inferGraph(request, engine, { variant: routed.variant, model: routed.model }, body);
      }
      return await this.inferPixels(request, engine, { variant: routed.variant, model: routed.model }, body);
    } finally {
      lease.release();
    }
  }

  /**
   * A hold on the model requests address as `name`, for one request of the per-model prediction
   * routes (`/models/:name/predict`, ...): its rollout engine (the default model's is the one
   * /predict routes with, canary, shadow and blue-green included; a MODEL_REPOSITORY model's has its
   * stable variant only), held until `release`, so an unload waits for the request. 404
   * MODEL_NOT_FOUND naming the models this process has when none is `name`; 404 or 503 as
   * {@link ServedModel.acquire} when it cannot serve (not loaded; loading or waiting for its registry).
   */
  acquire(name: string): ModelLease {
    return this.served(name, true).acquire();
  }

  /** Every model, or only the READY ones. */
  repositoryIndex(readyOnly: boolean): RepositoryIndexEntry[] {
    const models = this.repository.list().filter((m) => !readyOnly || m.ready);
    return models.map((m) => m.indexEntry());
  }

  /** Loads the model (reloads it when it serves); resolves to its index entry. */
  async load(name: string, by: string | undefined): Promise<RepositoryIndexEntry> {
    return (await this.repository.load(name, by)).indexEntry();
  }

  /** Unloads the model once its in-flight requests finish; resolves to its index entry. */
  async unload(name: string, by: string | undefined): Promise<RepositoryIndexEntry> {
    return (await this.repository.unload(name, by)).indexEntry();
  }

  /** Subscribes to API loads and unloads (the audit log); returns the unsubscribe function. */
  onRepositoryAction(listener: RepositoryListener): () => void {
    return this.repository.onAction(listener);
  }

  /** Loads every model (the default must load, or this throws). */
  start(): Promise<void> {
    return this.repository.start();
  }

  /** Readiness false everywhere; requests keep being answered until the adapters stop. */
  startDraining(): void {
    this.repository.startDraining();
  }

  close(): Promise<void> {
    return this.repository.close();
  }

  /** The model requests address as `name`; 404 when none is (`listModels`: naming the ones there are). */
  private served(name: string, listModels = false): ServedModel {
    const served = this.repository.find(name);
    if (served !== undefined) return served;
    const models = this.repository.list().map((m) => JSON.stringify(m.servedName));
    const listed = listModels ? ` (this process has ${models.join(", ")})` : "";
    throw new ApiError(ErrorCode.MODEL_NOT_FOUND, `model ${shownName(name)} is not served here${listed}`);
  }

  /** The variant serving `version` (undefined: no version asked for); 404 when none does. */
  private addressedVariant(
    served: ServedModel,
    engine: RolloutEngine,
    version: string | undefined,
  ): VariantName | undefined {
    if (version === undefined) return undefined;
    const variant = engine.variantOfVersion(version);
    if (variant !== undefined) return variant;
    throw new ApiError(
      ErrorCode.MODEL_VERSION_NOT_FOUND,
      `model ${shownName(served.name)} version "${version.slice(0, 64)}" is not loaded ` +
        `(serving ${servedVersions(engine).join(", ")})`,
    );
  }

  /** A graph model's request: checked against its contract, run, its outputs returned as they are. */
  private async inferGraph(
    request: ServingRequest,
    engine: RolloutEngine,
    routed: Routed<GraphModel>,
    body: InferRequest,
  ): Promise<InferOutcome> {
    const { maxRowsPerRequest } = this.config.limits;
    const checked = checkRequest(body.inputs, body.outputs, routed.model.contract, maxRowsPerRequest);
    const answer = await engine.runGraph(
      request,
      routed,
      (model) => model.run(checked.feeds, checked.outputs, checked.rows),
      // Shadow agreement: a configured classification's labels, when the request asked for its output.
      (model, results) => labelsOfResults(model, results, checked.rows),
      checked.rows,
    );
    // Predictions are counted whichever protocol asked: a configured classification's rows here too.
    const classified = classificationsInResults(answer.model.io, answer.result, checked.rows);
    if (classified !== undefined) this.predictions.countPredictions(answer.model, answer.variant, classified);
    const response = {
      model_name: answer.model.name,
      model_version: answer.model.version,
      id: body.id ?? request.id,
      outputs: outputTensors(answer.result, checked.outputs),
    };
    return { response, answer, scored: undefined };
  }

  /** A plinth model's request: raw pixels in, normalised, scored, class probabilities out. */
  private async inferPixels(
    request: ServingRequest,
    engine: RolloutEngine,
    routed: Routed<PlinthModel>,
    body: InferRequest,
  ): Promise<InferOutcome> {
    checkRequestedOutputs(body, routed.model);
    const [rows, data] = readPixelInput(body, routed.model, this.config.limits.maxRowsPerRequest);
    const scored = await engine.score(request, routed, data, rows);
    this.predictions.countRows(scored, rows);
    const response = {
      model_name: scored.model.name,
      model_version: scored.model.version,
      id: body.id ?? request.id,
      outputs: [probabilityOutput(routed.model.metadata.output.name, scored)],
    };
    return { response, answer: scored, scored };
  }
}

/** Loaded versions, stable first. */
function servedVersions(engine: RolloutEngine): string[] {
  return engine.variants.holders().flatMap((h) => (h.current === undefined ? [] : [h.current.version]));
}
