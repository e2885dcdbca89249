/**
 * The rollout engine: decides which variant answers a request, runs it there with a fallback to
 * stable, mirrors requests to the candidate in shadow mode, and keeps the candidate's circuit.
 *
 * A request goes `route` (pick a variant, before the body is encoded for its model) then `score`
 * (run it). The model that runs is looked up again at submit time, so a swap between the two steps
 * only means the rows are re-encoded for the new version: no request ever reaches a closed model.
 *
 * The engine knows requests only as {@link ServingRequest}s and writes nothing to them: who answered
 * and what was scored come back as return values, which the protocol adapter records (response
 * headers, HTTP metrics, drift, the prediction log).
 */
import { performance } from "node:perf_hooks";
import type { ServiceConfig } from "../config.js";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import {
  CANDIDATE_VARIANT,
  STABLE_VARIANT,
  type ModelHolder,
  type ModelSource,
  type VariantName,
} from "../inference/model-holder.js";
import type { GraphModel } from "../inference/graph-model.js";
import { QueueFullError } from "../inference/batcher.js";
import type { LoadedModel } from "../inference/load-model.js";
import type { PlinthModel } from "../inference/model.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import { notReady } from "../serving/availability.js";
import { capabilitiesOf, explainableModel, requirePlinthModel } from "../serving/capabilities.js";
import {
  FORCE_VARIANT_ROLE,
  holdsRole,
  type ServingLog,
  type ServingRequest,
} from "../serving/serving-request.js";
import { CanaryBuckets } from "./buckets.js";
import { CandidateCircuit, type CircuitPass } from "./circuit.js";
import { IdentityShares, overShare, routingIdentity } from "./identity-share.js";
import { reencode } from "./reencode.js";
import { graphShadowJob, plinthShadowJob, ShadowMirror, type GraphLabels } from "./shadow.js";
import {
  FALLBACK_REASONS,
  type FallbackReason,
  type ReloadEvent,
  type RolloutSnapshot,
  type VariantSnapshot,
} from "./summary.js";
import { ModelVariants, type ReloadRequest } from "./variants.js";
import { AliasWatcher } from "./watcher.js";

/** Pins a request to a variant; honoured only for callers with the `force-variant` role. */
export const FORCE_HEADER = "x-plinth-variant";

/** Where a request was routed, and the model its rows are to be encoded for. */
export interface Routed<M extends LoadedModel = LoadedModel> {
  readonly variant: VariantName;
  readonly model: M;
}

/** Who actually answered (after any fallback), what it was given and the class probabilities. */
export interface Scored {
  readonly variant: VariantName;
  readonly model: PlinthModel;
  /** The rows as encoded (normalised) for `model`. */
  readonly data: Float32Array;
  readonly rows: number;
  /** `rows * labels.length` class probabilities. */
  readonly probs: Float32Array;
}

/** Who answered a graph model's request (after any fallback) and what its run returned. */
export interface Answered<T> {
  readonly variant: VariantName;
  readonly model: GraphModel;
  readonly result: T;
}

/**
 * The canary's bucket map: keyed by ROLLOUT_BUCKET_KEY, else by a random key of this process, with
 * a warning for a canary. Refusing to start instead would make every hand-run or single-replica
 * canary provision a secret, for a loss that is only stickiness across replicas (the split itself
 * holds in each process, and clients cannot compute it either way); the platform always sets it.
 */
function canaryBuckets(config: ServiceConfig, log: ServingLog): CanaryBuckets {
  const { bucketKey, strategy } = config.rollout;
  if (bucketKey !== undefined) return new CanaryBuckets(bucketKey);
  if (strategy === "canary")
    log.warn(
      { model: config.model.name },
      "ROLLOUT_BUCKET_KEY is not set: canary buckets use a random key of this process, so a sticky " +
        "key may land on another variant on another replica; set the same key on every replica",
    );
  return CanaryBuckets.withRandomKey();
}

/** The model as a graph model; a plinth model here means stable and candidate differ in kind. */
function asGraphModel(model: LoadedModel): GraphModel {
  if (model.kind === "graph") return model;
  throw new Error(`model ${model.name} version ${model.version} has plinth metadata; expected a graph model`);
}

