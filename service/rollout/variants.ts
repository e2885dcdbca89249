/**
 * The stable and the optional candidate model, each in its own {@link ModelHolder}, and their
 * reloads: by request (`POST /reload-model`), at start, or by the alias watcher. Every reload
 * attempt becomes a {@link ReloadEvent} (metric, last-reload summary, listeners such as the audit
 * log). A failed reload never throws here: the old version keeps serving and the event says why.
 */
import { EventEmitter } from "node:events";
import type { ServiceConfig } from "../config.js";
import {
  CANDIDATE_VARIANT,
  ModelHolder,
  STABLE_VARIANT,
  type ModelSource,
  type VariantName,
} from "../inference/model-holder.js";
import type { LoadedModel } from "../inference/load-model.js";
import { contractDifference } from "../serving/contract.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import type { ReloadEvent, ReloadTrigger } from "./summary.js";

export interface ReloadRequest {
  /** Default: every configured variant. */
  readonly variant?: VariantName | "all";
  readonly trigger: ReloadTrigger;
  readonly by?: string;
}

const RELOAD_EVENT = "reload";

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The candidate's ONNX Runtime settings. A shadow candidate runs in a worker thread unless
 * INFERENCE_OFFLOAD is `never`: its answers never reach a response, so the thread hop costs clients
 * nothing, while its batches on the event loop would hold stable's requests behind them (three
 * paired runs at 100 % shadow and a fixed rate: stable's p99 64-100 ms with the candidate inline,
 * 24-52 ms in a worker; ~60 MB more RSS).
 * A canary candidate answers requests, so it follows the setting as stable does.
 */
export function candidateOrt(config: Pick<ServiceConfig, "ort" | "rollout">): ServiceConfig["ort"] {
  const shadowing = config.rollout.strategy === "shadow";
  return shadowing && config.ort.offload === "auto" ? { ...config.ort, offload: "always" } : config.ort;
}

export class ModelVariants {
  readonly stable: ModelHolder;
  readonly candidate: ModelHolder | undefined;
  private readonly events = new EventEmitter();
  private last: ReloadEvent | null = null;
  private aliasMap: Record<string, string> = {};
  /** The last failure per variant, so the watcher reports a broken version once, not every poll. */
  private readonly lastFailure = new Map<VariantName, string>();

  constructor(
    private readonly source: ModelSource,
    private readonly config: Pick<ServiceConfig, "model" | "ort" | "batching" | "rollout">,
    private readonly metrics: ServiceMetrics,
  ) {
    this.stable = new ModelHolder(source, STABLE_VARIANT, config.model.stable, config, metrics);
    this.candidate =
      config.model.candidate === undefined
        ? undefined
        : new ModelHolder(
            source,
            CANDIDATE_VARIANT,
            config.model.candidate,
            { ...config, ort: candidateOrt(config) },
            metrics,
            (m) => this.checkCandidate(m),
          );
  }

  /** The stable model (the one /ready and /metadata describe). */
  get current(): LoadedModel | undefined {
    return this.stable.current;
  }

  /** Stable is loaded and the service is not shutting down; a missing candidate only falls back. */
  get ready(): boolean {
    return this.stable.ready;
  }

  get draining(): boolean {
    return this.stable.draining;
  }

  get lastReload(): ReloadEvent | null {
    return this.last;
  }

  /** The registry's aliases as of the last reload or watcher poll. */
  get aliases(): Record<string, string> {
    return { ...this.aliasMap };
  }

  holders(): ModelHolder[] {
    return this.candidate === undefined ? [this.stable] : [this.stable, this.candidate];
  }

  holder(variant: VariantName): ModelHolder | undefined {
    return variant === STABLE_VARIANT ? this.stable : this.candidate;
  }

  /** Subscribes to reload events; returns the unsubscribe function. */
  onReload(listener: (event: ReloadEvent) => void): () => void {
    this.events.on(RELOAD_EVENT, listener);
    return () => this.events.off(RELOAD_EVENT, listener);
  }

  startDraining(): void {
    for (const h of this.holders()) h.startDraining();
  }

  async close(): Promise<void> {
    await Promise.all(this.holders().map((h) => h.close()));
  }

  /** Reloads the requested variants (stable first, so a candidate is checked against it). */
  async reload(request: ReloadRequest): Promise<ReloadEvent[]> {
    const which = request.variant ?? "all";
    const targets = this.holders().filter((h) => which === "all" || h.variant === which);
    const events: ReloadEvent[] = [];
    for (const holder of targets) events.push(await this.reloadOne(holder, request));
    await this.refreshAliases();
    return events;
  }

  /**
   * Loads every variant at start. Throws if stable cannot be loaded (the service cannot serve),
   * unless its registry holds no version for it yet: it then awaits its first version (the
   * watcher polls for it). A candidate that fails is reported and its traffic falls back to stable.
   */
  async loadAtStart(): Promise<ReloadEvent[]> {
    const events = await this.reload({ trigger: "startup" });
    const stable = events.find((e) => e.variant === STABLE_VARIANT)!;
    if (stable.result === "failed" && this.stable.awaiting === undefined)
      throw new Error(`stable model ${this.stable.ref}: ${stable.error}`);
    return events;
  }

  /**
   * Some variant serves no version yet: it awaits its first, or its first failed to load (the
   * watcher then polls for a new one with backoff, whatever its interval, so registering a fixed
   * version, or moving the alias to one, needs no restart).
   */
  get awaitingFirstVersion(): boolean {
    return this.withoutVersion().length > 0;
  }

