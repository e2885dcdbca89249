/**
 * The models this process serves: the default model (MODEL_NAME, with its rollout: stable, an
 * optional candidate, canary or shadow) and, when MODEL_REPOSITORY names them, further models, each
 * with a stable variant only. Each has its own rollout engine, so its versions resolve, load, warm,
 * hot-reload and follow their alias exactly as the default model's do.
 *
 * The loads and unloads this repository starts (at process start, through the API, and its retries)
 * run one at a time, in the order asked: two of them never hold two models' warm-up peaks at once,
 * a load and an unload of one model cannot interleave, and a load's memory delta
 * (inference/load-footprint.ts) is not mixed with another of these. Swaps a model's rollout engine
 * starts itself (its alias watcher, POST /reload-model) are not queued here: they may overlap
 * these and each other. Every API load and unload is reported to the listeners (the audit log)
 * with who asked and what came of it.
 *
 * A model beside the default one whose registry cannot be reached (connection refused, timeout,
 * 429, 5xx) does not wait for it inside its load, which would hold the queue and the service's
 * readiness: the load fails at once (registry/source.ts, withoutRegistryWait), the model is
 * UNAVAILABLE naming the registry error and the next attempt, each failed attempt is counted in
 * `plinth_model_reloads_total{result="failed"}`, and the load is retried with capped exponential
 * backoff (0.5 s doubling to 30 s, as the default model's startup wait) until it succeeds.
 */
import type { ServiceConfig } from "../config.js";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { ResolvedModelFile } from "../inference/model.js";
import type { ModelSource } from "../inference/model-holder.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import {
  backoffDelayMs,
  DEFAULT_STARTUP_RETRY,
  isTransientRegistryError,
  RegistryUnreachableError,
  withoutRegistryWait,
} from "../registry/source.js";
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

/**
 * A repository model's source: it does not wait for an unreachable registry, and it keeps why its
 * last resolve failed, which the load's error (a reload event's text) no longer carries.
 */
class RepositoryModelSource implements ModelSource {
  /** The last resolve's failure when the registry could not be reached; else undefined. */
  unreachable: Error | undefined;
  readonly getAliases?: (name: string) => Promise<Record<string, string>>;

  constructor(private readonly source: ModelSource) {
    if (source.getAliases !== undefined) this.getAliases = (name) => source.getAliases!(name);
  }

  async resolve(name: string, ref: string): Promise<ResolvedModelFile> {
    try {
      const file = await this.source.resolve(name, ref);
      this.unreachable = undefined;
      return file;
    } catch (err) {
      this.unreachable = isTransientRegistryError(err) ? (err as Error) : undefined;
      throw err;
    }
  }
}

/** A repository model's pending retry: the attempt it will be, and its timer. */
interface Retry {
  readonly attempt: number;
  readonly timer: NodeJS.Timeout;
}

export class ModelRepository {
  readonly defaultModel: ServedModel;
  private readonly models = new Map<string, ServedModel>();
  private readonly sources = new Map<ServedModel, RepositoryModelSource>();
  private readonly retries = new Map<ServedModel, Retry>();
  private readonly listeners = new Set<RepositoryListener>();
  /** The tail of the queue of loads and unloads. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Shutdown has begun: no more retries. */
  private stopping = false;

