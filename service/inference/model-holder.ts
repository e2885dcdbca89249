/**
 * Holds the serving model of one variant (stable or candidate) and replaces it safely: a reload
 * loads and warms the new version aside, swaps it in with one assignment (requests already holding
 * the old model finish on it), and only then drains and releases the old one. A failed load leaves
 * the old version serving. Each load's memory footprint is kept and exported per model and variant
 * (load-footprint.ts), and so is what the model supports (capabilities.ts), so the promotion gates
 * read whether drift and shadow agreement apply to a candidate instead of guessing.
 */
import type { ServiceConfig } from "../config.js";
import type { ModelCapabilityLabel, ModelStateLabel } from "../contract/metrics.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import { AwaitingVersionError, isTransientRegistryError } from "../registry/source.js";
import { capabilitiesOf, type ModelCapabilities } from "../serving/capabilities.js";
import { measureLoad, type LoadFootprint } from "./load-footprint.js";
import { loadModel, type LoadedModel } from "./load-model.js";
import type { ResolvedModelFile } from "./model.js";

/** Where model versions come from: the local registry today, MLflow later (issue 5). */
export interface ModelSource {
  resolve(name: string, ref: string): Promise<ResolvedModelFile>;
  /** The model's aliases (alias -> version), when the source has them. */
  getAliases?(name: string): Promise<Record<string, string>>;
}

export type VariantName = "stable" | "candidate";
export const STABLE_VARIANT: VariantName = "stable";
export const CANDIDATE_VARIANT: VariantName = "candidate";

export interface ReloadResult {
  readonly previousVersion: string | undefined;
  readonly version: string;
  readonly changed: boolean;
}

/** The `capability` label of each of capabilitiesOf's answers. */
const CAPABILITY_LABELS: { readonly [K in keyof ModelCapabilities]: ModelCapabilityLabel } = {
  predict: "predict",
  predictImage: "predict_image",
  explain: "explain",
  drift: "drift",
  shadowAgreement: "shadow_agreement",
};

/** Refuses a freshly loaded model before it is swapped in (e.g. a candidate unlike stable). */
export type ModelCheck = (model: LoadedModel) => void;

export class ModelHolder {
  private model: LoadedModel | undefined;
  private modelFootprint: LoadFootprint | undefined;
  private swappedAt: Date | undefined;
  private reloading: Promise<ReloadResult> | undefined;
  private isDraining = false;
  /** Why nothing is loaded yet: the last first-load attempt's failure; undefined once a version serves. */
  private firstLoadFailure: Error | undefined;

  constructor(
    private readonly source: ModelSource,
    readonly variant: VariantName,
    /** The version or alias this variant follows (MODEL_STABLE / MODEL_CANDIDATE). */
    readonly ref: string,
    private readonly config: Pick<ServiceConfig, "model" | "ort" | "batching">,
    private readonly metrics: ServiceMetrics,
    private readonly check: ModelCheck = () => undefined,
  ) {}

  /** The serving model, or undefined before the first successful load. */
  get current(): LoadedModel | undefined {
    return this.model;
  }

  /** When the serving model was swapped in. */
  get loadedAt(): Date | undefined {
    return this.swappedAt;
  }

  /** What loading the serving model cost in memory; undefined before the first load. */
  get footprint(): LoadFootprint | undefined {
    return this.modelFootprint;
  }

  /** Loaded, warmed and not shutting down. */
  get ready(): boolean {
    return this.model !== undefined && !this.isDraining;
  }

  /**
   * Where the variant stands: `ready` once a version serves (a later failed reload keeps it
   * serving), else `awaiting_version` (its registry holds no version for the reference yet),
   * `registry_unreachable`, `load_failed` (a version exists and did not load), or `loading` before
   * the first attempt has an outcome; `draining` once shutdown has begun.
   */
  get state(): ModelStateLabel {
    if (this.isDraining) return "draining";
    if (this.model !== undefined) return "ready";
    const failure = this.firstLoadFailure;
    if (failure === undefined) return "loading";
    if (failure instanceof AwaitingVersionError) return "awaiting_version";
    return isTransientRegistryError(failure) ? "registry_unreachable" : "load_failed";
  }

  /** Awaiting its first version: the registry's answer, where, and what to do; else undefined. */
  get awaiting(): AwaitingVersionError | undefined {
    const failure = this.firstLoadFailure;
    return this.model === undefined && failure instanceof AwaitingVersionError ? failure : undefined;
  }

  /** Why no version serves (`variant (ref): ...`); undefined while one does or the first load is running. */
  get notLoadedReason(): string | undefined {
    const failure = this.firstLoadFailure;
    if (this.model !== undefined || failure === undefined) return undefined;
    const why =
      failure instanceof AwaitingVersionError ? failure.reason : `failed to load: ${failure.message}`;
    return `${this.variant} (${this.ref}) ${why}`;
  }

