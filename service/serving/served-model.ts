/**
 * One model the process serves: its rollout engine (the model's variants, routing and reloads)
 * while it is loaded, its state for the repository index, and the requests in flight on it, so an
 * unload stops new requests at once but releases the model only after those have finished.
 *
 * The state is read from the engine rather than kept beside it, so it cannot disagree with what
 * actually serves: LOADING until the stable variant has a version, READY while it serves,
 * UNAVAILABLE once unloaded, failed, being unloaded or shutting down. A model whose registry could
 * not be reached is UNAVAILABLE until the repository's next attempt (model-repository.ts), and
 * answers 503 with Retry-After meanwhile, since it will serve once the registry answers. A model
 * whose registry answers but holds no version for it yet is UNAVAILABLE too, awaiting its first
 * version: its engine runs and polls the registry (rollout/watcher.ts), and it answers 503 naming
 * the registry and what to do until that version is loaded.
 */
import type { ModelStateLabel } from "../contract/metrics.js";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { STABLE_VARIANT, type VariantName } from "../inference/model-holder.js";
import type { RolloutEngine } from "../rollout/engine.js";
import { describeFailedReloads } from "../rollout/summary.js";
import { ENV } from "../contract/service-env.js";
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

/** One variant's state (plinth_model_state, GET /ready/pod). */
export interface VariantState {
  readonly variant: VariantName;
  readonly state: ModelStateLabel;
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
  /** Unloaded through the repository API (not failed): the operator's choice. */
  private unloaded = false;
  /**
   * An operator has loaded or unloaded it through the repository API since the process started:
   * its state is theirs to watch (the index), and no longer holds the pod's readiness, so a
   * failed API load of one model never takes a serving pod out of its Service.
   */
  private operated = false;
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
    if (engine.variants.current === undefined)
      return engine.variants.stable.awaiting === undefined ? "LOADING" : "UNAVAILABLE";
    return engine.variants.ready ? "READY" : "UNAVAILABLE";
  }

  /** Each configured variant's state; a model without an engine reports its stable variant's. */
  get variantStates(): VariantState[] {
    const engine = this.engine;
    if (engine !== undefined && !this.unloading)
      return engine.variants.holders().map((h) => ({ variant: h.variant, state: h.state }));
    const state: ModelStateLabel = this.waitingToRetry
      ? "registry_unreachable"
      : this.unloaded || this.unloading
        ? "unloaded"
        : "load_failed";
    return [{ variant: STABLE_VARIANT, state }];
  }

  /**
   * Whether this model lets the pod take traffic (GET /ready/pod): every variant serves, or awaits
   * the first version of a model its registry does not hold at all (a fresh stack: it answers 503
   * naming why, which people must see). Starting, loading, an alias or version missing on a model
   * that has versions (a wrong reference, most likely), a failed load of a version that exists, an
   * unreachable registry or shutting down: not, so a rollout stalls on it while the pods it would
   * replace keep serving. A model an operator loaded or unloaded through the API since the start
   * does not hold it (the index says how that went); shutting down still does.
   */
  get podReady(): boolean {
    return this.podReason === "";
  }

  /** Why this model keeps the pod out of its Service (naming the variants that do); "" when it does not. */
  get podReason(): string {
    if (this.variantStates.some((v) => v.state === "draining")) return "the service is shutting down";
    if (this.operated) return "";
    const engine = this.engine;
    if (engine === undefined || this.unloading) return this.callerReason || "loading";
    return engine.variants
      .holders()
      .filter((h) => h.state !== "ready" && h.awaiting?.modelUnregistered !== true)
      .map((h) => (h.awaiting === undefined ? `${h.variant} ${h.state}` : h.notLoadedReason!))
      .join("; ");
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
    const { stable } = engine.variants;
    // A load attempt that failed ends with the engine gone (above); until then it is loading.
    if (engine.variants.current === undefined)
      return stable.awaiting === undefined ? "loading" : stable.notLoadedReason!;
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
    if (engine.variants.current === undefined) throw engine.notReady();
    return engine;
  }

  /**
   * Loads the model: starts its engine (stable must load), or, when it is already serving,
   * re-resolves its references and swaps in what changed (as POST /reload-model does). Throws
   * MODEL_LOAD_FAILED (nothing serves) or RELOAD_FAILED (saying, per variant, what still serves).
   */
  async load(by: string | undefined): Promise<void> {
    if (!this.isDefault) this.operated = true;
    if (this.engine !== undefined && this.started) {
      const events = await this.engine.reload({ trigger: "api", ...(by === undefined ? {} : { by }) });
      const failed = events.filter((e) => e.result === "failed");
      if (failed.length > 0) {
        throw new ApiError(
          ErrorCode.RELOAD_FAILED,
          `model ${shownName(this.name)}: reload failed: ${describeFailedReloads(failed)}`,
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
   * is rethrown; the default model's, naming its setting, stops the process.
   */
  async start(): Promise<void> {
    const engine = (this.engine ??= this.createEngine());
    this.unloaded = false;
    try {
      await engine.start();
      this.started = true;
    } catch (err) {
      if (!this.isDefault) {
        await engine.close();
        this.engine = undefined;
        this.unavailableReason = `${LOAD_FAILED}: ${(err as Error).message}`;
        throw err;
      }
      // The process stops: say which setting holds the reference that could not be served.
      throw new Error(`${(err as Error).message} (the reference is set by ${ENV.MODEL_STABLE})`, {
        cause: err,
      });
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
    this.operated = true;
    const engine = this.engine;
    if (engine === undefined) {
      // A model waiting to retry its registry stops waiting, and a failed one stops holding the
      // pod's readiness (GET /ready/pod): the operator wants it unloaded.
      this.unavailableReason = "unloaded";
      this.unloaded = true;
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
      this.unloaded = true;
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