  constructor(
    config: ServiceConfig,
    source: ModelSource,
    metrics: ServiceMetrics,
    private readonly log: ServingLog,
  ) {
    const engineFor = (modelConfig: ServiceConfig, modelSource: ModelSource) => () =>
      new RolloutEngine(modelConfig, modelSource, metrics, log);
    const { name, repository } = config.model;
    this.defaultModel = new ServedModel(name, true, engineFor(config, source));
    this.models.set(name, this.defaultModel);
    for (const entry of repository) {
      const modelConfig = repositoryModelConfig(config, entry.name, entry.reference);
      const modelSource = new RepositoryModelSource(withoutRegistryWait(source));
      const model = new ServedModel(entry.name, false, engineFor(modelConfig, modelSource));
      this.models.set(entry.name, model);
      this.sources.set(model, modelSource);
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
   * model; one that fails is logged and left UNAVAILABLE, naming why, while the rest serve (and
   * retried while its registry cannot be reached).
   */
  start(): Promise<void> {
    return this.enqueue(async () => {
      await this.defaultModel.start();
      for (const model of this.list()) if (!model.isDefault) await this.startBesideDefault(model);
    });
  }

  /**
   * Loads `name` (or reloads it when it serves); 404 for a model the repository does not hold. A
   * model waiting to retry its registry is tried now, its backoff starting afresh if it fails again.
   */
  load(name: string, by: string | undefined): Promise<ServedModel> {
    const model = this.known(name);
    return this.enqueue(() =>
      this.reported("load", model, by, async () => {
        this.stopRetrying(model);
        try {
          await model.load(by);
        } catch (err) {
          if (model.loadedEngine === undefined) this.retryLater(model);
          throw err;
        }
      }),
    );
  }

  /**
   * Unloads `name` once its in-flight requests finish (and stops retrying it); 404 for a model the
   * repository does not hold.
   */
  unload(name: string, by: string | undefined): Promise<ServedModel> {
    const model = this.known(name);
    return this.enqueue(() =>
      this.reported("unload", model, by, async () => {
        try {
          await model.unload();
        } finally {
          this.stopRetrying(model);
        }
      }),
    );
  }

  /** Subscribes to API loads and unloads; returns the unsubscribe function. */
  onAction(listener: RepositoryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  startDraining(): void {
    this.stopAllRetries();
    for (const model of this.models.values()) model.startDraining();
  }

  /** Waits for a load or unload in progress, then releases every model. */
  async close(): Promise<void> {
    this.stopAllRetries();
    await this.queue.catch(() => undefined);
    await Promise.all(this.list().map((m) => m.close()));
  }

  /** Starts a model other than the default (in the queue); on failure, retries it or logs why not. */
  private async startBesideDefault(model: ServedModel): Promise<void> {
    try {
      await model.start();
    } catch (err) {
      if (!this.retryLater(model)) {
        this.log.error({ err, model: model.name }, "repository model failed to load; it stays unavailable");
      }
      return;
    }
    this.stopRetrying(model);
    // A model awaiting its first version was reported by its engine; its watcher polls for it.
    if (model.loadedEngine?.variants.current === undefined) return;
    this.log.info(
      { model: model.name, version: model.indexEntry().version, memory: model.memory },
      "repository model loaded and warmed",
    );
  }

  /**
   * Schedules the next load of a model whose last load failed because its registry could not be
   * reached; false (nothing scheduled) for any other failure, or once shutdown has begun.
   */
  private retryLater(model: ServedModel): boolean {
    const unreachable = this.sources.get(model)?.unreachable;
    if (unreachable === undefined || this.stopping) {
      this.stopRetrying(model);
      return false;
    }
    const attempt = (this.retries.get(model)?.attempt ?? 0) + 1;
    const delayMs = backoffDelayMs(DEFAULT_STARTUP_RETRY, attempt);
    const timer: NodeJS.Timeout = setTimeout(() => {
      // A newer schedule, an API load or unload, or shutdown replaced this timer: nothing to do.
      const run = () =>
        this.retries.get(model)?.timer === timer ? this.startBesideDefault(model) : undefined;
      void this.enqueue(async () => run()).catch(() => undefined);
    }, delayMs);
    // Retries alone must not keep a stopping process alive.
    timer.unref();
    this.retries.set(model, { attempt, timer });
    model.retrying({ at: new Date(Date.now() + delayMs), attempt });
    this.log.warn(
      {
        model: model.name,
        ...(unreachable instanceof RegistryUnreachableError ? { registry: unreachable.location } : {}),
        err: unreachable.message,
        attempt,
        retryInMs: delayMs,
      },
      "repository model's registry could not be reached; not ready, retrying",
    );
    return true;
  }

  private stopRetrying(model: ServedModel): void {
    clearTimeout(this.retries.get(model)?.timer);
    this.retries.delete(model);
    model.retrying(undefined);
  }

  private stopAllRetries(): void {
    this.stopping = true;
    for (const model of [...this.retries.keys()]) this.stopRetrying(model);
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