  /**
   * Records why a load or resolve failed while no version serves yet (state, reasons); ignored once
   * one serves, since it keeps serving. A transient registry failure while awaiting keeps the
   * variant awaiting: the registry answered before, and nothing was there.
   */
  noteFailure(err: unknown): void {
    if (this.model !== undefined) return;
    if (this.firstLoadFailure instanceof AwaitingVersionError && isTransientRegistryError(err)) return;
    this.firstLoadFailure = err instanceof Error ? err : new Error(String(err));
  }

  /** True once shutdown has begun. */
  get draining(): boolean {
    return this.isDraining;
  }

  /** Marks the variant as going away: readiness turns false, serving continues. */
  startDraining(): void {
    this.isDraining = true;
    if (this.model !== undefined) this.readyGauge(this.model).set(0);
  }

  /** The file the reference names now (an alias may have moved since the last load). */
  resolve(): Promise<ResolvedModelFile> {
    return this.source.resolve(this.config.model.name, this.ref);
  }

  /** Loads the version the reference names; concurrent calls share one reload. */
  reload(): Promise<ReloadResult> {
    this.reloading ??= this.doReload().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /** Drains and releases the serving model (shutdown, or the model's unload from the repository). */
  async close(): Promise<void> {
    this.startDraining();
    await this.reloading?.catch(() => undefined);
    await this.release();
  }

  private async doReload(): Promise<ReloadResult> {
    const file = await this.resolve();
    const previous = this.model;
    if (previous !== undefined && previous.version === file.version) {
      return { previousVersion: previous.version, version: previous.version, changed: false };
    }
    const { loaded: next, footprint } = await measureLoad(file.modelPath, () =>
      loadModel(file, {
        ort: this.config.ort,
        batching: this.config.batching,
        observer: (m) => this.batchObserver(m.name, m.version),
      }),
    );
    try {
      this.check(next);
    } catch (err) {
      await next.close();
      throw err;
    }
    this.model = next;
    this.firstLoadFailure = undefined;
    this.modelFootprint = footprint;
    this.swappedAt = new Date();
    this.metrics.modelInfo.labels(next.name, next.version, this.variant, next.sha256).set(1);
    this.readyGauge(next).set(this.isDraining ? 0 : 1);
    this.exportFootprint(next, footprint);
    this.exportCapabilities(next);
    if (previous !== undefined) {
      this.removeGauges(previous);
      await previous.close();
    }
    return { previousVersion: previous?.version, version: next.version, changed: true };
  }

  /** Releases the serving model (unload): its gauges go with it, so no stale series remain. */
  private async release(): Promise<void> {
    const model = this.model;
    if (model === undefined) return;
    this.removeGauges(model);
    await model.close();
  }

  private exportFootprint(model: LoadedModel, footprint: LoadFootprint): void {
    const labels = [model.name, model.version, this.variant] as const;
    this.metrics.modelFileBytes.labels(...labels).set(footprint.onnxFileBytes);
    this.metrics.modelLoadRssDelta.labels(...labels).set(footprint.rssDeltaAtLoadBytes);
  }

  /** One series per capability: 1 supported, 0 not (why: /metadata capabilities). */
  private exportCapabilities(model: LoadedModel): void {
    const labels = [model.name, model.version, this.variant] as const;
    const capabilities = capabilitiesOf(model);
    for (const [key, capability] of Object.entries(CAPABILITY_LABELS)) {
      const { supported } = capabilities[key as keyof ModelCapabilities];
      this.metrics.modelCapability.labels(...labels, capability).set(supported ? 1 : 0);
    }
  }

  private removeGauges(model: LoadedModel): void {
    const labels = [model.name, model.version, this.variant] as const;
    this.metrics.modelInfo.remove(...labels, model.sha256);
    this.metrics.modelReady.remove(...labels);
    this.metrics.modelFileBytes.remove(...labels);
    this.metrics.modelLoadRssDelta.remove(...labels);
    for (const capability of Object.values(CAPABILITY_LABELS)) {
      this.metrics.modelCapability.remove(...labels, capability);
    }
  }

  private readyGauge(model: LoadedModel) {
    return this.metrics.modelReady.labels(model.name, model.version, this.variant);
  }

  private batchObserver(name: string, version: string) {
    const labels = [name, version, this.variant];
    const duration = this.metrics.inferenceDuration.cell(...labels);
    const size = this.metrics.inferenceBatchSize.cell(...labels);
    const wait = this.metrics.inferenceQueueWait.cell(...labels);
    const rejections = this.metrics.inferenceQueueRejections.labels(...labels);
    return {
      batch: (rows: number, seconds: number) => {
        duration.observe(seconds);
        size.observe(rows);
      },
      queueWait: (seconds: number) => wait.observe(seconds),
      rejected: (rows: number) => rejections.inc(rows),
    };
  }
}