export class RolloutEngine {
  readonly variants: ModelVariants;
  readonly circuit: CandidateCircuit;
  readonly shadow: ShadowMirror | undefined;
  /** Rows each caller holds on the candidate (CANDIDATE_IDENTITY_SHARE). */
  readonly candidateShares: IdentityShares;
  private readonly buckets: CanaryBuckets;
  private readonly watcher: AliasWatcher;
  private readonly fallbackCounts = Object.fromEntries(FALLBACK_REASONS.map((r) => [r, 0])) as Record<
    FallbackReason,
    number
  >;
  /** The candidate version the circuit gauge is exported under. */
  private circuitGaugeVersion: string | undefined;

  constructor(
    private readonly config: ServiceConfig,
    source: ModelSource,
    private readonly metrics: ServiceMetrics,
    private readonly log: ServingLog,
  ) {
    this.variants = new ModelVariants(source, config, metrics);
    const { rollout } = config;
    const threshold = rollout.circuitThreshold;
    this.circuit = new CandidateCircuit({ threshold, cooldownMs: rollout.circuitCooldownMs }, (state) => {
      const probeAt = this.circuit.probeAt?.toISOString();
      this.log.warn({ model: config.model.name, state, threshold, probeAt }, `candidate circuit ${state}`);
      this.exportCircuit();
    });
    this.candidateShares = new IdentityShares(
      Math.max(1, Math.floor((config.batching.queueMaxRows * rollout.identitySharePercent) / 100)),
    );
    this.buckets = canaryBuckets(config, log);
    this.shadow =
      rollout.strategy === "shadow"
        ? new ShadowMirror(() => this.usableCandidate(), rollout.shadowQueueMax, metrics, config.model.name)
        : undefined;
    this.watcher = new AliasWatcher(this.variants, rollout.watchIntervalMs, (err) =>
      this.log.error({ err }, "model watcher pass failed"),
    );
    this.variants.onReload((event) => this.afterReload(event));
  }

  /** Loads every variant (stable must load) and starts the alias watcher. */
  async start(): Promise<ReloadEvent[]> {
    const events = await this.variants.loadAtStart();
    this.watcher.start();
    return events;
  }

  reload(request: ReloadRequest): Promise<ReloadEvent[]> {
    return this.variants.reload(request);
  }

  /**
   * Picks the variant for a request: the pinned one (force header, or a v2 version path) for
   * callers allowed to force, else the canary split, else stable. A candidate that cannot take the
   * request (not loaded, circuit open) sends it to stable, counted as a fallback.
   */
  route(request: ServingRequest, pinned?: VariantName): Routed {
    const stable = this.variants.stable.current;
    if (stable === undefined) throw this.notReady();
    const variant = this.forcedVariant(request, pinned) ?? this.assign(request);
    if (variant === CANDIDATE_VARIANT) {
      const candidate = this.candidateOrFallback();
      if (candidate !== undefined) return { variant, model: candidate };
    }
    return { variant: STABLE_VARIANT, model: stable };
  }

  /**
   * The 503 NOT_READY of a model whose stable variant serves no version: why (loading, awaiting its
   * first version naming the registry and what to do, failed), and Retry-After the next poll.
   */
  notReady(): ApiError {
    const { stable } = this.variants;
    const model = JSON.stringify(this.config.model.name);
    if (stable.draining) return notReady(`model ${model} is not ready: the service is shutting down`);
    const reason = stable.notLoadedReason ?? `stable (${stable.ref}) is loading`;
    const next = stable.awaiting === undefined ? undefined : this.watcher.nextFirstVersionPoll;
    const seconds = next === undefined ? 1 : (next.getTime() - Date.now()) / 1000;
    return notReady(`model ${model} is not ready: ${reason}`, seconds);
  }

  /** {@link route}, for a feature that needs a plinth model (`feature` names it in the refusal). */
  routePlinth(request: ServingRequest, feature: string, pinned?: VariantName): Routed<PlinthModel> {
    const { variant, model } = this.route(request, pinned);
    return { variant, model: requirePlinthModel(model, feature) };
  }

  /** {@link route}, for explain: a model explain does not support is a 400 saying why (its capabilities). */
  routeExplainable(request: ServingRequest, pinned?: VariantName): Routed<PlinthModel> {
    const { variant, model } = this.route(request, pinned);
    return { variant, model: explainableModel(model) };
  }

