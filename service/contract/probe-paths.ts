/**
 * The service's probe paths, for its routes (server/routes/operations.ts) and the platform's
 * probes (components/inference): part of the contract, so a renamed route breaks the build.
 *
 * - `live`: the process answers HTTP (the kubelet's liveness).
 * - `ready`: the default model can serve predictions now (503 with the reason otherwise).
 * - `podReady`: the pod may take traffic (the kubelet's startup and readiness): every model serves
 *   or awaits the first version of a model its registry does not hold at all (a fresh stack),
 *   answering 503 that says so; not while starting, loading, missing an alias or version of a
 *   model that has versions, failing to load a version that exists, unable to reach its registry,
 *   or shutting down.
 */
export const PROBE_PATHS = {
  live: "/health",
  ready: "/ready",
  podReady: "/ready/pod",
} as const;
