/**
 * Drift monitoring, the prediction log, the audit log (refused admin actions too), the ops summary's
 * sources and the explainers. Two steps, because fastify copies a scope's hooks when a child scope
 * is registered: `installObservability` adds the hooks before any route exists; `start` subscribes
 * to the rollout engine and starts the background timers. The routes over these parts are HTTP
 * adapters composed with the others (service/server/http.ts).
 */
import type { FastifyInstance } from "fastify";
import type { RefusalListener } from "../auth/hook.js";
import type { ServiceConfig } from "../config.js";
import { DriftHistory } from "../drift/history.js";
import { DriftMonitor } from "../drift/monitor.js";
import { Explainers } from "../explain/explainers.js";
import { CANDIDATE_VARIANT, type ModelSource } from "../inference/model-holder.js";
import type { ServiceMetrics } from "../metrics/registry.js";
import { PredictionLog } from "../prediction-log/log.js";
import type { ReloadEvent } from "../rollout/summary.js";
import type { SummarySources } from "./summary.js";
import type { RouteDeps } from "../server/deps.js";
import type { RepositoryAction } from "../serving/model-repository.js";
import { ModelArtifacts } from "./artifacts.js";
import { AuditLog } from "./audit.js";
import { JsonlFile } from "./jsonl-file.js";
import { ObservabilityMetrics } from "./metrics.js";
import { auditRefusals } from "./refusal-audit.js";
import { installScoredObservers } from "./scored.js";
import { TrafficSampler } from "./traffic.js";

export interface ObservabilityOptions {
  readonly config: ServiceConfig;
  readonly metrics: ServiceMetrics;
  readonly source: ModelSource;
}

/**
 * The audit trail's cap, rotated once to `<path>.1`: disk use stays bounded. Real actions are a few
 * lines a day and repeated refusals are folded to a line a minute per caller (./audit.ts), so at
 * that rate the file takes years to reach it.
 */
const AUDIT_MAX_BYTES = 64 * 1024 * 1024;

export class Observability {
  readonly metrics: ObservabilityMetrics;
  readonly artifacts: ModelArtifacts;
  readonly drift: DriftMonitor;
  /** Undefined when PREDICTION_LOG_PATH is unset. */
  readonly predictionLog: PredictionLog | undefined;
  readonly audit: AuditLog;
  /** The auth hook's refusals of admin actions, audited as denied. */
  readonly refusals: RefusalListener;
  readonly traffic: TrafficSampler;
  /** The explain route's explainers, one per served plinth model version. */
  readonly explainers: Explainers;

  constructor(
    private readonly app: FastifyInstance,
    private readonly options: ObservabilityOptions,
  ) {
    const { drift, predictionLog, ops } = options.config.observability;
    const log = app.log;
    this.metrics = new ObservabilityMetrics(options.metrics.registry);
    this.artifacts = new ModelArtifacts(options.source);
    const historyFile =
      drift.historyPath === undefined ? undefined : new JsonlFile(drift.historyPath, drift.historyMaxBytes);
    const history = new DriftHistory(historyFile, (err) =>
      log.error({ err, path: drift.historyPath }, "drift history write failed"),
    );
    this.drift = new DriftMonitor(drift, (m) => this.artifacts.baseline(m), this.metrics, history, log);
    this.predictionLog =
      predictionLog.path === undefined
        ? undefined
        : new PredictionLog(
            new JsonlFile(predictionLog.path, predictionLog.maxBytes),
            predictionLog.queueMax,
            predictionLog.flushMs,
            this.metrics,
            log,
          );
    const auditFile =
      ops.auditLogPath === undefined ? undefined : new JsonlFile(ops.auditLogPath, AUDIT_MAX_BYTES);
    this.audit = new AuditLog(auditFile, this.metrics, log);
    this.refusals = auditRefusals(this.audit, ops.oidcTrustHeaders);
    this.traffic = new TrafficSampler(options.metrics, ops.sampleIntervalMs);
    this.explainers = new Explainers(this.artifacts);
  }

  /** What `GET /ops/summary` reads. */
  summarySources(deps: RouteDeps): SummarySources {
    return {
      rollout: deps.rollout,
      traffic: this.traffic,
      drift: this.drift,
      driftSettings: this.options.config.observability.drift,
      artifacts: this.artifacts,
      audit: this.audit,
    };
  }

  /** The reload and repository audit subscriptions, and the drift / log / traffic timers. */
  start(deps: RouteDeps): void {
    const { app } = this;
    const unsubscribe = deps.rollout.variants.onReload((event) => void this.auditReload(event));
    const unsubscribeRepository = deps.dataPlane.onRepositoryAction(
      (action) => void this.auditRepository(action),
    );
    // A shadow candidate answers no one, so its drift is fed from the copies it scores.
    const unsubscribeShadow = deps.rollout.shadow?.onScored((scored) =>
      this.drift.observe({ ...scored, variant: CANDIDATE_VARIANT }),
    );
    this.drift.start();
    this.predictionLog?.start();
    this.traffic.start();
    app.addHook("onClose", async () => {
      unsubscribe();
      unsubscribeRepository();
      unsubscribeShadow?.();
      this.drift.stop();
      this.traffic.stop();
      await this.audit.flushFolded();
      await this.predictionLog?.close();
    });
  }

  /** Reloads asked for through the API are admin actions: audit who, what, when and the result. */
  private auditReload(event: ReloadEvent): Promise<unknown> | undefined {
    if (event.trigger !== "api") return undefined;
    return this.audit.record(
      {
        who: event.by ?? "anonymous",
        action: "reload-model",
        result: event.result === "failed" ? "failed" : "ok",
        detail: {
          variant: event.variant,
          outcome: event.result,
          previousVersion: event.previousVersion,
          version: event.version,
          attemptedVersion: event.attemptedVersion,
          ...(event.error === undefined ? {} : { error: event.error }),
        },
      },
      new Date(event.at),
    );
  }

  /** Loads and unloads of the model repository (POST /v2/repository/models/...), likewise. */
  private auditRepository(action: RepositoryAction): Promise<unknown> {
    return this.audit.record(
      {
        who: action.by ?? "anonymous",
        action: `repository-${action.action}`,
        result: action.result,
        detail: {
          model: action.model,
          version: action.version,
          ...(action.error === undefined ? {} : { error: action.error }),
        },
      },
      new Date(action.at),
    );
  }
}

/** Creates the observability parts and installs their hooks; call before registering any route. */
export function installObservability(app: FastifyInstance, options: ObservabilityOptions): Observability {
  const observability = new Observability(app, options);
  installScoredObservers(app, {
    drift: observability.drift,
    otherModels: new Set(options.config.model.repository.map((m) => m.name)),
    predictionLog: observability.predictionLog,
  });
  return observability;
}
