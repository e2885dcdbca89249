/**
 * Holds the serving model and replaces it safely: a reload loads and warms the new version aside,
 * swaps it in with one assignment (requests already holding the old model finish on it), and only
 * then drains and releases the old one. A failed load leaves the old version serving.
 */
import type { ServiceConfig } from "../config.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import { LoadedModel, type ResolvedModelFile } from "./model.js";

/** Where model versions come from: the local registry today, MLflow later (issue 5). */
export interface ModelSource {
  resolve(name: string, ref: string): Promise<ResolvedModelFile>;
}

export interface ReloadResult {
  readonly previousVersion: string | undefined;
  readonly version: string;
  readonly changed: boolean;
}

/** The only variant this issue serves; canary/shadow variants come with the rollouts issue. */
export const STABLE_VARIANT = "stable";

export class ModelHolder {
  private model: LoadedModel | undefined;
  private reloading: Promise<ReloadResult> | undefined;
  private isDraining = false;

  constructor(
    private readonly source: ModelSource,
    private readonly config: Pick<ServiceConfig, "model" | "ort" | "batching">,
    private readonly metrics: ServiceMetrics,
  ) {}

  /** The serving model, or undefined before the first successful load. */
  get current(): LoadedModel | undefined {
    return this.model;
  }

  /** Loaded, warmed and not shutting down. */
  get ready(): boolean {
    return this.model !== undefined && !this.isDraining;
  }

  /** True once shutdown has begun. */
  get draining(): boolean {
    return this.isDraining;
  }

  /** Marks the service as going away: readiness turns false, serving continues. */
  startDraining(): void {
    this.isDraining = true;
    if (this.model !== undefined) this.readyGauge(this.model).set(0);
  }

  /** Loads the configured stable reference; concurrent calls share one reload. */
  reload(): Promise<ReloadResult> {
    this.reloading ??= this.doReload().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  async close(): Promise<void> {
    this.startDraining();
    await this.reloading?.catch(() => undefined);
    await this.model?.close();
  }

  private async doReload(): Promise<ReloadResult> {
    const { name, stable } = this.config.model;
    const file = await this.source.resolve(name, stable);
    const previous = this.model;
    if (previous !== undefined && previous.version === file.version) {
      return { previousVersion: previous.version, version: previous.version, changed: false };
    }
    const next = await LoadedModel.load(file, {
      ort: this.config.ort,
      batching: this.config.batching,
      observer: (m) => this.batchObserver(m.name, m.version),
    });
    this.model = next;
    this.metrics.modelInfo.labels(next.name, next.version, STABLE_VARIANT, next.sha256).set(1);
    this.readyGauge(next).set(this.isDraining ? 0 : 1);
    if (previous !== undefined) {
      this.metrics.modelInfo.remove(previous.name, previous.version, STABLE_VARIANT, previous.sha256);
      this.metrics.modelReady.remove(previous.name, previous.version, STABLE_VARIANT);
      await previous.close();
    }
    return { previousVersion: previous?.version, version: next.version, changed: true };
  }

  private readyGauge(model: LoadedModel) {
    return this.metrics.modelReady.labels(model.name, model.version, STABLE_VARIANT);
  }

  private batchObserver(name: string, version: string) {
    const labels = [name, version, STABLE_VARIANT];
    const duration = this.metrics.inferenceDuration.labels(...labels);
    const size = this.metrics.inferenceBatchSize.labels(...labels);
    const wait = this.metrics.inferenceQueueWait.labels(...labels);
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
