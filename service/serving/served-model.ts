/**
 * One model the process serves: its rollout engine (the model's variants, routing and reloads)
 * while it is loaded, its state for the repository index, and the requests in flight on it, so an
 * unload stops new requests at once but releases the model only after those have finished.
 *
 * The state is read from the engine rather than kept beside it, so it cannot disagree with what
 * actually serves: LOADING until the stable variant has a version, READY while it serves,
 * UNAVAILABLE once unloaded, failed, being unloaded or shutting down. A model whose registry could
 * not be reached is UNAVAILABLE until the repository's next attempt (model-repository.ts), and
 * answers 503 with Retry-After meanwhile, since it will serve once the registry answers.
 */
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import type { RolloutEngine } from "../rollout/engine.js";
import { notReady } from "./availability.js";
import type { ModelMemory, ModelState, RepositoryIndexEntry } from "./v2-messages.js";

const LOAD_FAILED = "failed to load";
const OPERATORS_SEE = "(operators: POST /v2/repository/index)";

/** The repository's next attempt to load a model whose registry could not be reached. */
export interface PendingRetry {
  readonly at: Date;
  /** 1 for the first retry. */
  readonly attempt: number;
}

/** A request's hold on a loaded model: the engine to run it on; `release` once it is answered. */
export interface ModelLease {
  readonly engine: RolloutEngine;
  release(): void;
}

/** Model names in messages: bounded, since an unknown one comes from the request path. */
export const shownName = (name: string) => JSON.stringify(name.slice(0, 128));