  /** A watcher pass over the variants that serve no version yet only. */
  pollAwaiting(): Promise<ReloadEvent[]> {
    return this.poll(this.withoutVersion());
  }

  private withoutVersion(): ModelHolder[] {
    return this.holders().filter((h) => h.current === undefined && !h.draining);
  }

  /**
   * One watcher pass: reloads each variant (of `holders`, default all) whose reference now names
   * another version. A version that failed to load is not retried until the reference moves again
   * (or a reload is asked for).
   */
  async poll(holders: readonly ModelHolder[] = this.holders()): Promise<ReloadEvent[]> {
    const events: ReloadEvent[] = [];
    for (const holder of holders) {
      let version: string;
      try {
        version = (await holder.resolve()).version;
      } catch (err) {
        const event = this.failed(holder, { trigger: "watcher" }, null, err);
        if (this.noteFailure(holder.variant, event)) events.push(event);
        continue;
      }
      if (version === holder.current?.version) continue;
      if (this.lastFailure.get(holder.variant) === version) continue;
      const event = await this.attempt(holder, { trigger: "watcher" }, version);
      if (event.result !== "failed" || this.noteFailure(holder.variant, event)) events.push(event);
    }
    // Aliases first, events after: a listener that reads the snapshot on an event must see the
    // aliases that caused it (regression: a flaky "champion: 1" right after the swap to 3).
    await this.refreshAliases();
    return events.map((event) => this.publish(event));
  }

  private async reloadOne(holder: ModelHolder, request: ReloadRequest): Promise<ReloadEvent> {
    let attempted: string;
    try {
      attempted = (await holder.resolve()).version;
    } catch (err) {
      const event = this.failed(holder, request, null, err);
      this.noteFailure(holder.variant, event);
      return this.publish(event);
    }
    const event = await this.attempt(holder, request, attempted);
    if (event.result === "failed") this.noteFailure(holder.variant, event);
    return this.publish(event);
  }

  private async attempt(
    holder: ModelHolder,
    request: ReloadRequest,
    attempted: string,
  ): Promise<ReloadEvent> {
    const previous = holder.current?.version ?? null;
    try {
      const result = await holder.reload();
      this.lastFailure.delete(holder.variant);
      return {
        ...this.base(holder, request),
        result: result.changed ? "loaded" : "unchanged",
        previousVersion: previous,
        version: result.version,
        attemptedVersion: result.version,
      };
    } catch (err) {
      return this.failed(holder, request, attempted, err);
    }
  }

  private base(holder: ModelHolder, request: Pick<ReloadRequest, "trigger" | "by">) {
    return {
      at: new Date().toISOString(),
      variant: holder.variant,
      trigger: request.trigger,
      ...(request.by === undefined ? {} : { by: request.by }),
    };
  }

  private failed(
    holder: ModelHolder,
    request: Pick<ReloadRequest, "trigger" | "by">,
    attempted: string | null,
    err: unknown,
  ): ReloadEvent {
    holder.noteFailure(err);
    const version = holder.current?.version ?? null;
    return {
      ...this.base(holder, request),
      result: "failed",
      previousVersion: version,
      version,
      attemptedVersion: attempted,
      error: (err as Error).message,
    };
  }

  /** Records a failure; true when it differs from the variant's previous one (worth reporting). */
  private noteFailure(variant: VariantName, event: ReloadEvent): boolean {
    const key = event.attemptedVersion ?? `unresolved: ${event.error}`;
    const isNew = this.lastFailure.get(variant) !== key;
    this.lastFailure.set(variant, key);
    return isNew;
  }

  private publish(event: ReloadEvent): ReloadEvent {
    this.last = event;
    this.metrics.modelReloads.labels(this.config.model.name, event.variant, event.result).inc();
    this.events.emit(RELOAD_EVENT, event);
    return event;
  }

  private async refreshAliases(): Promise<void> {
    if (this.source.getAliases === undefined) return;
    try {
      this.aliasMap = await this.source.getAliases(this.config.model.name);
    } catch {
      // Aliases are informational; resolving the references already reported any registry fault.
    }
  }

  /** A candidate must take the same input and predict the same labels as stable (a graph model:
   *  the same tensors), or routing, fallback and shadow agreement would compare different things. */
  private checkCandidate(candidate: LoadedModel): void {
    const stable = this.stable.current;
    if (stable === undefined) return;
    if (candidate.kind !== stable.kind) {
      const kind = (m: LoadedModel) =>
        m.kind === "plinth" ? "has plinth metadata" : "has no plinth metadata";
      throw new Error(`candidate version ${candidate.version} ${kind(candidate)}, stable ${kind(stable)}`);
    }
    if (candidate.kind === "graph") {
      const difference = contractDifference(candidate.contract, stable.contract);
      if (difference !== undefined)
        throw new Error(
          `candidate version ${candidate.version} has other tensors than stable: ${difference}`,
        );
      return;
    }
    if (stable.kind !== "plinth") return;
    if (!sameShape(candidate.metadata.input.shape, stable.metadata.input.shape)) {
      throw new Error(
        `candidate version ${candidate.version} takes input [${candidate.metadata.input.shape.join(",")}], ` +
          `stable takes [${stable.metadata.input.shape.join(",")}]`,
      );
    }
    if (candidate.labels.join("\n") !== stable.labels.join("\n")) {
      throw new Error(`candidate version ${candidate.version} predicts other labels than stable`);
    }
  }
}