  /** Scores rows encoded for `routed.model`; a failing candidate is answered by stable. */
  async score(
    request: ServingRequest,
    routed: Routed<PlinthModel>,
    data: Float32Array,
    rows: number,
  ): Promise<Scored> {
    if (routed.variant === CANDIDATE_VARIANT) {
      const tried = await this.tryCandidate(request, rows, async (loaded) => {
        const model = requirePlinthModel(loaded, "scoring rows");
        const input = reencode(data, routed.model, model);
        return { model, input, probs: await model.infer(input, rows) };
      });
      if (tried !== undefined) {
        const { model, input, probs } = tried;
        return { variant: CANDIDATE_VARIANT, model, data: input, rows, probs };
      }
    }
    // Stable is there: it is released only after its requests finish (a reload swaps, an unload or
    // shutdown drains first).
    const stable = requirePlinthModel(this.variants.stable.current!, "scoring rows");
    const input = reencode(data, routed.model, stable);
    // The clock only for a shadow, the one reader of the stable run's time.
    const started = this.shadow === undefined ? 0 : performance.now();
    const probs = await stable.infer(input, rows);
    if (this.shadow !== undefined && this.shadowsThis()) {
      const stableSeconds = (performance.now() - started) / 1000;
      this.shadow.offer(plinthShadowJob(stable, input, rows, probs, stableSeconds));
    }
    return { variant: STABLE_VARIANT, model: stable, data: input, rows, probs };
  }

  /**
   * Runs a graph model's request (checked against `routed.model`'s contract) on the routed variant;
   * a failing candidate is answered by stable. With the shadow strategy, a request stable answered
   * is run again on the candidate off the response path (`run` must be safe to call twice); rows
   * are compared when `labelsOf` finds predicted labels in both answers (a model configured as a
   * classification), else only latency and drops are measured. Drift needs plinth metadata, so
   * these requests do not feed it. `rows` is what the request counts against its caller's share
   * of the candidate (CANDIDATE_IDENTITY_SHARE).
   */
  async runGraph<T>(
    request: ServingRequest,
    routed: Routed<GraphModel>,
    run: (model: GraphModel) => Promise<T>,
    labelsOf?: GraphLabels<T>,
    rows = 1,
  ): Promise<Answered<T>> {
    if (routed.variant === CANDIDATE_VARIANT) {
      const tried = await this.tryCandidate(request, rows, async (loaded) => {
        const model = asGraphModel(loaded);
        return { model, result: await run(model) };
      });
      if (tried !== undefined) return { variant: CANDIDATE_VARIANT, ...tried };
    }
    const stable = asGraphModel(this.variants.stable.current!);
    const started = performance.now();
    const result = await run(stable);
    if (this.shadow !== undefined && this.shadowsThis()) {
      const stableSeconds = (performance.now() - started) / 1000;
      this.shadow.offer(graphShadowJob(stable, result, stableSeconds, run, labelsOf));
    }
    return { variant: STABLE_VARIANT, model: stable, result };
  }

  /** The variant serving `version`, for protocols that address a version explicitly. */
  variantOfVersion(version: string): VariantName | undefined {
    if (this.variants.stable.current?.version === version) return STABLE_VARIANT;
    if (this.variants.candidate?.current?.version === version) return CANDIDATE_VARIANT;
    return undefined;
  }

  snapshot(): RolloutSnapshot {
    const { config, circuit, shadow } = this;
    const { rollout } = config;
    const candidate = this.variants.candidate;
    const total = FALLBACK_REASONS.reduce((sum, r) => sum + this.fallbackCounts[r], 0);
    const compared = shadow?.compared ?? 0;
    return {
      model: config.model.name,
      strategy: rollout.strategy,
      weights: { stable: 100 - rollout.candidateWeight, candidate: rollout.candidateWeight },
      shadowPercent: rollout.shadowPercent,
      stickyHeader: rollout.stickyHeader,
      color: config.deploymentColor,
      variants: {
        stable: variantSnapshot(this.variants.stable),
        ...(candidate === undefined ? {} : { candidate: variantSnapshot(candidate) }),
      },
      aliases: this.variants.aliases,
      circuit: {
        state: circuit.state,
        consecutiveFailures: circuit.consecutiveFailures,
        threshold: circuit.threshold,
        openedAt: circuit.openedAt?.toISOString() ?? null,
        probeAt: circuit.probeAt?.toISOString() ?? null,
      },
      fallbacks: { total, byReason: { ...this.fallbackCounts } },
      shadow: {
        compared,
        agreed: shadow?.agreed ?? 0,
        agreement: compared === 0 ? null : shadow!.agreed / compared,
        agreementUnsupported: this.agreementUnsupported(),
        dropped: shadow?.dropped ?? 0,
        latencyP95MsByVariant: {
          stable: shadow?.latency.stable.quantile(0.95) ?? null,
          candidate: shadow?.latency.candidate.quantile(0.95) ?? null,
        },
      },
      lastReload: this.variants.lastReload,
    };
  }