export class ServedModel {
  private engine: RolloutEngine | undefined;
  /** Whether `engine` has been started (loaded its variants, started its alias watcher). */
  private started = false;
  /** Why the model is UNAVAILABLE while it has no engine. */
  private unavailableReason = "";
  private pendingRetry: PendingRetry | undefined;
  private unloading = false;
  private firstLoadSettled = false;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    /** The process's default model (MODEL_NAME): never unloaded; /predict, /ready, /metadata serve it. */
    readonly isDefault: boolean,
    private readonly createEngine: () => RolloutEngine,
  ) {
    this.engine = createEngine();
  }

  /** The engine while the model is loaded or loading; the default model always has one. */
  get loadedEngine(): RolloutEngine | undefined {
    return this.engine;
  }

  /**
   * The name requests address the model by: its stable version's own (a `models:/` reference may
   * name another registered model than MODEL_NAME), else the configured one.
   */
  get servedName(): string {
    return this.engine?.variants.current?.name ?? this.name;
  }

  get state(): ModelState {
    const engine = this.engine;
    if (engine === undefined || this.unloading) return "UNAVAILABLE";
    if (engine.variants.current === undefined) return "LOADING";
    return engine.variants.ready ? "READY" : "UNAVAILABLE";
  }

  /** Why the model is not READY; "" when it is. */
  get reason(): string {
    if (this.unloading) return "unloading: waiting for its in-flight requests";
    const engine = this.engine;
    if (engine === undefined) {
      const retry = this.pendingRetry;
      if (retry === undefined) return this.unavailableReason;
      return `${this.unavailableReason}; next attempt at ${retry.at.toISOString()} (retry ${retry.attempt})`;
    }
    if (engine.variants.current === undefined) return "loading";
    return engine.variants.ready ? "" : "the service is shutting down";
  }

  /**
   * {@link reason} as any caller may see it: a load error names files and registry hosts, so it is
   * for operators (POST /v2/repository/index); callers learn that the load failed.
   */
  get callerReason(): string {
    if (this.waitingToRetry) return `its model registry could not be reached; retrying ${OPERATORS_SEE}`;
    const reason = this.reason;
    return reason.startsWith(LOAD_FAILED) ? `${LOAD_FAILED} ${OPERATORS_SEE}` : reason;
  }

  /** Notes the repository's next attempt after the registry could not be reached; undefined: none. */
  retrying(next: PendingRetry | undefined): void {
    this.pendingRetry = next;
  }

  get ready(): boolean {
    return this.state === "READY";
  }

  /** True once the first load has succeeded or failed (server readiness waits for it). */
  get settled(): boolean {
    return this.firstLoadSettled;
  }

  /** What the loaded versions cost in memory; undefined while none is loaded. */
  get memory(): ModelMemory | undefined {
    const footprints = (this.engine?.variants.holders() ?? []).flatMap((h) =>
      h.current === undefined || h.footprint === undefined ? [] : [h.footprint],
    );
    if (footprints.length === 0) return undefined;
    return {
      onnx_file_bytes: footprints.reduce((sum, f) => sum + f.onnxFileBytes, 0),
      rss_delta_at_load_bytes: footprints.reduce((sum, f) => sum + f.rssDeltaAtLoadBytes, 0),
    };
  }

  indexEntry(): RepositoryIndexEntry {
    const version = this.engine?.variants.current?.version;
    const memory = this.memory;
    return {
      name: this.servedName,
      ...(version === undefined ? {} : { version }),
      state: this.state,
      reason: this.reason,
      ...(memory === undefined ? {} : { memory }),
    };
  }

  /**
   * The engine for one request, counted in flight until `release`: 404 while the model is not
   * loaded (unloaded, failed, being unloaded), 503 while it is loading or waits to retry its registry.
   */
  acquire(): ModelLease {
    const engine = this.servingEngine();
    this.inFlight++;
    let released = false;
    return {
      engine,
      release: () => {
        if (released) return;
        released = true;
        if (--this.inFlight === 0) this.wakeIdleWaiters();
      },
    };
  }

  /** The engine of a model with a stable version (metadata, readiness); 404 or 503 as {@link acquire}. */
  servingEngine(): RolloutEngine {
    const engine = this.engine;
    if (this.waitingToRetry) {
      const seconds = (this.pendingRetry!.at.getTime() - Date.now()) / 1000;
      throw notReady(`model ${shownName(this.name)} is not ready: ${this.callerReason}`, seconds);
    }
    if (engine === undefined || this.unloading) {
      throw new ApiError(
        ErrorCode.MODEL_NOT_FOUND,
        `model ${shownName(this.name)} is not loaded: ${this.callerReason}`,
      );
    }
    if (engine.variants.current === undefined) throw notReady();
    return engine;
  }

  /**
   * Loads the model: starts its engine (stable must load), or, when it is already serving,
   * re-resolves its references and swaps in what changed (as POST /reload-model does). Throws
   * MODEL_LOAD_FAILED (nothing serves) or RELOAD_FAILED (the previous version keeps serving).
   */
  async load(by: string | undefined): Promise<void> {
    if (this.engine !== undefined && this.started) {
      const events = await this.engine.reload({ trigger: "api", ...(by === undefined ? {} : { by }) });
      const failed = events.filter((e) => e.result === "failed");
      if (failed.length > 0) {
        throw new ApiError(
          ErrorCode.RELOAD_FAILED,
          `model ${shownName(this.name)}: reload failed (the previous version keeps serving): ` +
            failed.map((e) => `${e.variant}: ${e.error}`).join("; "),
        );
      }
      return;
    }
    try {
      await this.start();
    } catch (err) {
      throw new ApiError(
        ErrorCode.MODEL_LOAD_FAILED,
        `model ${shownName(this.name)} could not be loaded: ${(err as Error).message}`,
      );
    }
  }

  /**
   * Loads the variants and starts the alias watcher (at process start, or a load of an unloaded
   * model). A model other than the default that fails is left UNAVAILABLE, naming why; the error
   * is rethrown as it is (the default model's failure stops the process).
   */
  async start(): Promise<void> {
    const engine = (this.engine ??= this.createEngine());
    try {
      await engine.start();
      this.started = true;
    } catch (err) {
      if (!this.isDefault) {
        await engine.close();
        this.engine = undefined;
        this.unavailableReason = `${LOAD_FAILED}: ${(err as Error).message}`;
      }
      throw err;
    } finally {
      this.firstLoadSettled = true;
    }
  }

  /**
   * Unloads the model: new requests get 404 at once, requests in flight finish on it, then its
   * variants are released. The default model refuses (400); an unloaded model stays so.
   */
  async unload(): Promise<void> {
    if (this.isDefault) {
      throw new ApiError(
        ErrorCode.INVALID_REQUEST,
        `model ${shownName(this.name)} is this process's default model (MODEL_NAME): it cannot be unloaded, ` +
          "since /predict, /predict-image, /ready and /metadata serve it; only MODEL_REPOSITORY models unload",
      );
    }
    const engine = this.engine;
    if (engine === undefined) {
      // A model waiting to retry its registry stops waiting: the operator wants it unloaded.
      if (this.pendingRetry !== undefined) this.unavailableReason = "unloaded";
      this.pendingRetry = undefined;
      return;
    }
    this.unloading = true;
    try {
      await this.whenIdle();
      await engine.close();
    } finally {
      this.engine = undefined;
      this.started = false;
      this.unloading = false;
      this.unavailableReason = "unloaded";
    }
  }

  startDraining(): void {
    this.engine?.variants.startDraining();
  }

  /** Shutdown: the HTTP layer has drained requests; release the variants. */
  async close(): Promise<void> {
    await this.engine?.close();
  }

  /** Unloaded after its registry could not be reached, with the repository's next attempt pending. */
  private get waitingToRetry(): boolean {
    return this.engine === undefined && this.pendingRetry !== undefined;
  }

  private whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
