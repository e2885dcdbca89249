/**
 * The models this process serves: the default model (MODEL_NAME, with its rollout: stable, an
 * optional candidate, canary or shadow) and, when MODEL_REPOSITORY names them, further models, each
 * with a stable variant only. Each has its own rollout engine, so its versions resolve, load, warm,
 * hot-reload and follow their alias exactly as the default model's do.
 *
 * Loads and unloads run one at a time, in the order asked: a load's memory delta is then mostly its
 * own (inference/load-footprint.ts), two loads never hold two models' warm-up peaks at once, and a
 * load and an unload of one model cannot interleave. Every API load and unload is reported to the
 * listeners (the audit log) with who asked and what came of it.
 */
import type { ServiceConfig } from "../config.js";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { ModelSource } from "../inference/model-holder.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import { RolloutEngine } from "../rollout/engine.js";
import { ServedModel, shownName } from "./served-model.js";
import type { ServingLog } from "./serving-request.js";

/** One load or unload asked for through the API, for the audit log. */
export interface RepositoryAction {
  readonly at: string;
  readonly action: "load" | "unload";
  readonly model: string;
  /** The caller's identity. */
  readonly by?: string;
  readonly result: "ok" | "failed";
  /** The stable version serving after the action; null when none. */
  readonly version: string | null;
  readonly error?: string;
}

export type RepositoryListener = (action: RepositoryAction) => void;

/**
 * The settings of a model served beside the default one: its own name and reference, no candidate
 * (rollouts are the default model's), everything else (batching, threads, watcher) shared.
 */
function repositoryModelConfig(config: ServiceConfig, name: string, reference: string): ServiceConfig {
  return {
    ...config,
    model: { ...config.model, name, stable: reference, candidate: undefined },
    rollout: { ...config.rollout, strategy: "single", candidateWeight: 0, shadowPercent: 0 },
  };
}

export class ModelRepository {
  readonly defaultModel: ServedModel;
  private readonly models = new Map<string, ServedModel>();
  private readonly listeners = new Set<RepositoryListener>();
  /** The tail of the queue of loads and unloads. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    config: ServiceConfig,
    source: ModelSource,
    metrics: ServiceMetrics,
    private readonly log: ServingLog,
  ) {
    const engineFor = (modelConfig: ServiceConfig) => () =>
      new RolloutEngine(modelConfig, source, metrics, log);
    const { name, repository } = config.model;
    this.defaultModel = new ServedModel(name, true, engineFor(config));
    this.models.set(name, this.defaultModel);
    for (const entry of repository) {
      const modelConfig = repositoryModelConfig(config, entry.name, entry.reference);
      this.models.set(entry.name, new ServedModel(entry.name, false, engineFor(modelConfig)));
    }
  }

  /** Whether MODEL_REPOSITORY adds models to the default one (the repository endpoints exist then). */
  get multiModel(): boolean {
    return this.models.size > 1;
  }

  /** The model requests address as `name` (its served name), or undefined when none is. */
  find(name: string): ServedModel | undefined {
    const model = this.models.get(name);
    if (model !== undefined && model.servedName === name) return model;
    return this.defaultModel.servedName === name ? this.defaultModel : undefined;
  }

  /** Every model, the default first, then MODEL_REPOSITORY's order. */
  list(): ServedModel[] {
    return [...this.models.values()];
  }

  /**
   * Loads the default model (its failure is thrown: the process cannot serve), then every other
   * model; one that fails is logged and left UNAVAILABLE, naming why, while the rest serve.
   */
  start(): Promise<void> {
    return this.enqueue(async () => {
      await this.defaultModel.start();
      for (const model of this.list()) {
        if (model.isDefault) continue;
        try {
          await model.start();
          this.log.info(
            { model: model.name, version: model.indexEntry().version, memory: model.memory },
            "repository model loaded and warmed",
          );
        } catch (err) {
          this.log.error({ err, model: model.name }, "repository model failed to load; it stays unavailable");
        }
      }
    });
  }

  /** Loads `name` (or reloads it when it serves); 404 for a model the repository does not hold. */
  load(name: string, by: string | undefined): Promise<ServedModel> {
    const model = this.known(name);
    return this.enqueue(() => this.reported("load", model, by, () => model.load(by)));
  }

  /** Unloads `name` once its in-flight requests finish; 404 for a model the repository does not hold. */
  unload(name: string, by: string | undefined): Promise<ServedModel> {
    const model = this.known(name);
    return this.enqueue(() => this.reported("unload", model, by, () => model.unload()));
  }

  /** Subscribes to API loads and unloads; returns the unsubscribe function. */
  onAction(listener: RepositoryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  startDraining(): void {
    for (const model of this.models.values()) model.startDraining();
  }

  /** Waits for a load or unload in progress, then releases every model. */
  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    await Promise.all(this.list().map((m) => m.close()));
  }

  private known(name: string): ServedModel {
    const model = this.models.get(name);
    if (model !== undefined) return model;
    throw new ApiError(
      ErrorCode.MODEL_NOT_FOUND,
      `model ${shownName(name)} is not in this service's model repository (MODEL_NAME and MODEL_REPOSITORY)`,
    );
  }

  private enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async reported(
    action: RepositoryAction["action"],
    model: ServedModel,
    by: string | undefined,
    run: () => Promise<void>,
  ): Promise<ServedModel> {
    let error: string | undefined;
    try {
      await run();
      return model;
    } catch (err) {
      error = (err as Error).message;
      throw err;
    } finally {
      const report: RepositoryAction = {
        at: new Date().toISOString(),
        action,
        model: model.name,
        ...(by === undefined ? {} : { by }),
        result: error === undefined ? "ok" : "failed",
        version: model.indexEntry().version ?? null,
        ...(error === undefined ? {} : { error }),
      };
      for (const listener of this.listeners) listener(report);
    }
  }
}
