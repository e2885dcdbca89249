/**
 * Running the service as a process: listen, serve metrics, load the model, and shut down cleanly
 * on SIGTERM (readiness false, in-flight requests finish, bounded exit).
 */
import type { FastifyBaseLogger } from "fastify";
import { setSharpConcurrency } from "../image/sharp.js";
import { startMetricsServer, type MetricsServer } from "../metrics/server.js";
import type { Service } from "./build.js";
import { listenBacklog } from "../contract/listen-backlog.js";

export interface RunningService {
  readonly url: string;
  readonly metrics: MetricsServer;
  /** Readiness false, wait for in-flight requests and batches, close both servers. */
  shutdown(): Promise<void>;
}

export async function startService(service: Service, log: FastifyBaseLogger): Promise<RunningService> {
  const { app, config, models, dataPlane } = service;
  // libvips threads per image; the event loop and ONNX Runtime need the other core(s).
  setSharpConcurrency(config.sharpConcurrency);
  const metrics = await startMetricsServer(service.metrics.registry, config.metricsHost, config.metricsPort);
  const url = await app.listen({ host: config.host, port: config.port, backlog: listenBacklog() });
  log.info({ metricsPort: metrics.port() }, "metrics served on the internal port");
  // The default model, then any MODEL_REPOSITORY models (each logged by the repository).
  await dataPlane.start();
  // The start did not stop: a stable variant without a version awaits its first one.
  if (models.current === undefined) {
    log.warn(
      { variant: "stable", state: models.stable.state, reason: models.stable.notLoadedReason },
      "live, not ready: the model awaits its first version; polling the registry (GET /ready says why)",
    );
  }
  // Stable last: its line is the "ready" one. A candidate that failed to load was logged by the
  // rollout engine, and its traffic falls back to stable.
  for (const holder of [...models.holders()].reverse()) {
    const model = holder.current;
    if (model === undefined) continue;
    const { variant } = holder;
    log.info(
      { variant, model: model.name, version: model.version, sha256: model.sha256, warmup: model.warmup },
      variant === "stable"
        ? `model loaded and warmed; ready (${config.rollout.strategy})`
        : "candidate loaded and warmed",
    );
  }
  let closing: Promise<void> | undefined;
  const shutdown = () =>
    (closing ??= (async () => {
      dataPlane.startDraining();
      await app.close(); // refuses new requests with 503, waits for in-flight ones, then closes the models
      await metrics.close();
    })());
  return { url, metrics, shutdown };
}

/** Installs SIGTERM/SIGINT handling: graceful shutdown, forced exit after `timeoutMs`. */
export function exitOnSignals(running: RunningService, log: FastifyBaseLogger, timeoutMs: number): void {
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal, timeoutMs }, "shutting down: readiness false, finishing in-flight requests");
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, "shutdown timed out; exiting with in-flight work");
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    running.shutdown().then(
      () => {
        log.info("shutdown complete");
        process.exit(0);
      },
      (err: Error) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
}