  /**
   * Why shadow agreement is not defined for the loaded versions (stable's reason first, then the
   * candidate's), or null when both answer with predicted labels.
   */
  private agreementUnsupported(): string | null {
    for (const model of [this.variants.stable.current, this.variants.candidate?.current]) {
      const support = model === undefined ? undefined : capabilitiesOf(model).shadowAgreement;
      if (support?.supported === false) return support.reason!;
    }
    return null;
  }

  /** Stops the watcher, lets shadow comparisons finish, then releases the models. */
  async close(): Promise<void> {
    await this.watcher.stop();
    await this.shadow?.drain();
    await this.variants.close();
  }

  private forcedVariant(request: ServingRequest, pinned: VariantName | undefined): VariantName | undefined {
    const header = request.headers[FORCE_HEADER];
    if (header === undefined && pinned === undefined) return undefined;
    if (header !== undefined && header !== STABLE_VARIANT && header !== CANDIDATE_VARIANT) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, `${FORCE_HEADER} must be "stable" or "candidate"`);
    }
    const wanted = (header as VariantName | undefined) ?? pinned!;
    // A pin to stable by version needs no role: it is what an unpinned request may get anyway.
    if (header !== undefined || wanted === CANDIDATE_VARIANT) {
      if (!holdsRole(request, FORCE_VARIANT_ROLE)) {
        throw new ApiError(
          ErrorCode.FORBIDDEN,
          header !== undefined
            ? `${FORCE_HEADER} needs the force-variant role`
            : "addressing the candidate version needs the force-variant role",
        );
      }
    }
    if (wanted === CANDIDATE_VARIANT && this.variants.candidate === undefined) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, `${FORCE_HEADER}: no candidate is configured`);
    }
    return wanted;
  }

  /** Canary: sticky by the sticky header's value, else by the request (prediction) id. */
  private assign(request: ServingRequest): VariantName {
    const { strategy, stickyHeader, candidateWeight } = this.config.rollout;
    if (strategy !== "canary") return STABLE_VARIANT;
    const sticky = request.headers[stickyHeader];
    const key = typeof sticky === "string" && sticky !== "" ? sticky : request.id;
    return this.buckets.routesToCandidate(key, candidateWeight) ? CANDIDATE_VARIANT : STABLE_VARIANT;
  }

  /** The candidate if it can take traffic now, else undefined (and the fallback counted). */
  private candidateOrFallback(): LoadedModel | undefined {
    const candidate = this.variants.candidate?.current;
    if (candidate === undefined) this.fallback("load");
    else if (!this.circuit.admitsRequests) this.fallback("circuit_open");
    else return candidate;
    return undefined;
  }

  /** The candidate while it can take traffic (loaded, circuit closed); the shadow job checks its kind. */
  private usableCandidate(): LoadedModel | undefined {
    return this.circuit.state === "closed" ? this.variants.candidate?.current : undefined;
  }

  /** Whether this request (answered by stable) gets a shadow copy: SHADOW_PERCENT of them. */
  private shadowsThis(): boolean {
    return Math.random() * 100 < this.config.rollout.shadowPercent;
  }

  /**
   * Runs `attempt` (`rows` rows) on the candidate within the candidate timeout; undefined (the
   * fallback and the circuit counted) when the candidate cannot take it, fails or is late. A caller
   * over its share of the candidate gets a 429, and a refusal the caller caused (a full queue, a bad
   * input) is thrown as stable would throw it: neither is the model's failure, neither counts.
   */
  private async tryCandidate<R>(
    request: ServingRequest,
    rows: number,
    attempt: (candidate: LoadedModel) => Promise<R>,
  ): Promise<R | undefined> {
    const candidate = this.candidateOrFallback();
    if (candidate === undefined) return undefined;
    const identity = routingIdentity(request);
    if (!this.candidateShares.tryAcquire(identity, rows)) throw overShare(this.candidateShares, identity);
    const pass = this.circuit.admit();
    if (pass === undefined) {
      // Another request took the half-open probe between route and here.
      this.candidateShares.release(identity, rows);
      this.fallback("circuit_open");
      return undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(resolve, this.config.rollout.candidateTimeoutMs, "timeout");
    });
    const running = attempt(candidate);
    // The share is held until the candidate is done with the work, not until the timeout: a late
    // run still occupies its queue.
    const release = () => this.candidateShares.release(identity, rows);
    running.then(release, release);
    try {
      const result = await Promise.race([running, timeout]);
      if (result === "timeout") {
        this.candidateFailed(request, "timeout", undefined, pass);
        return undefined;
      }
      this.circuit.success(pass);
      return result;
    } catch (err) {
      // A full candidate queue is load, not the model failing: stable answers, and the circuit is
      // not told (a flood of requests would otherwise open it). Every other error, a 4xx included,
      // is the candidate's: the caller's input was checked before it was routed, so a refusal
      // here (a graph candidate behind a plinth stable, rows its contract does not take) is the
      // candidate's, answered by stable and counted.
      if (err instanceof QueueFullError) {
        this.circuit.release(pass);
        this.fallback("overloaded");
        return undefined;
      }
      this.candidateFailed(request, "error", err, pass);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private candidateFailed(
    request: ServingRequest,
    reason: "error" | "timeout",
    err: unknown,
    pass: CircuitPass,
  ): void {
    request.log.warn({ err, reason, probe: pass === "probe" }, "candidate failed; answering with stable");
    this.fallback(reason);
    this.circuit.failure(pass);
  }

  private fallback(reason: FallbackReason): void {
    this.fallbackCounts[reason]++;
    const version = this.variants.candidate?.current?.version ?? "";
    this.metrics.candidateFallbacks.labels(this.config.model.name, version, CANDIDATE_VARIANT, reason).inc();
  }

  /** A reload of the candidate closes its circuit: a new version, or an operator's explicit retry. */
  private afterReload(event: ReloadEvent): void {
    // The model's name: a process may serve several (MODEL_REPOSITORY).
    const fields = { model: this.config.model.name, ...event };
    const awaiting = this.variants.holder(event.variant)?.awaiting;
    if (event.result === "failed" && awaiting !== undefined)
      this.log.warn(
        { ...fields, registry: awaiting.location, reference: awaiting.reference },
        `${event.variant} ${awaiting.reason}; live, polling the registry`,
      );
    else if (event.result === "failed")
      this.log.error(
        fields,
        event.version === null
          ? "model reload failed; no version serves yet"
          : "model reload failed; the previous version keeps serving",
      );
    else if (event.result === "loaded") this.log.info(fields, "model version swapped in");
    if (event.variant !== CANDIDATE_VARIANT || event.result === "failed") return;
    if (event.result === "loaded" || event.trigger === "api") this.circuit.reset();
    this.exportCircuit();
  }

  /**
   * `plinth_candidate_circuit_open` under the candidate's current version: 1 while open or
   * half-open (the candidate still gets no traffic but probes), 0 once closed.
   */
  private exportCircuit(): void {
    const version = this.variants.candidate?.current?.version;
    if (version === undefined) return;
    const gauge = this.metrics.candidateCircuitOpen;
    const name = this.config.model.name;
    if (this.circuitGaugeVersion !== undefined && this.circuitGaugeVersion !== version) {
      gauge.remove(name, this.circuitGaugeVersion, CANDIDATE_VARIANT);
    }
    this.circuitGaugeVersion = version;
    gauge.labels(name, version, CANDIDATE_VARIANT).set(this.circuit.state === "closed" ? 0 : 1);
  }
}

function variantSnapshot(holder: ModelHolder): VariantSnapshot {
  return {
    ref: holder.ref,
    state: holder.state,
    reason: holder.notLoadedReason ?? null,
    version: holder.current?.version ?? null,
    sha256: holder.current?.sha256 ?? null,
    loadedAt: holder.loadedAt?.toISOString() ?? null,
    ready: holder.ready,
    plinthMetadata: holder.current === undefined ? null : holder.current.kind === "plinth",
    capabilities: holder.current === undefined ? null : capabilitiesOf(holder.current),
  };
}
